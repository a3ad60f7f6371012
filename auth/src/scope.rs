//! xAPI authorization scopes and the access each one grants.
//!
//! xAPI 1.0.3 Communication §4.2 ("OAuth Authorization Scope") and the xAPI 2.0 scope table
//! define the scope names; this module turns a granted scope list into yes/no answers for the
//! [`Access`] a request needs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AuthError;

/// One xAPI scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `statements/write`: write any statement.
    StatementsWrite,
    /// `statements/read`: read any statement.
    StatementsRead,
    /// `statements/read/mine`: read statements written by the same credential (authority).
    StatementsReadMine,
    /// `all/read`: every read API.
    AllRead,
    /// `all`: everything.
    All,
    /// `state`: read and write the State resource.
    State,
    /// `profile`: read and write Activity and Agent Profiles.
    Profile,
    /// `define`: (re)define activities and actors.
    Define,
    /// `admin`: the operator's endpoints (`/api/v1/admin/…`, e.g. the quarantine of the
    /// credential's tenant). Not an xAPI scope, and not granted by `all`: a tool's credential
    /// never sees them unless an operator grants this scope by name.
    Admin,
    /// `roster`: import the tenant's OneRoster rosters and learner aliases
    /// (`POST /api/v1/roster`, `POST /api/v1/roster/aliases`). Not an xAPI scope; granted by
    /// `all`.
    Roster,
    /// `aggregates`: read the study-log aggregates (`GET /api/v1/aggregates`,
    /// `GET /api/v1/learners/inactive`). Not an xAPI scope; granted by `all` and `all/read`.
    Aggregates,
}

impl Scope {
    const ALL: [Scope; 11] = [
        Scope::StatementsWrite,
        Scope::StatementsRead,
        Scope::StatementsReadMine,
        Scope::AllRead,
        Scope::All,
        Scope::State,
        Scope::Profile,
        Scope::Define,
        Scope::Admin,
        Scope::Roster,
        Scope::Aggregates,
    ];

    /// Parses an xAPI scope name; exact, case-sensitive match.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::StatementsWrite => "statements/write",
            Scope::StatementsRead => "statements/read",
            Scope::StatementsReadMine => "statements/read/mine",
            Scope::AllRead => "all/read",
            Scope::All => "all",
            Scope::State => "state",
            Scope::Profile => "profile",
            Scope::Define => "define",
            Scope::Admin => "admin",
            Scope::Roster => "roster",
            Scope::Aggregates => "aggregates",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request needs to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    WriteStatements,
    ReadStatements,
    ReadState,
    WriteState,
    /// Read the Activity Profile or Agent Profile resource (and the Activities/Agents
    /// definition lookups).
    ReadProfile,
    WriteProfile,
    /// Store activity and actor definitions carried by statements as authoritative.
    Define,
    /// The operator's endpoints: only the `admin` scope grants it.
    Admin,
    /// Import rosters and aliases: `roster` or `all`.
    ImportRoster,
    /// Read the study-log aggregates: `aggregates`, `all` or `all/read`.
    ReadAggregates,
}

impl Access {
    fn is_read(self) -> bool {
        matches!(
            self,
            Access::ReadStatements
                | Access::ReadState
                | Access::ReadProfile
                | Access::ReadAggregates
        )
    }
}

/// Restriction on the statements a principal may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadRestriction {
    /// Any statement of the tenant.
    None,
    /// Only statements whose `authority` is the principal's own
    /// (xAPI 1.0.3 Communication §4.2: `statements/read/mine`).
    OwnStatementsOnly,
}

/// A set of granted scopes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u16);

impl Scopes {
    /// The empty set: allows nothing.
    pub fn empty() -> Scopes {
        Scopes(0)
    }

    /// xAPI 1.0.3 Communication §4.2: "If no scope is specified, a requested scope of
    /// `statements/write` and `statements/read/mine` will be implied."
    pub fn xapi_default() -> Scopes {
        Scopes::from_iter([Scope::StatementsWrite, Scope::StatementsReadMine])
    }

    /// Parses a comma- or whitespace-separated scope list, e.g.
    /// `"statements/write statements/read/mine"` or `"statements/write,state"`.
    /// Unknown names and an empty list are errors (kind `Config`).
    pub fn parse_list(s: &str) -> Result<Scopes, AuthError> {
        let mut scopes = Scopes::empty();
        for name in split_list(s) {
            let scope = Scope::parse(name)
                .ok_or_else(|| AuthError::config(format!("unknown xAPI scope {name:?}")))?;
            scopes = scopes.with(scope);
        }
        if scopes.is_empty() {
            return Err(AuthError::config("empty scope list"));
        }
        Ok(scopes)
    }

