//! `Principal`: who is making a request, for which tenant, with which scopes.

use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::scope::{Access, ReadRestriction, Scopes};

/// An authenticated client.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The board of education whose data the request touches.
    pub tenant: String,
    pub scopes: Scopes,
    /// Who the client is, whole: no two credentials or token subjects share one.
    pub identity: Identity,
    /// The xAPI `authority` Agent the LRS sets on statements this principal writes
    /// (xAPI 1.0.3 Data §2.4.9): an account whose `homePage` and `name` are the [`Identity`]
    /// (plus, for a Basic credential, its label as display `name`).
    pub authority: Value,
}

/// A principal's identity: the `account` of its authority Agent.
///
/// - HTTP Basic: `home_page` = `auth.authority_home_page`, `name` = the credential key;
/// - JWT bearer: `home_page` = the token's issuer (`iss`), `name` = its subject (`sub`).
///
/// Issuers are distinct and none equals `auth.authority_home_page` (checked when the
/// configuration is loaded), so two tokens of different issuers, or a token and a Basic
/// credential, never share an identity however their `sub` and key are chosen. Identities are
/// compared as the pair, never as one joined string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub home_page: String,
    pub name: String,
}

impl Identity {
    /// The `authority` Agent of this identity, with an optional display `name`.
    pub(crate) fn authority(&self, display: Option<&str>) -> Value {
        authority_agent(&self.home_page, &self.name, display)
    }
}

impl Principal {
    /// Checks that the scopes allow `needed`; on success returns the restriction that applies to
    /// statement reads.
    pub fn authorize(&self, needed: Access) -> Result<ReadRestriction, AuthError> {
        if self.scopes.allows(needed) {
            Ok(self.scopes.read_restriction())
        } else {
            Err(AuthError::Forbidden(format!(
                "scopes [{}] do not allow {needed:?}",
                self.scopes
            )))
        }
    }
}

/// `{"objectType":"Agent","account":{"homePage":…,"name":…}}` plus an optional display `name`.
fn authority_agent(home_page: &str, account_name: &str, display: Option<&str>) -> Value {
    let mut account = Map::new();
    account.insert("homePage".into(), Value::from(home_page));
    account.insert("name".into(), Value::from(account_name));
    let mut agent = Map::new();
    agent.insert("objectType".into(), Value::from("Agent"));
    if let Some(display) = display {
        agent.insert("name".into(), Value::from(display));
    }
    agent.insert("account".into(), Value::Object(account));
    Value::Object(agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Scope;

    #[test]
    fn authority_is_an_account_agent_with_optional_display_name() {
        let agent = authority_agent("https://lrs.example/", "k1", Some("Drill tool"));
        assert_eq!(
            agent,
            serde_json::json!({"objectType":"Agent","name":"Drill tool",
                "account":{"homePage":"https://lrs.example/","name":"k1"}})
        );
        let bare = authority_agent("https://lrs.example/", "k1", None);
        assert!(bare.get("name").is_none());
    }

    #[test]
    fn authorize_is_forbidden_without_the_scope_and_reports_the_read_restriction() {
        let principal = Principal {
            tenant: "131016".into(),
            scopes: Scopes::from_iter([Scope::StatementsWrite, Scope::StatementsReadMine]),
            identity: Identity {
                home_page: "https://lrs.example/".into(),
                name: "k1".into(),
            },
            authority: authority_agent("https://lrs.example/", "k1", None),
        };
        assert_eq!(
            principal.authorize(Access::ReadStatements).unwrap(),
            ReadRestriction::OwnStatementsOnly
        );
        let err = principal.authorize(Access::WriteState).unwrap_err();
        assert_eq!(err.kind(), crate::AuthErrorKind::Forbidden);
    }
}
