//! The one typed configuration tree: defaults in code → `lrs.toml` → env `LRS__SECTION__KEY` → CLI.
//!
//! Loading takes the environment as a parameter, so tests never touch the process environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub log: LogConfig,
    pub query: QueryConfig,
    pub ingest: IngestSection,
    pub studylog: StudyLogSection,
    pub extract: ExtractSection,
    pub auth: AuthSection,
    pub logging: LoggingConfig,
    pub cors: CorsSection,
    pub lti: LtiSection,
    pub dashboard: DashboardSection,
    pub lifecycle: LifecycleSection,
    pub testing: TestingSection,
    pub learner_import: LearnerImportSection,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on. Port 0 picks a free port (printed at start-up).
    pub listen: String,
    /// The xAPI endpoint path.
    pub base_path: String,
    /// Requests with larger bodies get 413.
    pub max_body_bytes: usize,
    /// A request body not all received this long after its handler started reading gets 408
    /// (slow or stalled uploads do not hold memory or a connection for ever).
    pub body_read_timeout_seconds: u64,
    /// The most bytes of request bodies held in memory at once, all requests together; beyond
    /// it new bodies get 503 + Retry-After. At least `max_body_bytes`.
    pub max_body_memory_bytes: usize,
    /// The most bytes of bodies one credential's requests hold at once (bodies read before
    /// authentication, i.e. alternate-syntax forms, share one bucket); beyond it that
    /// credential's new bodies get 503 + Retry-After. 0 = no such bound; else at least
    /// `max_body_bytes`.
    pub max_body_memory_per_credential_bytes: usize,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_timeout_seconds: u64,
    /// `X-Experience-API-Version` answered to requests without a supported one: `2.0.0` or `1.0.3`.
    pub default_xapi_version: String,
    /// The roles this process runs: `api`, `ingest`, `query` (default: all three). In the
    /// environment: `LRS__SERVER__SERVICES=api,query`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub services: Vec<String>,
    /// Statement bodies are first validated on the borrowed parse (typed from the simd-json tape,
    /// stored bytes spliced from the body), falling back to the `serde_json::Value` path for
    /// anything it declines; off = the `Value` path only (docs/performance.md, issue 12).
    pub borrowed_parse: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Holds the log, the store and `credentials.json`.
    pub data_dir: PathBuf,
    /// The store: `file://` (embedded, under `data_dir/store`), `postgres://user:pw@host/db`
    /// or `scylla://host:9042,host2:9042/keyspace` (cargo features `postgres`, `scylla`).
    pub uri: String,
    /// PostgreSQL and ScyllaDB: create the tables that are missing when connecting (under a
    /// lock, so every role may start at once). `false`: only require them, waiting up to five
    /// minutes for `lrs migrate` to create them (the Helm chart runs it as a Job).
    pub apply_schema: bool,
    /// Writes (statement POST/PUT, document PUT/POST, attachments) get 503 + Retry-After while
    /// the data directory's file system has less than this many bytes free, so the log and the
    /// store never run out of space for what was acknowledged. 0 turns the check off. Only with
    /// the embedded log or store (both live in `data_dir`).
    pub min_free_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Bytes accepted but not yet durable before writes are refused with 503.
    pub max_pending_bytes: usize,
    /// Size at which a log segment file is rolled.
    pub segment_bytes: u64,
    /// Writes get 503 + Retry-After while ingest is this many log records (requests) behind.
    pub max_ingest_lag_records: u64,
    /// … or while this many bytes of acknowledged statements are not yet applied (embedded mode
    /// keeps them in memory until they are; this bounds memory under overload).
    pub max_ingest_lag_bytes: u64,
    /// The log: `file://` (embedded, under `data_dir/log`) or
    /// `kafka://host:9092,host2:9092/topic?partitions=12` (cargo feature `kafka`; docs/kafka.md).
    pub uri: String,
    /// Distributed mode: how often api and query instances read the log's end offsets and the
    /// ingest watermarks in the store.
    pub progress_poll_ms: u64,
    /// Distributed mode: the most two instances' clocks may disagree. Consistent-Through is
    /// lowered by this plus the producer's delivery timeout, so it is never untrue.
    pub max_clock_skew_ms: u64,
    /// Kafka static group membership for this ingest instance (e.g. its pod name): restarted
    /// under the same name, it takes its partitions back at once. Empty: dynamic membership.
    pub group_instance_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// The most statements one GET page returns (`limit=0` asks for this).
    pub max_page: u32,
    /// How long a GET waits for already-acknowledged writes to become visible.
    pub read_your_writes_wait_ms: u64,
}