    /// Like [`parse_list`](Self::parse_list) but ignores names that are not xAPI scopes, as
    /// OAuth access tokens commonly carry other scopes too (`openid`, `profile:email`, …).
    pub fn parse_list_lenient<'a>(names: impl IntoIterator<Item = &'a str>) -> Scopes {
        names
            .into_iter()
            .flat_map(split_list)
            .filter_map(Scope::parse)
            .collect()
    }

    #[must_use]
    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        Scope::ALL.into_iter().filter(|scope| self.contains(*scope))
    }

    /// Whether these scopes allow `needed`. Reads of statements under `statements/read/mine`
    /// are allowed here; the caller must then apply [`read_restriction`](Self::read_restriction).
    pub fn allows(&self, needed: Access) -> bool {
        if needed == Access::Admin {
            return self.contains(Scope::Admin);
        }
        if self.contains(Scope::All) || (needed.is_read() && self.contains(Scope::AllRead)) {
            return true;
        }
        match needed {
            Access::WriteStatements => self.contains(Scope::StatementsWrite),
            Access::ReadStatements => {
                self.contains(Scope::StatementsRead) || self.contains(Scope::StatementsReadMine)
            }
            Access::ReadState | Access::WriteState => self.contains(Scope::State),
            Access::ReadProfile | Access::WriteProfile => self.contains(Scope::Profile),
            Access::Define => self.contains(Scope::Define),
            Access::Admin => self.contains(Scope::Admin),
            Access::ImportRoster => self.contains(Scope::Roster),
            Access::ReadAggregates => self.contains(Scope::Aggregates),
        }
    }

    /// Which statements a statement read may return. `OwnStatementsOnly` when the only
    /// statement-reading scope is `statements/read/mine`; `None` otherwise (also when the
    /// scopes do not allow statement reads at all: check [`allows`](Self::allows) first).
    pub fn read_restriction(&self) -> ReadRestriction {
        let unrestricted = self.contains(Scope::All)
            || self.contains(Scope::AllRead)
            || self.contains(Scope::StatementsRead);
        if !unrestricted && self.contains(Scope::StatementsReadMine) {
            ReadRestriction::OwnStatementsOnly
        } else {
            ReadRestriction::None
        }
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|name| !name.is_empty())
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        iter.into_iter().fold(Scopes::empty(), Scopes::with)
    }
}

/// Space-separated, the OAuth 2.0 `scope` form (RFC 6749 §3.3).
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Scope::as_str))
            .finish()
    }
}

/// Serialized as a JSON array of scope names (the credentials file format).
impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scopes, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        names
            .iter()
            .map(|name| {
                Scope::parse(name)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown xAPI scope {name:?}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_name_round_trips_through_parse() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("Statements/Write"), None);
        assert_eq!(Scope::parse(""), None);
    }

    #[test]
    fn only_the_admin_scope_grants_the_admin_endpoints_not_all() {
        let all = Scopes::from_iter([Scope::All]);
        assert!(all.allows(Access::WriteStatements) && all.allows(Access::Define));
        assert!(!all.allows(Access::Admin));
        let admin = Scopes::parse_list("admin").unwrap();
        assert!(admin.allows(Access::Admin));
        assert!(
            !admin.allows(Access::ReadStatements),
            "admin is not an xAPI scope"
        );
        assert_eq!(
            Scopes::parse_list("all,admin").unwrap().to_string(),
            "all admin"
        );
    }

    #[test]
    fn all_grants_the_roster_and_aggregates_and_all_read_only_the_aggregates() {
        let all = Scopes::from_iter([Scope::All]);
        assert!(all.allows(Access::ImportRoster) && all.allows(Access::ReadAggregates));
        let all_read = Scopes::from_iter([Scope::AllRead]);
        assert!(all_read.allows(Access::ReadAggregates));
        assert!(!all_read.allows(Access::ImportRoster));
        let roster = Scopes::parse_list("roster").unwrap();
        assert!(roster.allows(Access::ImportRoster));
        assert!(!roster.allows(Access::ReadAggregates));
        assert!(!roster.allows(Access::ReadStatements));
        let aggregates = Scopes::parse_list("aggregates").unwrap();
        assert!(aggregates.allows(Access::ReadAggregates));
        assert!(!aggregates.allows(Access::ImportRoster));
        assert!(!aggregates.allows(Access::ReadStatements));
        let admin = Scopes::parse_list("admin").unwrap();
        assert!(!admin.allows(Access::ImportRoster) && !admin.allows(Access::ReadAggregates));
    }

    #[test]
    fn scope_lists_accept_commas_and_spaces() {
        let scopes = Scopes::parse_list(" statements/write,state  profile\tdefine ").unwrap();
        assert_eq!(scopes.to_string(), "statements/write state profile define");
    }

    #[test]
    fn scope_lists_reject_unknown_names_and_emptiness() {
        assert!(Scopes::parse_list("statements/write bogus").is_err());
        assert!(Scopes::parse_list(" , ").is_err());
    }

    #[test]
    fn lenient_parsing_ignores_non_xapi_scopes() {
        let scopes = Scopes::parse_list_lenient(["openid statements/read", "email"]);
        assert_eq!(scopes, Scopes::from_iter([Scope::StatementsRead]));
    }

    #[test]
    fn scopes_serialize_as_an_array_of_names() {
        let scopes = Scopes::from_iter([Scope::State, Scope::StatementsWrite]);
        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(json, r#"["statements/write","state"]"#);
        assert_eq!(serde_json::from_str::<Scopes>(&json).unwrap(), scopes);
        assert!(serde_json::from_str::<Scopes>(r#"["nope"]"#).is_err());
    }
}
