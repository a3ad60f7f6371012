//! `DocumentTarget`: where a request's documents live in the store.
//!
//! The store knows scopes (the documents one listing addresses) and ids inside them. The scope
//! string is built from canonical forms only, so the same Agent sent with another JSON spelling
//! reaches the same documents:
//!
//! | resource | scope | stored id |
//! |---|---|---|
//! | State | activity IRI, `\n`, canonical agent IFI | registration (hyphenated, or empty), NUL, stateId |
//! | Activity Profile | activity IRI | profileId |
//! | Agent Profile | canonical agent IFI | profileId |
//!
//! IRIs hold no whitespace, so the `\n` cannot be part of the activity; a UUID holds no NUL, so
//! the first NUL ends the registration. The registration is part of the id, not of the scope,
//! because a State listing or bulk delete without `registration` covers every registration of
//! the Activity and Agent (xAPI 1.0.3 Communication §2.3: "Activity + Agent [+ registration if
//! specified]").

use lrs_schema::limits::MAX_DOCUMENT_ADDRESS_BYTES;
use lrs_schema::{DocumentParams, DocumentResource};
use lrs_store::{DocumentKind, DocumentScope, MAX_DOCUMENT_KEY_BYTES};
use uuid::Uuid;

const REGISTRATION_END: char = '\0';

/// What a store key holds besides the address the parameters give: the `\n` of a State scope, a
/// hyphenated registration and the NUL after it.
const KEY_BYTES_BEYOND_ADDRESS: usize = 1 + 36 + 1;

// Every document address the API accepts (lrs_schema::limits) makes a key every store holds.
const _: () =
    assert!(MAX_DOCUMENT_ADDRESS_BYTES + KEY_BYTES_BEYOND_ADDRESS <= MAX_DOCUMENT_KEY_BYTES);

/// The documents one request addresses: one (with an id) or a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentTarget {
    pub(super) scope: DocumentScope,
    resource: DocumentResource,
    registration: Option<Uuid>,
    id: Option<String>,
}

impl DocumentTarget {
    pub fn new(tenant: &str, params: &DocumentParams) -> DocumentTarget {
        let activity = params.activity_id.as_ref().map_or("", |iri| iri.as_str());
        let agent = params.agent.as_deref().unwrap_or("");
        let (kind, scope) = match params.resource {
            DocumentResource::State => (DocumentKind::State, format!("{activity}\n{agent}")),
            DocumentResource::ActivityProfile => (DocumentKind::ActivityProfile, activity.into()),
            DocumentResource::AgentProfile => (DocumentKind::AgentProfile, agent.into()),
        };
        DocumentTarget {
            scope: DocumentScope {
                tenant: tenant.to_owned(),
                kind,
                scope,
            },
            resource: params.resource,
            registration: params.registration,
            id: params.id.clone(),
        }
    }

    /// The stored id of the one document addressed, if the request names one.
    pub fn stored_id(&self) -> Option<String> {
        let id = self.id.as_deref()?;
        Some(match self.resource {
            DocumentResource::State => {
                format!("{}{REGISTRATION_END}{id}", self.registration_text())
            }
            _ => id.to_owned(),
        })
    }

    /// Whether the request names one document rather than a listing or a bulk delete.
    pub fn is_single(&self) -> bool {
        self.id.is_some()
    }

    /// Whether a bulk delete must select documents by registration rather than delete the whole
    /// scope.
    pub(super) fn selects_registration(&self) -> bool {
        self.resource == DocumentResource::State && self.registration.is_some()
    }

    /// The client's id of a stored document, if this request's listing includes it.
    pub(super) fn listed_id<'a>(&self, stored: &'a str) -> Option<&'a str> {
        if self.resource != DocumentResource::State {
            return Some(stored);
        }
        let (registration, id) = stored.split_once(REGISTRATION_END)?;
        match self.registration {
            Some(_) if registration != self.registration_text() => None,
            _ => Some(id),
        }
    }

    fn registration_text(&self) -> String {
        self.registration
            .map(|r| r.hyphenated().to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use lrs_schema::{DocumentMethod, XapiVersion};

    use super::*;

    fn state(extra: &[(&str, &str)], agent: &str) -> DocumentTarget {
        let mut params = vec![
            (
                "activityId".to_owned(),
                "https://drill.example.jp/u/1".to_owned(),
            ),
            ("agent".to_owned(), agent.to_owned()),
        ];
        params.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let params = DocumentParams::from_params(
            DocumentResource::State,
            DocumentMethod::Read,
            &params,
            XapiVersion::V2_0_0,
        )
        .unwrap();
        DocumentTarget::new("131016", &params)
    }

    const REGISTRATION: &str = "6F1B1E6C-0D4B-4C52-9A4E-3C7E0F1D2A3B";

    #[test]
    fn the_longest_address_makes_a_key_every_store_holds() {
        let agent = r#"{"mbox":"mailto:taro@example.jp"}"#;
        let activity_len = "https://drill.example.jp/u/1".len();
        let agent_len = "mbox::mailto:taro@example.jp".len();
        let state_id = "s".repeat(MAX_DOCUMENT_ADDRESS_BYTES - activity_len - agent_len);
        let target = state(
            &[("registration", REGISTRATION), ("stateId", &state_id)],
            agent,
        );
        let key = target.scope.scope.len() + target.stored_id().unwrap().len();
        assert_eq!(key, MAX_DOCUMENT_ADDRESS_BYTES + KEY_BYTES_BEYOND_ADDRESS);
        assert!(key <= MAX_DOCUMENT_KEY_BYTES);
    }

    #[test]
    fn agents_spelled_differently_share_a_scope() {
        let a = state(&[], r#"{"mbox":"mailto:taro@EXAMPLE.jp","name":"Taro"}"#);
        let b = state(
            &[],
            r#"{"objectType":"Agent","mbox":"mailto:taro@example.jp"}"#,
        );
        assert_eq!(a.scope, b.scope);
    }

    #[test]
    fn state_ids_carry_their_registration() {
        let agent = r#"{"mbox":"mailto:taro@example.jp"}"#;
        let with = state(&[("registration", REGISTRATION), ("stateId", "s")], agent);
        let without = state(&[("stateId", "s")], agent);
        assert_ne!(with.stored_id(), without.stored_id());
        let with_id = with.stored_id().unwrap();
        let without_id = without.stored_id().unwrap();

        assert_eq!(with.listed_id(&with_id), Some("s"));
        assert_eq!(with.listed_id(&without_id), None, "another registration");
        let all = state(&[], agent);
        assert_eq!(all.listed_id(&with_id), Some("s"));
        assert_eq!(all.listed_id(&without_id), Some("s"));
        assert!(!all.selects_registration() && with.selects_registration());
    }
}
