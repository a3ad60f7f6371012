//! [`ScyllaConfig`], its `scylla://` URI form, and the CQL schema files applied at connect.

use std::fmt;

use crate::{StoreError, StoreErrorKind};

/// The schema files, in order. Each is applied at every connect: `CREATE TABLE IF NOT EXISTS`
/// only (a migration never alters, locks or rewrites an existing table). Their `CREATE KEYSPACE`
/// and `USE` statements are skipped: the store creates the configured keyspace itself.
pub(crate) const SCHEMA_FILES: &[(&str, &str)] = &[
    (
        "001_init.cql",
        include_str!("../../../schema/cql/001_init.cql"),
    ),
    (
        "002_quarantine.cql",
        include_str!("../../../schema/cql/002_quarantine.cql"),
    ),
    (
        "003_studylog.cql",
        include_str!("../../../schema/cql/003_studylog.cql"),
    ),
    (
        "004_purges.cql",
        include_str!("../../../schema/cql/004_purges.cql"),
    ),
    (
        "005_lti_nonces.cql",
        include_str!("../../../schema/cql/005_lti_nonces.cql"),
    ),
];

/// The replication of a keyspace the store creates when none is configured: one replica, for a
/// single-node development cluster.
pub const DEFAULT_REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

/// Writes (and reads) in flight at once per store call.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Where and how [`ScyllaStore`](super::ScyllaStore) connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScyllaConfig {
    /// Contact points, `host:port` (the driver discovers the rest of the cluster).
    pub known_nodes: Vec<String>,
    /// The keyspace holding every table; created at connect if missing. A CQL identifier
    /// (letters, digits, `_`, starting with a letter, at most 48 characters), compared
    /// case-insensitively (it is kept in lower case).
    pub keyspace: String,
    /// The replication map of a keyspace created at connect (CQL map text, e.g.
    /// [`DEFAULT_REPLICATION`]); an existing keyspace keeps its own.
    pub replication: String,
    /// The local datacenter: requests go to its replicas first, and `LOCAL_QUORUM` means a
    /// quorum of its replicas. `None` lets the driver treat every node as local.
    pub local_datacenter: Option<String>,
    /// Requests in flight at once per store call (a batch of statements, a page of ids).
    pub concurrency: usize,
}

impl ScyllaConfig {
    /// A configuration with the default replication, no local datacenter and the default
    /// concurrency.
    pub fn new(known_nodes: Vec<String>, keyspace: impl Into<String>) -> ScyllaConfig {
        ScyllaConfig {
            known_nodes,
            keyspace: keyspace.into(),
            replication: DEFAULT_REPLICATION.to_owned(),
            local_datacenter: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Parses `scylla://host1:9042,host2:9042/KEYSPACE?replication=…&local_dc=…`.
    ///
    /// `replication` is `SimpleStrategy:N` or `NetworkTopologyStrategy:dc1=3,dc2=3` (default:
    /// [`DEFAULT_REPLICATION`]); `local_dc` names the local datacenter; a host without a port
    /// gets 9042.
    pub fn from_uri(uri: &str) -> Result<ScyllaConfig, ScyllaUriError> {
        let rest = uri
            .strip_prefix("scylla://")
            .ok_or_else(|| ScyllaUriError::new("it does not start with scylla://"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, keyspace) = location
            .split_once('/')
            .ok_or_else(|| ScyllaUriError::new("it names no keyspace (scylla://HOSTS/KEYSPACE)"))?;
        let known_nodes = hosts.split(',').map(node).collect::<Result<Vec<_>, _>>()?;
        let mut config = ScyllaConfig::new(known_nodes, keyspace_name(keyspace)?);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| ScyllaUriError(format!("parameter {pair:?} has no value")))?;
            match name {
                "replication" => config.replication = replication(value)?,
                "local_dc" => config.local_datacenter = Some(datacenter(value)?.to_owned()),
                other => {
                    return Err(ScyllaUriError(format!(
                        "unknown parameter {other:?} (known: replication, local_dc)"
                    )));
                }
            }
        }
        Ok(config)
    }

    /// The checked keyspace name and replication map, as they go into CQL text.
    pub(crate) fn checked(&self) -> Result<(String, &str), StoreError> {
        let invalid = |e: ScyllaUriError| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("scylla configuration: {e}"),
            )
        };
        let keyspace = keyspace_name(&self.keyspace).map_err(invalid)?;
        let map = self.replication.trim();
        let plain = map
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " {}:,'_.-".contains(c));
        if !(map.starts_with('{') && map.ends_with('}') && plain) {
            return Err(invalid(ScyllaUriError(format!(
                "replication {map:?} is not a CQL replication map like {DEFAULT_REPLICATION}"
            ))));
        }
        if self.known_nodes.is_empty() {
            return Err(invalid(ScyllaUriError::new("no known nodes")));
        }
        Ok((keyspace, map))
    }
}