/// The study-log views (rosters, aggregates): how statements are counted and who sees what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StudyLogSection {
    /// Make each statement's study-log fact when it is accepted (on by default). Off, the LRS
    /// writes no facts and the aggregates count nothing written meanwhile (the write benchmark
    /// measures the cost of facts this way).
    pub enabled: bool,
    /// The IANA time zone whose calendar days statements count on (decision 9).
    pub time_zone: String,
    /// Extensions holding the subject, tried in order (the object's definition first, then
    /// the context). In the environment: a comma-separated list.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub subject_extensions: Vec<String>,
    /// Extensions holding the 学習指導要領コード, tried likewise.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub curriculum_code_extensions: Vec<String>,
    /// The learning e-portals' `account.homePage`s (identity rule 1 then requires one of them;
    /// empty: any homePage).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub eportal_home_pages: Vec<String>,
    /// Cross-board rows with fewer active learners than this are suppressed.
    pub min_cell_learners: usize,
    /// Keep the people's names of roster imports (off: the LRS needs no names to aggregate).
    pub keep_person_names: bool,
    /// The largest roster zip (or alias CSV) `POST /api/v1/roster` accepts, in bytes (413
    /// beyond). The body is held in memory like any other, so the body memory bounds
    /// (`server.max_body_memory_bytes`, `…_per_credential_bytes`) cap it too.
    pub max_roster_bytes: usize,
}

impl Default for StudyLogSection {
    fn default() -> Self {
        let facts = lrs_schema::FactConfig::default();
        StudyLogSection {
            enabled: true,
            time_zone: lrs_roster::Calendar::DEFAULT_ZONE.into(),
            subject_extensions: facts.subject_extensions,
            curriculum_code_extensions: facts.curriculum_code_extensions,
            eportal_home_pages: Vec::new(),
            min_cell_learners: 10,
            keep_person_names: false,
            max_roster_bytes: 64 * 1024 * 1024,
        }
    }
}

impl StudyLogSection {
    pub fn calendar(&self) -> anyhow::Result<lrs_roster::Calendar> {
        lrs_roster::Calendar::new(&self.time_zone)
            .map_err(|e| anyhow::anyhow!("studylog.time_zone: {e}"))
    }

    pub fn facts(&self) -> lrs_schema::FactConfig {
        lrs_schema::FactConfig {
            subject_extensions: self.subject_extensions.clone(),
            curriculum_code_extensions: self.curriculum_code_extensions.clone(),
        }
    }
}

/// Research extracts over HTTP (`GET /api/v1/extracts`, prefecture principals): the projects
/// and their pseudonym keys. The key always comes from here, never from the request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractSection {
    /// `[[extract.projects]]`: `name` and `key_file` (≥ 32 random bytes). None: the endpoint
    /// answers 404.
    pub projects: Vec<ExtractProjectConfig>,
    /// Where an extract's files and zip are written while it runs (empty: the system's
    /// temporary directory).
    pub work_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtractProjectConfig {
    pub name: String,
    pub key_file: PathBuf,
}

/// Study-log lifecycle: purges (docs/lifecycle.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleSection {
    /// Retention: keep this many school years (年度, from April 1 in `studylog.time_zone`), the
    /// current one included; statements stored before go, once a day in `lrs serve` (and on
    /// demand). 0 (the default): no retention runs by itself.
    pub keep_school_years: u32,
    /// Statements per purge batch: each batch is one checkpoint of a purge job.
    pub purge_batch: usize,
    /// Hours between two scheduled retention runs (the first runs a minute after start).
    pub retention_interval_hours: u64,
}

impl Default for LifecycleSection {
    fn default() -> Self {
        LifecycleSection {
            keep_school_years: 0,
            purge_batch: 1_000,
            retention_interval_hours: 24,
        }
    }
}

/// Test hooks: settings only the tests set (never in production), each to reach a state a test
/// cannot wait for. Env: `LRS__TESTING__STORED_OFFSET_SECONDS=-63072000`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TestingSection {
    /// Seconds added to the clock `stored` is stamped from, e.g. `-63072000` for two years ago,
    /// so a test can write statements stored in an earlier school year (the retention purge's
    /// test). 0: the real clock.
    pub stored_offset_seconds: i64,
    /// A failpoint: the process aborts after this many batches of a purge job's run, to test
    /// resuming. 0: never.
    pub purge_abort_after_batches: u64,
}

