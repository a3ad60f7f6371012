//! `Principal`: who is making a request, for which tenant, with which scopes.

use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::scope::{Access, ReadRestriction, Scopes};

/// An authenticated client.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The board of education whose data the request touches (empty for a
    /// [`prefecture`](Self::prefecture) principal, which has no tenant of its own).
    pub tenant: String,
    pub scopes: Scopes,
    /// The roster user (`users.csv` `sourcedId`) the principal is bound to: what it may see of
    /// the study-log aggregates follows that user's roster roles. `None`: the whole tenant.
    pub user: Option<String>,
    /// A prefecture-wide principal (`lrs credentials create --all-tenants`): it reads the
    /// aggregates of every tenant, by board, school or coarser, and may do nothing else
    /// ([`allows`](Self::allows) grants it [`Access::ReadAggregates`] only).
    pub prefecture: bool,
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
    /// Whether this principal may do `needed`: what its scopes allow, and for a prefecture-wide
    /// principal nothing but reading aggregates, whatever its scopes say.
    pub fn allows(&self, needed: Access) -> bool {
        self.scopes.allows(needed) && (!self.prefecture || needed == Access::ReadAggregates)
    }

    /// Checks that the principal may do `needed` ([`allows`](Self::allows)); on success returns
    /// the restriction that applies to statement reads.
    pub fn authorize(&self, needed: Access) -> Result<ReadRestriction, AuthError> {
        if self.allows(needed) {
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
            user: None,
            prefecture: false,
        };
        assert_eq!(
            principal.authorize(Access::ReadStatements).unwrap(),
            ReadRestriction::OwnStatementsOnly
        );
        let err = principal.authorize(Access::WriteState).unwrap_err();
        assert_eq!(err.kind(), crate::AuthErrorKind::Forbidden);
    }

    #[test]
    fn a_prefecture_principal_may_read_aggregates_and_nothing_else_whatever_its_scopes() {
        let principal = Principal {
            tenant: String::new(),
            scopes: Scopes::from_iter([Scope::All, Scope::Aggregates, Scope::Admin]),
            identity: Identity {
                home_page: "https://lrs.example/".into(),
                name: "k1".into(),
            },
            authority: authority_agent("https://lrs.example/", "k1", None),
            user: None,
            prefecture: true,
        };
        assert!(principal.allows(Access::ReadAggregates));
        for access in [
            Access::WriteStatements,
            Access::ReadStatements,
            Access::ReadState,
            Access::Define,
            Access::Admin,
            Access::ImportRoster,
        ] {
            assert!(!principal.allows(access), "{access:?}");
            assert!(principal.authorize(access).is_err(), "{access:?}");
        }
    }
}