/// Why a `scylla://` URI was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScyllaUriError(String);

impl ScyllaUriError {
    fn new(message: &str) -> Self {
        ScyllaUriError(message.to_owned())
    }
}

impl fmt::Display for ScyllaUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid scylla:// URI: {}", self.0)
    }
}

impl std::error::Error for ScyllaUriError {}

fn node(host: &str) -> Result<String, ScyllaUriError> {
    if host.is_empty() {
        return Err(ScyllaUriError::new("an empty host in the host list"));
    }
    // `[v6]:port`, `[v6]`, `host:port` or `host`.
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => {
            let (name, after) = v6
                .split_once(']')
                .ok_or_else(|| ScyllaUriError(format!("host {host:?} lacks a closing ]")))?;
            (name, after.strip_prefix(':'))
        }
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    if name.is_empty() {
        return Err(ScyllaUriError(format!("host {host:?} has no name")));
    }
    let port = match port {
        None => 9042,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ScyllaUriError(format!("port of {host:?} is not 1–65535")))?,
    };
    Ok(if host.starts_with('[') {
        format!("[{name}]:{port}")
    } else {
        format!("{name}:{port}")
    })
}

/// A CQL identifier, in lower case.
fn keyspace_name(name: &str) -> Result<String, ScyllaUriError> {
    let valid = (1..=48).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(ScyllaUriError(format!(
            "keyspace {name:?} is not a CQL identifier (a letter, then letters, digits or _, at \
             most 48)"
        )));
    }
    Ok(name.to_ascii_lowercase())
}

fn datacenter(name: &str) -> Result<&str, ScyllaUriError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(ScyllaUriError(format!(
            "datacenter {name:?} is not letters, digits, _, . or -"
        )));
    }
    Ok(name)
}

fn factor(text: &str) -> Result<u32, ScyllaUriError> {
    text.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ScyllaUriError(format!(
            "replication factor {text:?} is not a positive integer"
        ))
    })
}

/// `SimpleStrategy:N` or `NetworkTopologyStrategy:dc1=N,dc2=M` → a CQL replication map.
fn replication(value: &str) -> Result<String, ScyllaUriError> {
    let (class, spec) = value.split_once(':').ok_or_else(|| {
        ScyllaUriError(format!(
            "replication {value:?} is not SimpleStrategy:N or NetworkTopologyStrategy:dc=N,…"
        ))
    })?;
    match class {
        "SimpleStrategy" => {
            let n = spec.strip_prefix("replication_factor=").unwrap_or(spec);
            Ok(format!(
                "{{'class': 'SimpleStrategy', 'replication_factor': {}}}",
                factor(n)?
            ))
        }
        "NetworkTopologyStrategy" => {
            let mut map = String::from("{'class': 'NetworkTopologyStrategy'");
            for dc in spec.split(',') {
                let (name, n) = dc.split_once('=').ok_or_else(|| {
                    ScyllaUriError(format!("datacenter {dc:?} is not written dc=N"))
                })?;
                map.push_str(&format!(", '{}': {}", datacenter(name)?, factor(n)?));
            }
            map.push('}');
            Ok(map)
        }
        other => Err(ScyllaUriError(format!(
            "replication class {other:?} is not SimpleStrategy or NetworkTopologyStrategy"
        ))),
    }
}