/// A learner's import from another board (`POST /api/v1/learners/import`, docs/lifecycle.md §2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LearnerImportSection {
    /// The largest bundle (the export zip) accepted; it is spooled to a temporary file under
    /// `storage.data_dir/import-spool`, never held in memory. Larger: 413.
    pub max_body_bytes: u64,
    /// The context extension (an IRI) that marks every imported statement; its value names the
    /// source board (`sourceTenant`) and the source's `stored` and `authority`.
    pub source_extension: String,
}

/// The default [`LearnerImportSection::source_extension`]: a placeholder under the reserved
/// `.invalid` domain (the project owns no domain); a deployment sets an IRI of its own.
pub const DEFAULT_SOURCE_EXTENSION: &str =
    "https://example.invalid/lrs/xapi/extensions/transferred-from";

impl Default for LearnerImportSection {
    fn default() -> Self {
        LearnerImportSection {
            max_body_bytes: 1024 * 1024 * 1024,
            source_extension: DEFAULT_SOURCE_EXTENSION.into(),
        }
    }
}

/// The ingest loop (log → store).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSection {
    /// At most this many log records (requests) per store write.
    pub max_records_per_batch: usize,
    /// About this many statements per store write at most (the records polled adapt to the
    /// statements per record seen so far).
    pub max_statements_per_batch: usize,
    /// How long one poll waits for records before checking for shutdown.
    pub poll_wait_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// `authority.account.homePage` of statements this LRS stores.
    pub authority_home_page: String,
    /// JWT claim holding the tenant.
    pub tenant_claim: String,
    /// JWT claim holding the scopes.
    pub scope_claim: String,
    /// JWT claim naming the roster user (a `users.csv` sourcedId) a token is bound to for the
    /// study-log aggregates; a token without it is not bound. Empty: tokens are never bound.
    pub user_claim: String,
    /// Trusted JWT issuers.
    pub jwt: Vec<JwtIssuerConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JwtIssuerConfig {
    pub issuer: String,
    pub audience: String,
    /// RS256, ES256, or HS256 (HS256 only with `hs_secret`).
    pub algorithm: String,
    /// PEM public key file for RS256/ES256.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub hs_secret: Option<String>,
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_leeway() -> u64 {
    30
}

/// Cross-origin calls from browser-based learning tools.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSection {
    /// Origins allowed to call the xAPI endpoint from a browser (`*` = any, empty = CORS off).
    /// In the environment: a comma-separated list, e.g.
    /// `LRS__CORS__ALLOWED_ORIGINS=https://a.example.jp,https://b.example.jp`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer.
    pub max_age_seconds: u64,
}

/// The LTI 1.3 tool: the platforms (learning e-portals) that may launch the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LtiSection {
    /// `[[lti.platforms]]`, one per platform registration.
    pub platforms: Vec<LtiPlatformConfig>,
    /// Launch nonces remembered at once (each until its id_token expires); beyond, launches
    /// get 503 until some expire.
    pub max_remembered_nonces: usize,
    /// Clock skew allowed on an id_token's `exp`.
    pub leeway_seconds: u64,
}

/// One `[[lti.platforms]]` registration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LtiPlatformConfig {
    /// The id_token's `iss`.
    pub issuer: String,
    /// The tool's client id on the platform (the id_token's `aud`).
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    /// The platform's OIDC authorization endpoint.
    pub auth_url: String,
    /// The platform's JWK Set URL; or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// its RSA public keys, PEM (one or more blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_keys_pem: Option<String>,
    /// The tenant (board) whose roster and statements the launches see.
    pub tenant: String,
    /// `sub` (default) or `lis.person_sourcedid`: the roster user's sourcedId.
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// `context.id` (default) or `lis.course_section_sourcedid`: the roster class's sourcedId.
    #[serde(default = "default_class_claim")]
    pub class_claim: String,
}

fn default_user_claim() -> String {
    "sub".into()
}

fn default_class_claim() -> String {
    "context.id".into()
}

