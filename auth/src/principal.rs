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
    /// The credential key (Basic) or the token's `sub` (JWT bearer).
    pub name: String,
    /// The xAPI `authority` Agent the LRS sets on statements this principal writes
    /// (xAPI 1.0.3 Data §2.4.9); also how `statements/read/mine` recognises own statements.
    pub authority: Value,
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
pub(crate) fn authority_agent(home_page: &str, account_name: &str, display: Option<&str>) -> Value {
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
            name: "k1".into(),
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