/// The statements of a schema file that the store runs: comments removed, split at `;`, without
/// `CREATE KEYSPACE` and `USE` (the store creates and selects the configured keyspace itself).
pub(crate) fn schema_statements(file: &str) -> Vec<String> {
    let code: String = file
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .filter(|s| {
            let upper = s.to_ascii_uppercase();
            !upper.starts_with("CREATE KEYSPACE") && !upper.starts_with("USE ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_names_hosts_keyspace_and_replication() {
        let config = ScyllaConfig::from_uri(
            "scylla://host1:9042,host2:9043/LRS_Prod?replication=NetworkTopologyStrategy:dc1=3,dc2=2&local_dc=dc1",
        )
        .unwrap();
        assert_eq!(config.known_nodes, ["host1:9042", "host2:9043"]);
        assert_eq!(config.keyspace, "lrs_prod");
        assert_eq!(
            config.replication,
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
        );
        assert_eq!(config.local_datacenter.as_deref(), Some("dc1"));
        assert_eq!(config.concurrency, DEFAULT_CONCURRENCY);
    }

    #[test]
    fn a_uri_without_parameters_gets_the_defaults_and_port_9042() {
        let config = ScyllaConfig::from_uri("scylla://10.0.0.1,[::1],[::2]:19042/lrs").unwrap();
        assert_eq!(
            config.known_nodes,
            ["10.0.0.1:9042", "[::1]:9042", "[::2]:19042"]
        );
        assert_eq!(config.replication, DEFAULT_REPLICATION);
        assert_eq!(config.local_datacenter, None);
        let simple = ScyllaConfig::from_uri("scylla://h/k?replication=SimpleStrategy:3").unwrap();
        assert_eq!(
            simple.replication,
            "{'class': 'SimpleStrategy', 'replication_factor': 3}"
        );
    }

    #[test]
    fn bad_uris_are_refused_with_a_message_naming_the_problem() {
        let cases = [
            ("postgres://h/k", "scylla://"),
            ("scylla://h:9042", "no keyspace"),
            ("scylla://h/", "not a CQL identifier"),
            ("scylla://h/1ks", "not a CQL identifier"),
            ("scylla://h/k-s", "not a CQL identifier"),
            ("scylla://h,,g/k", "empty host"),
            ("scylla://h:0/k", "not 1–65535"),
            ("scylla://h:x/k", "not 1–65535"),
            ("scylla://[::1/k", "closing ]"),
            ("scylla://h/k?replication=Everywhere:3", "replication class"),
            (
                "scylla://h/k?replication=SimpleStrategy:0",
                "positive integer",
            ),
            (
                "scylla://h/k?replication=NetworkTopologyStrategy:dc1",
                "dc=N",
            ),
            (
                "scylla://h/k?replication=NetworkTopologyStrategy:d'c=1",
                "datacenter",
            ),
            ("scylla://h/k?replication=3", "SimpleStrategy:N"),
            ("scylla://h/k?consistency=ALL", "unknown parameter"),
            ("scylla://h/k?local_dc", "has no value"),
        ];
        for (uri, expected) in cases {
            let message = ScyllaConfig::from_uri(uri).unwrap_err().to_string();
            assert!(message.contains(expected), "{uri}: {message}");
            assert!(message.starts_with("invalid scylla:// URI"), "{message}");
        }
    }

    #[test]
    fn a_configured_replication_map_must_be_a_plain_cql_map() {
        let mut config = ScyllaConfig::new(vec!["h:9042".into()], "lrs");
        assert_eq!(
            config.checked().unwrap(),
            ("lrs".to_owned(), DEFAULT_REPLICATION)
        );
        config.replication = "{'class': 'SimpleStrategy'}; DROP KEYSPACE lrs".into();
        assert!(config.checked().is_err());
        config.replication = DEFAULT_REPLICATION.into();
        config.known_nodes.clear();
        assert!(config.checked().is_err());
    }

    #[test]
    fn the_schema_files_yield_only_table_statements_for_the_configured_keyspace() {
        let statements: Vec<String> = SCHEMA_FILES
            .iter()
            .flat_map(|(_, text)| schema_statements(text))
            .collect();
        assert_eq!(statements.len(), 24, "{statements:#?}");
        for statement in &statements {
            assert!(
                statement.starts_with("CREATE TABLE IF NOT EXISTS "),
                "{statement}"
            );
            assert!(!statement.contains("--"), "{statement}");
        }
    }
}