/// The dashboard's sessions and views.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSection {
    /// The key signing session and login cookies, at least 32 characters; the same on every
    /// instance behind one address. Empty: a random key per process (sessions end at restart
    /// and are valid on that instance only).
    pub session_secret: String,
    /// How long a session lasts after login or launch.
    pub session_ttl_seconds: u64,
    /// Learners without statements on this many school days (Mon–Fri) are flagged.
    pub inactive_school_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `lrs_ingest=debug,info`.
    pub level: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            base_path: "/xapi".into(),
            max_body_bytes: 16 * 1024 * 1024,
            body_read_timeout_seconds: 60,
            max_body_memory_bytes: 256 * 1024 * 1024,
            max_body_memory_per_credential_bytes: 64 * 1024 * 1024,
            workers: 0,
            shutdown_timeout_seconds: 30,
            default_xapi_version: "2.0.0".into(),
            services: vec!["api".into(), "ingest".into(), "query".into()],
            borrowed_parse: true,
        }
    }
}

/// The default disk reserve: room for the memtables ingest has yet to flush (up to ~160 MiB),
/// the log's pending bytes (64 MiB by default) and compaction, with a margin.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 512 * 1024 * 1024;

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./lrs-data"),
            uri: "file://".into(),
            apply_schema: true,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_pending_bytes: 64 * 1024 * 1024,
            segment_bytes: 256 * 1024 * 1024,
            max_ingest_lag_records: 50_000,
            max_ingest_lag_bytes: 64 * 1024 * 1024,
            uri: "file://".into(),
            progress_poll_ms: 50,
            max_clock_skew_ms: 1_000,
            group_instance_id: String::new(),
        }
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            max_page: 500,
            read_your_writes_wait_ms: 2000,
        }
    }
}

impl Default for IngestSection {
    fn default() -> Self {
        let defaults = lrs_ingest::IngestorConfig::default();
        IngestSection {
            max_records_per_batch: defaults.max_records_per_batch,
            max_statements_per_batch: defaults.max_statements_per_batch,
            poll_wait_ms: defaults.poll_wait.as_millis() as u64,
        }
    }
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            authority_home_page: String::new(),
            tenant_claim: "tenant".into(),
            scope_claim: "scope".into(),
            user_claim: "sub".into(),
            jwt: Vec::new(),
        }
    }
}

impl Default for CorsSection {
    fn default() -> Self {
        CorsSection {
            allowed_origins: vec!["*".into()],
            max_age_seconds: 86_400,
        }
    }
}

/// A TOML array of strings, or one string of comma-separated items (how environment variables
/// carry lists).
fn list_or_comma_separated<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(list) => list,
        ListOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl Default for LtiSection {
    fn default() -> Self {
        let defaults = lrs_api::dashboard::DashboardConfig::default();
        LtiSection {
            platforms: Vec::new(),
            max_remembered_nonces: defaults.max_remembered_nonces,
            leeway_seconds: defaults.leeway.as_secs(),
        }
    }
}

impl Default for DashboardSection {
    fn default() -> Self {
        let defaults = lrs_api::dashboard::DashboardConfig::default();
        DashboardSection {
            session_secret: String::new(),
            session_ttl_seconds: defaults.session_ttl.as_secs(),
            inactive_school_days: defaults.inactive_school_days,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            format: "text".into(),
            level: "info,fjall=warn,lsm_tree=warn".into(),
        }
    }
}

/// Flags given on the command line (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub services: Option<Vec<String>>,
}

const ENV_PREFIX: &str = "LRS__";

