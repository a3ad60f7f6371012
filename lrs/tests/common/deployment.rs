//! The distributed deployment for a test: a tansu broker (sqlite storage, its own directory and
//! loopback port) and api, ingest and query as three `lrs serve --services <role>` processes over
//! it and a fresh PostgreSQL schema, sharing a data directory (for `credentials.json`).
//!
//! Needs `LRS_TEST_TANSU` (the tansu binary, `ci/kafka.sh`) and `LRS_TEST_POSTGRES` (a
//! connection string, `ci/postgres.sh`); [`infrastructure`] says when they are missing (a
//! failure under `CI`). Used by `distributed_lifecycle.rs`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{create_credential, spawn_server_env};

/// The tansu binary and the PostgreSQL connection string, or `None` after saying why the test
/// is skipped.
pub fn infrastructure(test: &str) -> Option<(PathBuf, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    match (var("LRS_TEST_TANSU"), var("LRS_TEST_POSTGRES")) {
        (Some(tansu), Some(postgres)) => Some((PathBuf::from(tansu), postgres)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{test}: LRS_TEST_TANSU and LRS_TEST_POSTGRES must be set under CI")
        }
        _ => {
            eprintln!(
                "{test}: distributed tests skipped (set LRS_TEST_TANSU to a tansu binary and \
                 LRS_TEST_POSTGRES to a PostgreSQL connection string)"
            );
            None
        }
    }
}

/// Waits until the query instance at `ready` (its `/ready` URL) reports no ingest lag.
pub async fn wait_for_no_lag(client: &reqwest::Client, ready: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    // The query instance learns the log's end offsets every `log.progress_poll_ms` (50 ms):
    // right after the writes its lag can still read 0 from before them. Writes acknowledged
    // before this call are in the log, so once a few polls have passed, a lag of 0 counts
    // them; and it must read 0 twice, 200 ms apart.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut zero_before = false;
    loop {
        let lag = match client.get(ready).send().await {
            Ok(response) => response
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["ingest_lag_records"].as_u64()),
            Err(_) => None,
        };
        if lag == Some(0) && zero_before {
            return;
        }
        zero_before = lag == Some(0);
        assert!(
            Instant::now() < deadline,
            "ingest still {lag:?} records behind after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A tansu broker; stopped when dropped.
pub struct Broker {
    _dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Broker {
    pub fn start(bin: &Path) -> Broker {
        let dir = tempfile::tempdir().expect("broker dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listener = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("tansu.log")).expect("broker log");
        let child = Command::new(bin)
            .current_dir(dir.path())
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("starting tansu");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker {
            _dir: dir,
            port,
            child,
        }
    }

    /// A fresh topic's `log.uri`.
    pub fn topic_uri(&self, partitions: u32) -> String {
        format!(
            "kafka://127.0.0.1:{}/{}?partitions={partitions}&delivery_timeout_ms=3000",
            self.port,
            unique("lrs_lifecycle")
        )
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `lrs serve --services <role>` process; killed when dropped.
pub struct Role {
    pub child: Child,
    /// e.g. `http://127.0.0.1:41234/xapi`
    pub base: String,
}

impl Role {
    /// The server's root (`http://host:port`).
    pub fn root(&self) -> String {
        self.base.trim_end_matches("/xapi").to_owned()
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The three roles over one topic and one schema.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    /// `LRS__LOG__URI` and `LRS__STORAGE__URI`, as every role gets them.
    pub env: Vec<(String, String)>,
    /// The PostgreSQL URI of the deployment's schema (to read its tables directly).
    pub storage_uri: String,
    pub api: Role,
    pub ingest: Role,
    pub query: Role,
    /// A credential of `tenant` with the `all` scope.
    pub key: String,
    pub secret: String,
    pub tenant: String,
    pub client: reqwest::Client,
}

impl Deployment {
    /// Starts the roles one after the other (the first creates the topic); `api_env` is added
    /// to the api role's environment.
    pub async fn start(broker: &Broker, postgres: &str, api_env: &[(&str, &str)]) -> Deployment {
        let dir = tempfile::tempdir().expect("data dir");
        let tenant = "board-e2e".to_owned();
        let (key, secret) = create_credential(dir.path(), &tenant, "all");
        let storage_uri = super::postgres::fresh_schema(postgres, "lifecycle").await;
        let env = vec![
            ("LRS__LOG__URI".to_owned(), broker.topic_uri(2)),
            ("LRS__STORAGE__URI".to_owned(), storage_uri.clone()),
        ];
        let api = Self::spawn(dir.path(), &env, "api", api_env);
        let ingest = Self::spawn(dir.path(), &env, "ingest", &[]);
        let query = Self::spawn(dir.path(), &env, "query", &[]);
        Deployment {
            dir,
            env,
            storage_uri,
            api,
            ingest,
            query,
            key,
            secret,
            tenant,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// One more process of `role` (e.g. the api again, with other settings).
    pub fn spawn(dir: &Path, env: &[(String, String)], role: &str, extra: &[(&str, &str)]) -> Role {
        let mut all: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        let (child, base) = spawn_server_env(dir, &["--services", role], &all);
        Role { child, base }
    }

    /// A request to `role` under `/xapi` (`path` starting with `/`) or, for a path starting
    /// with `/api/`, under the root; with the deployment's credential unless `auth` is given.
    pub fn request(
        &self,
        role: &Role,
        method: reqwest::Method,
        path: &str,
        auth: Option<(&str, &str)>,
    ) -> reqwest::RequestBuilder {
        let url = if path.starts_with("/api/") {
            format!("{}{path}", role.root())
        } else {
            format!("{}{path}", role.base)
        };
        let (key, secret) = auth.unwrap_or((&self.key, &self.secret));
        self.client
            .request(method, url)
            .basic_auth(key, Some(secret))
            .header("X-Experience-API-Version", "2.0.0")
    }

    /// Waits until the query role reports no ingest lag.
    pub async fn wait_until_applied(&self, timeout: Duration) {
        let ready = format!("{}/ready", self.query.root());
        wait_for_no_lag(&self.client, &ready, timeout).await;
    }

    /// A client of the deployment's PostgreSQL schema.
    pub async fn postgres(&self) -> tokio_postgres::Client {
        let (client, driver) = tokio_postgres::connect(&self.storage_uri, tokio_postgres::NoTls)
            .await
            .expect("connecting to PostgreSQL");
        tokio::spawn(driver);
        client
    }
}
