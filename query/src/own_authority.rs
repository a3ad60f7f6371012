//! `OwnAuthority`: the one authority a `statements/read/mine` reader may read, compared whole.

use std::borrow::Cow;

use lrs_schema::envelope::Key16;
use serde::Deserialize;

/// The authority account of a principal restricted to its own statements.
///
/// The index key plans the scan and narrows the candidates, but it is a 128-bit hash of the
/// canonical identifier `account::<homePage>::<name>`, a joined string (a home page ending in `:`
/// and a name starting with `:` join like other pairs). So every candidate's stored `authority`
/// is also compared field by field with [`home_page`](Self::home_page) and
/// [`name`](Self::name): a statement is "mine" only when its authority is this very account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnAuthority {
    pub key: Key16,
    pub home_page: String,
    pub name: String,
}

/// The part of a stored statement body this check reads.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    authority: Option<Authority<'a>>,
}

#[derive(Deserialize)]
struct Authority<'a> {
    #[serde(borrow)]
    account: Option<Account<'a>>,
}

#[derive(Deserialize)]
struct Account<'a> {
    #[serde(borrow, rename = "homePage")]
    home_page: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

impl OwnAuthority {
    /// Whether a stored statement (JSON body) was written by this authority. Its index key is
    /// checked first (cheap); the body is read only for candidates that pass.
    pub fn wrote(&self, authority_key: Key16, body: &[u8]) -> bool {
        if authority_key != self.key {
            return false;
        }
        let Ok(body) = serde_json::from_slice::<Body<'_>>(body) else {
            return false;
        };
        body.authority
            .and_then(|authority| authority.account)
            .is_some_and(|account| account.home_page == self.home_page && account.name == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(home_page: &str, name: &str) -> OwnAuthority {
        OwnAuthority {
            key: Key16::of(&format!("account::{home_page}::{name}")),
            home_page: home_page.into(),
            name: name.into(),
        }
    }

    fn body(home_page: &str, name: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "authority": {"objectType": "Agent", "name": "Drill",
                          "account": {"homePage": home_page, "name": name}}
        }))
        .unwrap()
    }

    #[test]
    fn a_statement_is_mine_only_when_its_authority_account_is_mine_field_by_field() {
        let mine = own("https://a.example:", ":b");
        assert!(mine.wrote(mine.key, &body("https://a.example:", ":b")));
        // Same joined canonical form (`account::https://a.example::::b`), same key, other account.
        let other = own("https://a.example", "::b");
        assert_eq!(mine.key, other.key);
        assert!(!mine.wrote(mine.key, &body("https://a.example", "::b")));
    }

    #[test]
    fn another_key_or_a_body_without_an_account_authority_is_not_mine() {
        let mine = own("https://lrs.example.jp", "k1");
        let other_key = Key16::of("account::https://lrs.example.jp::k2");
        assert!(!mine.wrote(other_key, &body("https://lrs.example.jp", "k1")));
        assert!(!mine.wrote(
            mine.key,
            br#"{"authority":{"mbox":"mailto:k1@example.jp"}}"#
        ));
        assert!(!mine.wrote(mine.key, b"{}"));
        assert!(!mine.wrote(mine.key, b"not json"));
    }
}