impl Config {
    /// Layers defaults, the optional file, `LRS__SECTION__KEY` variables from `env`, then flags.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        cli: &CliOverrides,
    ) -> anyhow::Result<Config> {
        let mut tree = toml::Value::try_from(Config::default())?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let layer: toml::Value = toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?;
            merge(&mut tree, layer);
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            set_path(&mut tree, &keys, env_value(value))
                .with_context(|| format!("environment variable {name}"))?;
        }
        let mut config: Config = tree.try_into().context("invalid configuration")?;
        if let Some(listen) = &cli.listen {
            config.server.listen = listen.clone();
        }
        if let Some(dir) = &cli.data_dir {
            config.storage.data_dir = dir.clone();
        }
        if let Some(services) = &cli.services {
            config.server.services = services.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.server.listen.parse::<SocketAddr>().with_context(|| {
            format!(
                "server.listen {:?} is not an address like 127.0.0.1:8080",
                self.server.listen
            )
        })?;
        if !self.server.base_path.starts_with('/') || self.server.base_path.ends_with('/') {
            bail!("server.base_path must start with '/' and not end with '/' (e.g. /xapi)");
        }
        self.validate_body_limits()?;
        if !["1.0.3", "2.0.0"].contains(&self.server.default_xapi_version.as_str()) {
            bail!("server.default_xapi_version must be `1.0.3` or `2.0.0`");
        }
        crate::roles::Roles::parse(&self.server.services)?;
        self.studylog.calendar()?;
        self.dashboard()?;
        let mut names = std::collections::HashSet::new();
        for project in &self.extract.projects {
            if project.name.is_empty() || !names.insert(project.name.as_str()) {
                bail!(
                    "extract.projects: every project needs a name of its own ({:?})",
                    project.name
                );
            }
        }
        if lrs_schema::Iri::parse(&self.learner_import.source_extension).is_err() {
            bail!(
                "learner_import.source_extension must be an absolute IRI ({:?})",
                self.learner_import.source_extension
            );
        }
        if !["text", "json"].contains(&self.logging.format.as_str()) {
            bail!("logging.format must be `text` or `json`");
        }
        Ok(())
    }

    /// The ingest loop's settings.
    /// The purge service's settings.
    pub fn purges(&self) -> lrs_ingest::purge::PurgeConfig {
        lrs_ingest::purge::PurgeConfig {
            batch: self.lifecycle.purge_batch.max(1),
            study: self.ingestor().study,
            abort_after_batches: Some(self.testing.purge_abort_after_batches).filter(|&n| n > 0),
        }
    }

    pub fn ingestor(&self) -> lrs_ingest::IngestorConfig {
        lrs_ingest::IngestorConfig {
            max_records_per_batch: self.ingest.max_records_per_batch.max(1),
            max_statements_per_batch: self.ingest.max_statements_per_batch.max(1),
            poll_wait: Duration::from_millis(self.ingest.poll_wait_ms.max(1)),
            study: lrs_ingest::StudySettings {
                calendar: self.studylog.calendar().unwrap_or_default(),
                facts: self.studylog.facts(),
            },
        }
    }

    /// One body of the largest size allowed must fit the memory bounds when nothing else is
    /// held, or it would be refused for ever.
    fn validate_body_limits(&self) -> anyhow::Result<()> {
        let server = &self.server;
        if server.body_read_timeout_seconds == 0 {
            bail!("server.body_read_timeout_seconds must be at least 1");
        }
        if server.max_body_memory_bytes < server.max_body_bytes {
            bail!(
                "server.max_body_memory_bytes ({}) must be at least server.max_body_bytes ({})",
                server.max_body_memory_bytes,
                server.max_body_bytes
            );
        }
        let per_credential = server.max_body_memory_per_credential_bytes;
        if per_credential != 0 && per_credential < server.max_body_bytes {
            bail!(
                "server.max_body_memory_per_credential_bytes ({per_credential}) must be 0 (no bound) or at least server.max_body_bytes ({})",
                server.max_body_bytes
            );
        }
        Ok(())
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.server.body_read_timeout_seconds)
    }

    pub fn read_your_writes_wait(&self) -> Duration {
        Duration::from_millis(self.query.read_your_writes_wait_ms)
    }

    /// The aggregates service's settings: `[studylog]`, and `[query]`'s read-your-writes wait.
    pub fn studylog_settings(&self) -> anyhow::Result<lrs_query::aggregates::StudyLogSettings> {
        Ok(lrs_query::aggregates::StudyLogSettings {
            calendar: self.studylog.calendar()?,
            facts: self.studylog.facts(),
            identity: lrs_roster::IdentityConfig {
                eportal_home_pages: self.studylog.eportal_home_pages.clone(),
            },
            min_cell_learners: self.studylog.min_cell_learners,
            read_your_writes_wait: self.read_your_writes_wait(),
        })
    }

    /// The dashboard's settings: `[dashboard]` and the `[[lti.platforms]]`, typed and checked.
    pub fn dashboard(&self) -> anyhow::Result<lrs_api::dashboard::DashboardConfig> {
        use lrs_api::dashboard::{ClassClaim, DashboardConfig, KeySource, LtiPlatform, UserClaim};
        let section = &self.dashboard;
        let secret = &section.session_secret;
        if !secret.is_empty() && secret.len() < 32 {
            bail!("dashboard.session_secret must be empty or at least 32 characters");
        }
        if section.session_ttl_seconds < 60 {
            bail!("dashboard.session_ttl_seconds must be at least 60");
        }
        if !(1..=200).contains(&section.inactive_school_days) {
            bail!("dashboard.inactive_school_days must be from 1 to 200");
        }
        let mut platforms = Vec::new();
        for (n, p) in self.lti.platforms.iter().enumerate() {
            let at = format!("lti.platforms[{n}] ({})", p.issuer);
            if p.issuer.is_empty() || p.client_id.is_empty() || p.deployment_ids.is_empty() {
                bail!("{at}: issuer, client_id and deployment_ids must not be empty");
            }
            if !(p.auth_url.starts_with("https://") || p.auth_url.starts_with("http://")) {
                bail!("{at}: auth_url must be an http(s) URL");
            }
            lrs_auth::validate_tenant(&p.tenant)
                .map_err(|e| anyhow::anyhow!("{at}: tenant: {e}"))?;
            let keys = match (&p.jwks_url, &p.public_keys_pem) {
                (Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {
                    KeySource::JwksUrl(url.clone())
                }
                (None, Some(pem)) => KeySource::from_pem(pem)
                    .map_err(|e| anyhow::anyhow!("{at}: public_keys_pem: {e}"))?,
                _ => {
                    bail!("{at}: give exactly one of jwks_url (an http(s) URL) and public_keys_pem")
                }
            };
            platforms.push(LtiPlatform {
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
                deployment_ids: p.deployment_ids.clone(),
                auth_url: p.auth_url.clone(),
                keys,
                tenant: p.tenant.clone(),
                user_claim: UserClaim::parse(&p.user_claim).with_context(|| {
                    format!("{at}: user_claim must be `sub` or `lis.person_sourcedid`")
                })?,
                class_claim: ClassClaim::parse(&p.class_claim).with_context(|| {
                    format!(
                        "{at}: class_claim must be `context.id` or `lis.course_section_sourcedid`"
                    )
                })?,
            });
        }
        Ok(DashboardConfig {
            platforms,
            session_secret: (!secret.is_empty()).then(|| secret.as_bytes().to_vec()),
            session_ttl: Duration::from_secs(section.session_ttl_seconds),
            inactive_school_days: section.inactive_school_days,
            max_remembered_nonces: self.lti.max_remembered_nonces.max(1),
            leeway: Duration::from_secs(self.lti.leeway_seconds),
        })
    }

    /// The largest roster body accepted: `studylog.max_roster_bytes`, but never more than the
    /// body memory bounds would ever let in.
    pub fn roster_body_limit(&self) -> usize {
        let server = &self.server;
        let mut limit = self
            .studylog
            .max_roster_bytes
            .min(server.max_body_memory_bytes);
        if server.max_body_memory_per_credential_bytes != 0 {
            limit = limit.min(server.max_body_memory_per_credential_bytes);
        }
        limit
    }
}

