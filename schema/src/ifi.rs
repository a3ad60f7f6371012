//! Inverse functional identifiers: how an Agent or an identified Group is known.

use crate::error::ValidationError;
use crate::iri::Iri;
use crate::json::{Fields, JsonNode, as_str};
use crate::path::JsonPath;

const MBOX_RULE: &str =
    "xAPI 1.0.3 Data §2.4.2.3: mbox MUST be a mailto IRI, \"mailto:email address\"";
const SHA1_RULE: &str =
    "xAPI 1.0.3 Data §2.4.2.3: mbox_sha1sum MUST be the hex-encoded SHA1 hash of a mailto IRI";
const ACCOUNT_RULE: &str =
    "xAPI 1.0.3 Data §2.4.2.4: an Account Object MUST have a homePage (IRL) and a name (string)";

/// The names of the inverse functional identifier properties (xAPI 1.0.3 Data §2.4.2.3).
pub(crate) const IFI_KEYS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

/// A `mailto:` IRI holding one email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mbox(String);

impl Mbox {
    pub(crate) fn parse_at(value: &str, path: &JsonPath<'_>) -> Result<Mbox, ValidationError> {
        let address = value
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
            .map(|_| &value[7..]);
        match address {
            Some(address) if is_email(address) => Ok(Mbox(value.to_owned())),
            _ => Err(ValidationError::new(
                MBOX_RULE,
                path,
                format!("\"{value}\" is not a mailto IRI with an email address"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `mailto:` + local part + `@` + domain in lowercase: xAPI 1.0.3 Data §2.4.2.3 says the
    /// domain portion is case insensitive, and the scheme is too (RFC 3986 §3.1).
    pub fn canonical(&self) -> String {
        canonical_mbox(&self.0)
    }
}

/// The canonical form of an mbox string that already passed [`Mbox::parse_at`], or of any string.
pub(crate) fn canonical_mbox(value: &str) -> String {
    let address = value.get(7..).unwrap_or(value);
    match address.rfind('@') {
        Some(at) => format!(
            "mailto:{}@{}",
            &address[..at],
            address[at + 1..].to_ascii_lowercase()
        ),
        None => value.to_owned(),
    }
}

/// A best-effort address check: `local@domain`, no whitespace, a domain of labels.
fn is_email(address: &str) -> bool {
    let Some(at) = address.rfind('@') else {
        return false;
    };
    let (local, domain) = (&address[..at], &address[at + 1..]);
    !local.is_empty()
        && !domain.is_empty()
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// A user account on some system (xAPI 1.0.3 Data §2.4.2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    home_page: Iri,
    name: String,
}

impl Account {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Account, ValidationError> {
        let fields = Fields::new(value, "an Account", &["homePage", "name"], path)?;
        let home_page = fields.require("homePage", ACCOUNT_RULE)?;
        let home_page = Iri::parse_at(
            as_str(home_page, &path.key("homePage"))?,
            &path.key("homePage"),
        )?;
        let name = as_str(fields.require("name", ACCOUNT_RULE)?, &path.key("name"))?;
        Ok(Account {
            home_page,
            name: name.to_owned(),
        })
    }

    pub fn home_page(&self) -> &Iri {
        &self.home_page
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Exactly one of the four identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ifi {
    Mbox(Mbox),
    /// 40 hexadecimal digits, kept in lowercase.
    MboxSha1Sum(String),
    OpenId(Iri),
    Account(Account),
}

impl Ifi {
    /// Reads the single identifier among the fields; `Ok(None)` when there is none, an error
    /// naming `rule` when there are several.
    pub(crate) fn parse<'v, J: JsonNode<'v>>(
        fields: &Fields<'v, '_, J>,
        rule: &'static str,
    ) -> Result<Option<Ifi>, ValidationError> {
        let path = fields.path();
        let mut found: Option<Ifi> = None;
        for key in IFI_KEYS {
            let Some(value) = fields.get(key)? else {
                continue;
            };
            if found.is_some() {
                return Err(ValidationError::new(
                    rule,
                    &path.key(key),
                    "more than one inverse functional identifier",
                ));
            }
            let key_path = path.key(key);
            found = Some(match key {
                "mbox" => Ifi::Mbox(Mbox::parse_at(as_str(value, &key_path)?, &key_path)?),
                "mbox_sha1sum" => {
                    let hex = as_str(value, &key_path)?;
                    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(ValidationError::new(
                            SHA1_RULE,
                            &key_path,
                            format!("\"{hex}\" is not 40 hexadecimal digits"),
                        ));
                    }
                    Ifi::MboxSha1Sum(hex.to_ascii_lowercase())
                }
                "openid" => Ifi::OpenId(Iri::parse_at(as_str(value, &key_path)?, &key_path)?),
                _ => Ifi::Account(Account::parse(value, &key_path)?),
            });
        }
        Ok(found)
    }

    /// The canonical string used by indexes and the `agent` query parameter:
    /// `mbox::mailto:a@b`, `mbox_sha1sum::<hex>`, `openid::<uri>`, `account::<homePage>::<name>`.
    pub fn canonical(&self) -> String {
        match self {
            Ifi::Mbox(mbox) => format!("mbox::{}", mbox.canonical()),
            Ifi::MboxSha1Sum(hex) => format!("mbox_sha1sum::{hex}"),
            Ifi::OpenId(iri) => format!("openid::{iri}"),
            Ifi::Account(account) => format!("account::{}::{}", account.home_page, account.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_domains_are_canonically_lowercase() {
        let path = JsonPath::root("$");
        let mbox = Mbox::parse_at("MAILTO:Taro.Yamada@Example.JP", &path).unwrap();
        assert_eq!(mbox.canonical(), "mailto:Taro.Yamada@example.jp");
    }

    #[test]
    fn mboxes_without_mailto_or_an_address_are_rejected() {
        let path = JsonPath::root("$");
        for bad in [
            "a@b.c",
            "mailto:",
            "mailto:ab.c",
            "mailto:a@",
            "mailto:a b@c.d",
            "mailto:a@b..c",
            "http://a@b.c",
        ] {
            assert!(Mbox::parse_at(bad, &path).is_err(), "{bad}");
        }
        assert!(Mbox::parse_at("mailto:生徒@学校.example.jp", &path).is_ok());
    }
}
