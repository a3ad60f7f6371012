//! The roles one `lrs serve` process runs (`server.services` / `--services`), and the backends
//! they run on (`log.uri`, `storage.uri`).

use std::fmt;
use std::str::FromStr;

use anyhow::bail;

/// One role of the pipeline a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The whole xAPI HTTP surface; writes go to the log.
    Api,
    /// Log → store.
    Ingest,
    /// The xAPI HTTP surface, reads only.
    Query,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Api, Role::Ingest, Role::Query];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Ingest => "ingest",
            Role::Query => "query",
        }
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> anyhow::Result<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name.trim())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "server.services: {name:?} is not a role; the roles are api, ingest and query"
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles this process runs (a set; never empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles([bool; 3]);

impl Roles {
    pub fn parse(services: &[String]) -> anyhow::Result<Roles> {
        let mut roles = Roles([false; 3]);
        for service in services {
            roles.0[service.parse::<Role>()? as usize] = true;
        }
        if roles.0 == [false; 3] {
            bail!("server.services names no role; give one or more of api, ingest, query");
        }
        Ok(roles)
    }

    pub fn has(self, role: Role) -> bool {
        self.0[role as usize]
    }

    pub fn all(self) -> bool {
        self.0 == [true; 3]
    }

    /// Serves the xAPI HTTP surface (api or query).
    pub fn serves_xapi(self) -> bool {
        self.has(Role::Api) || self.has(Role::Query)
    }

    /// e.g. `api,query`.
    pub fn names(self) -> String {
        Role::ALL
            .into_iter()
            .filter(|role| self.has(*role))
            .map(Role::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Where the log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogUri {
    /// `file://`: the embedded log under the data directory.
    Embedded,
    /// `kafka://…`, kept whole for the Kafka log's own parser.
    Kafka(String),
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUri {
    /// `file://`: the embedded store under the data directory.
    Embedded,
    /// `postgres://…` or `postgresql://…`.
    Postgres(String),
    /// `scylla://…`.
    Scylla(String),
}

impl LogUri {
    pub fn parse(uri: &str) -> anyhow::Result<LogUri> {
        if uri.is_empty() || uri == "file://" {
            Ok(LogUri::Embedded)
        } else if uri.starts_with("kafka://") {
            Ok(LogUri::Kafka(uri.to_owned()))
        } else {
            bail!("log.uri {uri:?}: expected file:// (embedded) or kafka://host:port/topic")
        }
    }
}

impl StoreUri {
    pub fn parse(uri: &str) -> anyhow::Result<StoreUri> {
        if uri.is_empty() || uri == "file://" {
            Ok(StoreUri::Embedded)
        } else if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            Ok(StoreUri::Postgres(uri.to_owned()))
        } else if uri.starts_with("scylla://") {
            Ok(StoreUri::Scylla(uri.to_owned()))
        } else {
            bail!(
                "storage.uri {uri:?}: expected file:// (embedded), postgres://… or scylla://host:port/keyspace"
            )
        }
    }
}

/// The embedded log and store belong to one process, so with either every role runs here.
pub fn check_deployment(roles: Roles, log: &LogUri, store: &StoreUri) -> anyhow::Result<()> {
    if !roles.all() {
        if *log == LogUri::Embedded {
            bail!(
                "server.services = {:?}: running only some roles needs a shared log (log.uri = kafka://…); \
                 the embedded log (file://) belongs to one process running api, ingest and query",
                roles.names()
            );
        }
        if *store == StoreUri::Embedded {
            bail!(
                "server.services = {:?}: running only some roles needs a shared store (storage.uri = \
                 postgres://… or scylla://…); the embedded store (file://) belongs to one process",
                roles.names()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[&str]) -> anyhow::Result<Roles> {
        Roles::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn roles_are_named_by_the_services_list() {
        let r = roles(&["api", " query"]).unwrap();
        assert!(r.has(Role::Api) && r.has(Role::Query) && !r.has(Role::Ingest));
        assert_eq!(r.names(), "api,query");
        assert!(roles(&["api", "ingest", "query"]).unwrap().all());
    }

    #[test]
    fn every_role_parses_from_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn an_unknown_or_empty_role_list_is_refused_with_the_roles_named() {
        let err = roles(&["api", "worker"]).unwrap_err().to_string();
        assert!(
            err.contains("\"worker\"") && err.contains("api, ingest and query"),
            "{err}"
        );
        assert!(roles(&[]).is_err());
    }

    #[test]
    fn backend_uris_are_recognised_by_scheme() {
        assert_eq!(LogUri::parse("file://").unwrap(), LogUri::Embedded);
        assert!(matches!(
            LogUri::parse("kafka://b:9092/t").unwrap(),
            LogUri::Kafka(_)
        ));
        assert!(LogUri::parse("amqp://x").is_err());
        assert_eq!(StoreUri::parse("").unwrap(), StoreUri::Embedded);
        assert!(matches!(
            StoreUri::parse("postgresql://u@h/db").unwrap(),
            StoreUri::Postgres(_)
        ));
        assert!(matches!(
            StoreUri::parse("scylla://h:9042/ks").unwrap(),
            StoreUri::Scylla(_)
        ));
        assert!(StoreUri::parse("mysql://h").is_err());
    }

    #[test]
    fn split_roles_need_a_shared_log_and_store() {
        let api = roles(&["api"]).unwrap();
        let kafka = LogUri::Kafka("kafka://b/t".into());
        let pg = StoreUri::Postgres("postgres://h/db".into());
        assert!(check_deployment(api, &LogUri::Embedded, &pg).is_err());
        assert!(check_deployment(api, &kafka, &StoreUri::Embedded).is_err());
        assert!(check_deployment(api, &kafka, &pg).is_ok());
        let all = roles(&["api", "ingest", "query"]).unwrap();
        assert!(check_deployment(all, &LogUri::Embedded, &StoreUri::Embedded).is_ok());
        assert!(check_deployment(all, &kafka, &StoreUri::Embedded).is_ok());
    }
}