/// Environment values are typed by their look: integers, booleans, else strings.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(b) = raw.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(raw.to_owned())
    }
}

fn merge(base: &mut toml::Value, layer: toml::Value) {
    match (base, layer) {
        (toml::Value::Table(base), toml::Value::Table(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

fn set_path(tree: &mut toml::Value, keys: &[String], value: toml::Value) -> anyhow::Result<()> {
    let (last, parents) = keys.split_last().context("empty key")?;
    let mut node = tree;
    for key in parents {
        node = node
            .as_table_mut()
            .context("not a section")?
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    node.as_table_mut()
        .context("not a section")?
        .insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_for_a_laptop() {
        let config = Config::load(None, &BTreeMap::new(), &CliOverrides::default()).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.storage.data_dir, PathBuf::from("./lrs-data"));
        assert_eq!(config.server.base_path, "/xapi");
    }

    #[test]
    fn the_test_hooks_are_off_by_default_and_set_from_the_environment() {
        let config = Config::load(None, &BTreeMap::new(), &CliOverrides::default()).unwrap();
        assert_eq!(config.testing, TestingSection::default());
        assert_eq!(config.purges().abort_after_batches, None);
        let env = BTreeMap::from([
            (
                "LRS__TESTING__STORED_OFFSET_SECONDS".to_owned(),
                "-63072000".to_owned(),
            ),
            (
                "LRS__TESTING__PURGE_ABORT_AFTER_BATCHES".to_owned(),
                "2".to_owned(),
            ),
        ]);
        let config = Config::load(None, &env, &CliOverrides::default()).unwrap();
        assert_eq!(config.testing.stored_offset_seconds, -63_072_000);
        assert_eq!(config.purges().abort_after_batches, Some(2));
    }

    #[test]
    fn file_then_env_then_flags_take_precedence_in_that_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lrs.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:9000\"\nmax_body_bytes = 1000\n[query]\nmax_page = 50\n",
        )
        .unwrap();
        let env = BTreeMap::from([
            ("LRS__QUERY__MAX_PAGE".to_owned(), "70".to_owned()),
            (
                "LRS__SERVER__LISTEN".to_owned(),
                "127.0.0.1:9100".to_owned(),
            ),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ]);
        let cli = CliOverrides {
            listen: Some("127.0.0.1:9200".into()),
            data_dir: None,
            services: None,
        };
        let config = Config::load(Some(&file), &env, &cli).unwrap();
        assert_eq!(config.server.max_body_bytes, 1000);
        assert_eq!(config.query.max_page, 70);
        assert_eq!(config.server.listen, "127.0.0.1:9200");
    }

    #[test]
    fn cors_origins_come_from_a_toml_list_or_a_comma_separated_variable() {
        let defaults = Config::load(None, &BTreeMap::new(), &CliOverrides::default()).unwrap();
        assert_eq!(defaults.cors.allowed_origins, ["*"]);
        let env = BTreeMap::from([(
            "LRS__CORS__ALLOWED_ORIGINS".to_owned(),
            "https://a.example.jp, https://b.example.jp".to_owned(),
        )]);
        let config = Config::load(None, &env, &CliOverrides::default()).unwrap();
        assert_eq!(
            config.cors.allowed_origins,
            ["https://a.example.jp", "https://b.example.jp"]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lrs.toml");
        std::fs::write(&file, "[cors]\nallowed_origins = []\n").unwrap();
        let config = Config::load(Some(&file), &BTreeMap::new(), &CliOverrides::default()).unwrap();
        assert!(config.cors.allowed_origins.is_empty());
    }

    #[test]
    fn extract_projects_come_from_the_file_and_two_of_one_name_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lrs.toml");
        let project = |name: &str| {
            format!("[[extract.projects]]\nname = \"{name}\"\nkey_file = \"/k/{name}\"\n")
        };
        std::fs::write(&file, project("a") + &project("b")).unwrap();
        let config = Config::load(Some(&file), &BTreeMap::new(), &CliOverrides::default()).unwrap();
        let names: Vec<&str> = config
            .extract
            .projects
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(config.extract.projects[1].key_file, PathBuf::from("/k/b"));
        std::fs::write(&file, project("a") + &project("a")).unwrap();
        let err =
            Config::load(Some(&file), &BTreeMap::new(), &CliOverrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("extract.projects"), "{err:#}");
    }

    #[test]
    fn the_import_settings_come_from_the_environment_and_the_marker_must_be_an_iri() {
        let load = |pairs: &[(&str, &str)]| {
            let env = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Config::load(None, &env, &CliOverrides::default())
        };
        let defaults = load(&[]).unwrap();
        assert_eq!(defaults.learner_import.max_body_bytes, 1 << 30);
        assert_eq!(
            defaults.learner_import.source_extension,
            DEFAULT_SOURCE_EXTENSION
        );
        let set = load(&[
            ("LRS__LEARNER_IMPORT__MAX_BODY_BYTES", "2048"),
            (
                "LRS__LEARNER_IMPORT__SOURCE_EXTENSION",
                "https://lrs.pref.example.jp/xapi/transferred-from",
            ),
        ])
        .unwrap();
        assert_eq!(set.learner_import.max_body_bytes, 2048);
        assert_eq!(
            set.learner_import.source_extension,
            "https://lrs.pref.example.jp/xapi/transferred-from"
        );
        let err =
            load(&[("LRS__LEARNER_IMPORT__SOURCE_EXTENSION", "transferred-from")]).unwrap_err();
        assert!(format!("{err:#}").contains("source_extension"), "{err:#}");
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let env = BTreeMap::from([("LRS__SERVER__LISTEN_ADDR".to_owned(), "x".to_owned())]);
        let err = Config::load(None, &env, &CliOverrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("listen_addr"), "{err:#}");
    }

    #[test]
    fn body_memory_bounds_must_hold_one_body_of_the_largest_size() {
        let load = |pairs: &[(&str, &str)]| {
            let env = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Config::load(None, &env, &CliOverrides::default())
        };
        let defaults = load(&[]).unwrap();
        assert_eq!(defaults.server.body_read_timeout_seconds, 60);
        assert_eq!(defaults.server.max_body_memory_bytes, 256 << 20);
        assert_eq!(
            defaults.server.max_body_memory_per_credential_bytes,
            64 << 20
        );
        for bad in [
            [("LRS__SERVER__MAX_BODY_MEMORY_BYTES", "1000000")],
            [(
                "LRS__SERVER__MAX_BODY_MEMORY_PER_CREDENTIAL_BYTES",
                "1000000",
            )],
            [("LRS__SERVER__BODY_READ_TIMEOUT_SECONDS", "0")],
        ] {
            assert!(load(&bad).is_err(), "{bad:?}");
        }
        let off = load(&[("LRS__SERVER__MAX_BODY_MEMORY_PER_CREDENTIAL_BYTES", "0")]).unwrap();
        assert_eq!(off.server.max_body_memory_per_credential_bytes, 0);
    }

    #[test]
    fn the_roster_body_limit_is_capped_by_the_body_memory_bounds() {
        let load = |pairs: &[(&str, &str)]| {
            let env = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Config::load(None, &env, &CliOverrides::default()).unwrap()
        };
        assert_eq!(load(&[]).roster_body_limit(), 64 << 20);
        let bigger = load(&[("LRS__STUDYLOG__MAX_ROSTER_BYTES", "1073741824")]);
        assert_eq!(bigger.roster_body_limit(), 64 << 20);
        let unbounded_per_credential = load(&[
            ("LRS__STUDYLOG__MAX_ROSTER_BYTES", "1073741824"),
            ("LRS__SERVER__MAX_BODY_MEMORY_PER_CREDENTIAL_BYTES", "0"),
        ]);
        assert_eq!(unbounded_per_credential.roster_body_limit(), 256 << 20);
        let smaller = load(&[("LRS__STUDYLOG__MAX_ROSTER_BYTES", "1000")]);
        assert_eq!(smaller.roster_body_limit(), 1000);
    }

    #[test]
    fn lti_platforms_are_typed_and_a_bad_registration_is_an_error_naming_it() {
        let pem = include_str!("../tests/fixtures/lti/platform-public.pem");
        let platform = |extra: &str| {
            format!(
                "[[lti.platforms]]\nissuer = \"https://eportal.example.jp\"\nclient_id = \"c1\"\n\
                 deployment_ids = [\"d1\"]\nauth_url = \"https://eportal.example.jp/auth\"\n\
                 tenant = \"board-a\"\n{extra}"
            )
        };
        let load = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("lrs.toml");
            std::fs::write(&file, text).unwrap();
            Config::load(Some(&file), &BTreeMap::new(), &CliOverrides::default())
        };
        let config = load(&platform(&format!(
            "public_keys_pem = \"\"\"\n{pem}\"\"\"\nuser_claim = \"lis.person_sourcedid\"\n"
        )))
        .unwrap();
        let dashboard = config.dashboard().unwrap();
        let typed = &dashboard.platforms[0];
        assert_eq!(typed.tenant, "board-a");
        assert_eq!(
            typed.user_claim,
            lrs_api::dashboard::UserClaim::LisPersonSourcedId
        );
        assert_eq!(typed.class_claim, lrs_api::dashboard::ClassClaim::ContextId);
        assert_eq!(dashboard.inactive_school_days, 5);
        assert!(dashboard.session_secret.is_none());
        for (bad, named) in [
            (platform(""), "jwks_url"),
            (
                platform(&format!(
                    "jwks_url = \"https://x.example/jwks\"\npublic_keys_pem = \"\"\"\n{pem}\"\"\"\n"
                )),
                "jwks_url",
            ),
            (
                platform("public_keys_pem = \"not a key\"\n"),
                "public_keys_pem",
            ),
            (
                platform("jwks_url = \"https://x.example/jwks\"\nuser_claim = \"email\"\n"),
                "user_claim",
            ),
            (
                "[dashboard]\nsession_secret = \"too short\"\n".to_owned(),
                "session_secret",
            ),
        ] {
            let err = load(&bad).unwrap_err();
            assert!(format!("{err:#}").contains(named), "{named}: {err:#}");
        }
    }

    #[test]
    fn a_bad_listen_address_is_rejected() {
        let cli = CliOverrides {
            listen: Some("localhost".into()),
            data_dir: None,
            services: None,
        };
        assert!(Config::load(None, &BTreeMap::new(), &cli).is_err());
    }
}
