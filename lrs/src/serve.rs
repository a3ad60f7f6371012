//! `lrs serve`: the roles of `server.services` (default: all of them, in one process on the
//! embedded backends) on the log and store their URIs name.
//!
//! Start-up: open the log and the store, resume ingest from the store's watermark, start the HTTP
//! server (the xAPI surface for api/query; only `/health` and `/ready` for ingest alone).
//! Shutdown (SIGINT/SIGTERM): stop accepting, let in-flight requests finish (their appends become
//! durable), drain ingest until the log is fully applied, then close the log. If ingest fails,
//! the process shuts down the same way and exits non-zero (so an orchestrator restarts it).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use lrs_api::metrics::MetricSources;
use lrs_api::{
    ApiConfig, AppState, CorsConfig, LagLimits, Metrics, Readiness, RosterImporter, Stores,
    WriteSequencer, configure, configure_probes, not_found, security_headers,
};
use lrs_auth::{AuthConfig, Authenticator, JwtAlgorithm, JwtIssuer};
#[cfg(feature = "kafka")]
use lrs_ingest::purge::RetainedLog;
use lrs_ingest::purge::{PurgeLog, PurgeService, Requester};
use lrs_ingest::{IngestListener, Ingestor};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_progress::{Progress, ReadVisibility, WriteProgress};
use lrs_query::aggregates::AggregateService;
use lrs_query::{QueryConfig, StatementQueryService};
use lrs_store::{
    ActivityStore, AttachmentStore, DocumentStore, EmbeddedStore, NonceStore, PurgeStore,
    QuarantineStore, RosterStore, SchemaMode, StatementReader, StatementWriter, StoreError,
    StoreErrorKind, StoreTimings, StudyLogStore,
};
use tokio::sync::watch;

use crate::config::Config;
use crate::roles::{LogUri, Role, Roles, StoreUri, check_deployment};

/// The consumer group ingest uses in the log.
const INGEST_GROUP: &str = "ingest";

/// Runs the server. Once logging is set up, a failure is logged (in `logging.format`, so a JSON
/// log stays one object per line) and answered with a failing exit code rather than returned.
pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    init_tracing(&config)?;
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(serve(config)));
    match served {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "stopped");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn init_tracing(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.logging.level)
        .with_context(|| format!("logging.level {:?}", config.logging.level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.logging.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let roles = Roles::parse(&config.server.services)?;
    let log_uri = LogUri::parse(&config.log.uri)?;
    let store_uri = StoreUri::parse(&config.storage.uri)?;
    check_deployment(roles, &log_uri, &store_uri)?;
    let data_dir = config.storage.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;

    let log = OpenedLog::open(&config, &log_uri).await?;
    match store_uri {
        StoreUri::Embedded => {
            let store =
                EmbeddedStore::open(&data_dir.join("store")).context("opening the store")?;
            run_roles(config, roles, log, Arc::new(store), None).await
        }
        #[cfg(feature = "postgres")]
        StoreUri::Postgres(url) => {
            let store = connect_with_schema(&config, |mode| {
                lrs_store::PostgresStore::connect_with_schema(&url, mode)
            })
            .await
            .context("connecting to the PostgreSQL store")?;
            let nonces: Arc<dyn NonceStore> = Arc::new(store.clone());
            run_roles(config, roles, log, Arc::new(store), Some(nonces)).await
        }
        #[cfg(not(feature = "postgres"))]
        StoreUri::Postgres(_) => anyhow::bail!(
            "storage.uri names PostgreSQL, but this build has no PostgreSQL store; build with \
             `--features postgres` (or `distributed`)"
        ),
        #[cfg(feature = "scylla")]
        StoreUri::Scylla(uri) => {
            let store = connect_with_schema(&config, |mode| {
                lrs_store::ScyllaStore::connect_uri(&uri, mode)
            })
            .await
            .context("connecting to the ScyllaDB store")?;
            let nonces: Arc<dyn NonceStore> = Arc::new(store.clone());
            run_roles(config, roles, log, Arc::new(store), Some(nonces)).await
        }
        #[cfg(not(feature = "scylla"))]
        StoreUri::Scylla(_) => anyhow::bail!(
            "storage.uri names ScyllaDB, but this build has no ScyllaDB store; build with \
             `--features scylla` (or `distributed`)"
        ),
    }
}

/// How long a role started with `storage.apply_schema = false` waits for `lrs migrate` to create
/// the schema, and how often it looks.
const SCHEMA_WAIT: Duration = Duration::from_secs(300);
const SCHEMA_RETRY: Duration = Duration::from_secs(2);

/// Connects to a remote store: applying the schema (`storage.apply_schema`, the default), or
/// requiring it and waiting up to [`SCHEMA_WAIT`] while it (or the database) is not there yet.
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
async fn connect_with_schema<S, F, Fut>(config: &Config, connect: F) -> anyhow::Result<S>
where
    F: Fn(SchemaMode) -> Fut,
    Fut: std::future::Future<Output = Result<S, StoreError>>,
{
    if config.storage.apply_schema {
        return Ok(connect(SchemaMode::Apply).await?);
    }
    let deadline = std::time::Instant::now() + SCHEMA_WAIT;
    let mut attempts = 0u32;
    loop {
        match connect(SchemaMode::Require).await {
            Ok(store) => return Ok(store),
            Err(err)
                if err.kind() == StoreErrorKind::Unavailable
                    && std::time::Instant::now() < deadline =>
            {
                attempts += 1;
                if attempts == 1 || attempts.is_multiple_of(15) {
                    tracing::warn!(error = %err, "waiting for the store and its schema (`lrs migrate`)");
                }
                tokio::time::sleep(SCHEMA_RETRY).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Every store trait the roles use.
pub trait Store:
    StatementWriter
    + StatementReader
    + DocumentStore
    + AttachmentStore
    + ActivityStore
    + QuarantineStore
    + StudyLogStore
    + RosterStore
    + PurgeStore
{
}

impl<S> Store for S where
    S: StatementWriter
        + StatementReader
        + DocumentStore
        + AttachmentStore
        + ActivityStore
        + QuarantineStore
        + StudyLogStore
        + RosterStore
        + PurgeStore
{
}

/// The configured log as a purge run outside `lrs serve` uses it (`lrs admin purge run`).
pub(crate) async fn purge_log(config: &Config) -> anyhow::Result<Arc<dyn PurgeLog>> {
    let uri = LogUri::parse(&config.log.uri)?;
    Ok(OpenedLog::open(config, &uri).await?.for_purges())
}

/// The opened log, kept concrete for shutdown.
enum OpenedLog {
    Embedded(Arc<EmbeddedLog>),
    #[cfg(feature = "kafka")]
    Kafka(Arc<lrs_log::KafkaLog>, Duration),
}

impl OpenedLog {
    async fn open(config: &Config, uri: &LogUri) -> anyhow::Result<OpenedLog> {
        match uri {
            LogUri::Embedded => {
                let mut log_config = EmbeddedLogConfig::new(config.storage.data_dir.join("log"));
                log_config.max_pending_bytes = config.log.max_pending_bytes;
                log_config.segment_bytes = config.log.segment_bytes;
                let log = EmbeddedLog::open(log_config).context("opening the log")?;
                Ok(OpenedLog::Embedded(Arc::new(log)))
            }
            #[cfg(feature = "kafka")]
            LogUri::Kafka(uri) => {
                let mut kafka = lrs_log::KafkaLogConfig::from_uri(uri)?;
                if !config.log.group_instance_id.is_empty() {
                    kafka.group_instance_id = Some(config.log.group_instance_id.clone());
                }
                let delivery_timeout = kafka.delivery_timeout;
                let log = lrs_log::KafkaLog::open(kafka)
                    .await
                    .context("opening the Kafka log")?;
                Ok(OpenedLog::Kafka(Arc::new(log), delivery_timeout))
            }
            #[cfg(not(feature = "kafka"))]
            LogUri::Kafka(_) => anyhow::bail!(
                "log.uri names Kafka, but this build has no Kafka log; build with \
                 `--features kafka` (or `distributed`)"
            ),
        }
    }

    /// What a purge does to this log: the embedded log drops consumed segments; a Kafka topic
    /// keeps records for its retention time.
    fn for_purges(&self) -> Arc<dyn PurgeLog> {
        match self {
            OpenedLog::Embedded(log) => Arc::new(EmbeddedLog::clone(log)),
            #[cfg(feature = "kafka")]
            OpenedLog::Kafka(log, _) => Arc::new(RetainedLog(log.clone())),
        }
    }

    fn as_dyn(&self) -> Arc<dyn Log> {
        match self {
            OpenedLog::Embedded(log) => log.clone(),
            #[cfg(feature = "kafka")]
            OpenedLog::Kafka(log, _) => log.clone(),
        }
    }

    /// Local: an ingestor in this process tells the pipeline; else the pipeline polls. With
    /// Kafka, Consistent-Through is lowered by the delivery timeout plus the clock-skew allowance.
    #[cfg_attr(not(feature = "kafka"), allow(unused_variables))]
    fn progress(&self, config: &Config) -> Progress {
        match self {
            OpenedLog::Embedded(_) => Progress::Local,
            #[cfg(feature = "kafka")]
            OpenedLog::Kafka(_, delivery_timeout) => Progress::Polled {
                interval: Duration::from_millis(config.log.progress_poll_ms.max(1)),
                margin: *delivery_timeout + Duration::from_millis(config.log.max_clock_skew_ms),
            },
        }
    }

    fn close(&self) {
        match self {
            OpenedLog::Embedded(log) => log.close(),
            #[cfg(feature = "kafka")]
            OpenedLog::Kafka(log, _) => {
                if let Err(err) = log.flush(Duration::from_secs(10)) {
                    tracing::warn!(error = %err, "flushing the Kafka producer at shutdown");
                }
            }
        }
    }
}

async fn run_roles<S: Store>(
    config: Config,
    roles: Roles,
    log: OpenedLog,
    store: Arc<S>,
    // The launch nonces every instance shares (networked stores); see lrs_store::NonceStore.
    nonces: Option<Arc<dyn NonceStore>>,
) -> anyhow::Result<()> {
    let dyn_log = log.as_dyn();
    let progress = log.progress(&config);
    let marks = store.watermarks().await.context("reading watermarks")?;
    let next_offset = marks.iter().map(|m| m.next_offset).sum();
    let stored = marks.iter().map(|m| m.stored).max().unwrap_or(0);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let timings = StoreTimings::new(&[]);

    // The write path (api role) publishes its stamps to the read side through a watch.
    let (writes_tx, writes_rx) = WriteSequencer::channel(stored);
    let serves_xapi = roles.serves_xapi();
    let visibility = serves_xapi.then(|| {
        let writes = if roles.has(Role::Api) {
            writes_rx
        } else {
            WriteProgress::none()
        };
        let visibility = ReadVisibility::new(
            dyn_log.clone(),
            store.clone(),
            next_offset,
            stored,
            progress,
            writes,
        );
        tokio::spawn(visibility.clone().poll(shutdown_rx.clone()));
        visibility
    });
    let sequencer = match (&visibility, roles.has(Role::Api)) {
        (Some(visibility), true) => Some(WriteSequencer::new(
            dyn_log.producer(),
            store.clone(),
            visibility.clone(),
            writes_tx,
            LagLimits {
                records: config.log.max_ingest_lag_records,
                bytes: config.log.max_ingest_lag_bytes,
            },
        )),
        _ => None,
    };
    if let Some(sequencer) = &sequencer {
        sequencer.set_stored_offset_seconds(config.testing.stored_offset_seconds);
    }

    let mut ingest = None;
    let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = Vec::new();
    if roles.has(Role::Ingest) {
        let consumer = dyn_log
            .consumer(INGEST_GROUP)
            .context("joining the ingest group")?;
        let mut ingestor =
            Ingestor::new(store.clone(), consumer, config.ingestor()).with_timings(timings.clone());
        // One process on the embedded log: the read side and the write path hear of every batch.
        if progress == Progress::Local {
            for listener in [
                visibility.clone().map(|v| v as Arc<dyn IngestListener>),
                sequencer.clone().map(|s| s as Arc<dyn IngestListener>),
            ]
            .into_iter()
            .flatten()
            {
                ingestor = ingestor.with_listener(listener);
            }
        }
        collectors.push(Box::new(ingestor.stats().collector()));
        ingest = Some(tokio::spawn(ingestor.run(shutdown_rx.clone())));
    }

    let ready = Arc::new(AtomicBool::new(false));
    let metrics = Metrics::new(MetricSources {
        sequencer: sequencer.clone(),
        visibility: visibility.clone(),
        store: Some(timings),
        collectors,
    });
    let readiness = web::Data::new(Readiness {
        ready: ready.clone(),
        visibility: visibility.clone(),
        store: Some(store.clone() as Arc<dyn StatementReader>),
    });
    // Purges run where writes are taken (the api role): resumed at start, retention on schedule.
    let purges = if roles.has(Role::Api) {
        // A learner purge resolves the learner as their export does.
        let learners = lrs_api::RosterLearners(lrs_query::lifecycle::LearnerSources {
            statements: store.clone(),
            documents: store.clone(),
            attachments: store.clone(),
            study: store.clone(),
            rosters: store.clone(),
            identity: config.studylog_settings()?.identity,
        });
        let service = PurgeService::with_learners(
            store.clone(),
            log.for_purges(),
            Some(Arc::new(learners)),
            config.purges(),
        );
        let resumed = service.resume().await.context("resuming purges")?;
        if resumed > 0 {
            tracing::info!(resumed, "unfinished purges resumed");
        }
        if config.lifecycle.keep_school_years > 0 {
            tokio::spawn(schedule_retention(
                service.clone(),
                store.clone(),
                config.clone(),
                shutdown_rx.clone(),
            ));
        }
        Some(service)
    } else {
        None
    };
    let (handle, server_task) = match visibility {
        Some(visibility) => start_xapi_server(
            &config,
            sequencer,
            visibility,
            store,
            readiness,
            metrics,
            Extras { purges, nonces },
        )?,
        None => start_probe_server(&config, readiness, metrics)?,
    };
    ready.store(true, Ordering::Relaxed);
    tracing::info!(
        data_dir = %config.storage.data_dir.display(),
        roles = %roles.names(),
        log = %config.log.uri,
        store = %redact(&config.storage.uri),
        "lrs ready"
    );

    let failure = tokio::select! {
        _ = wait_for_signal() => None,
        ended = async {
            match ingest.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        } => {
            ingest = None;
            Some(match ended {
                Ok(Ok(())) => anyhow::anyhow!("ingest stopped unexpectedly"),
                Ok(Err(err)) => anyhow::anyhow!("ingest failed: {err}"),
                Err(err) => anyhow::anyhow!("ingest task failed: {err}"),
            })
        }
    };
    tracing::info!("shutting down: finishing in-flight requests");
    ready.store(false, Ordering::Relaxed);
    handle.stop(true).await;
    let _ = server_task.await;
    let _ = shutdown_tx.send(true);
    if let Some(ingest) = ingest {
        tracing::info!("draining ingest");
        match tokio::time::timeout(Duration::from_secs(60), ingest).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => tracing::error!(error = %err, "ingest stopped with an error"),
            Ok(Err(err)) => tracing::error!(error = %err, "ingest task failed"),
            Err(_) => {
                tracing::warn!("ingest did not drain in 60 s; the rest is applied at next start")
            }
        }
    }
    log.close();
    match failure {
        Some(err) => Err(err),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

type ServerTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// Applies the server settings to an `HttpServer`, binds it, prints the address and starts it.
/// (A macro: the xAPI app and the probe app are different types.)
macro_rules! bind_and_run {
    ($config:expr, $server:expr) => {{
        let config: &Config = $config;
        let mut server = $server
            .disable_signals()
            .shutdown_timeout(config.server.shutdown_timeout_seconds);
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        let server = server
            .bind(&config.server.listen)
            .with_context(|| format!("listening on {}", config.server.listen))?;
        for addr in server.addrs() {
            // Scripts and tests read this line to find the port when listening on port 0.
            println!("lrs listening on http://{addr}{}", config.server.base_path);
        }
        let server = server.run();
        let handle = server.handle();
        Ok((handle, tokio::spawn(server)))
    }};
}

/// The xAPI surface (api role; read-only for the query role alone) plus the probes.
/// What the xAPI server serves besides the store: the purge jobs (api role) and the launch
/// nonces shared by every instance (networked stores).
struct Extras {
    purges: Option<Arc<PurgeService>>,
    nonces: Option<Arc<dyn NonceStore>>,
}

fn start_xapi_server<S: Store>(
    config: &Config,
    sequencer: Option<Arc<WriteSequencer>>,
    visibility: Arc<ReadVisibility>,
    store: Arc<S>,
    readiness: web::Data<Readiness>,
    metrics: Arc<Metrics>,
    Extras { purges, nonces }: Extras,
) -> anyhow::Result<(ServerHandle, ServerTask)> {
    let authenticator = Arc::new(Authenticator::new(
        &config.storage.data_dir,
        auth_config(config)?,
    )?);
    lrs_api::set_borrowed_parse(config.server.borrowed_parse);
    let api_config = ApiConfig {
        base_path: config.server.base_path.clone(),
        max_body_bytes: config.server.max_body_bytes,
        body_read_timeout: config.body_read_timeout(),
        max_body_memory_bytes: config.server.max_body_memory_bytes,
        max_body_memory_per_credential_bytes: config.server.max_body_memory_per_credential_bytes,
        default_version: lrs_schema::XapiVersion::from_header(&config.server.default_xapi_version)
            .context("server.default_xapi_version")?,
        cors: CorsConfig {
            allowed_origins: config.cors.allowed_origins.clone(),
            max_age_seconds: config.cors.max_age_seconds,
        },
        facts: lrs_api::StudyFacts {
            enabled: config.studylog.enabled,
            calendar: config.studylog.calendar()?,
            config: config.studylog.facts(),
        },
    };
    let quarantine: Arc<dyn QuarantineStore> = store.clone();
    let aggregates = Arc::new(AggregateService::new(
        store.clone(),
        store.clone(),
        visibility.clone(),
        config.studylog_settings()?,
    ));
    let rosters = RosterImporter::new(
        aggregates.clone(),
        store.clone(),
        lrs_roster::ParseOptions {
            keep_person_names: config.studylog.keep_person_names,
            ..lrs_roster::ParseOptions::default()
        },
        config.roster_body_limit(),
    );
    let extracts = research_extracts(config, &store)?;
    let settings = config.studylog_settings()?;
    let learner_exports = lrs_api::LearnerExports::new(
        lrs_query::lifecycle::LearnerSources {
            statements: store.clone(),
            documents: store.clone(),
            attachments: store.clone(),
            study: store.clone(),
            rosters: store.clone(),
            identity: settings.identity,
        },
        settings.calendar,
    );
    let rosters = Arc::new(rosters);
    let learner_imports = lrs_api::LearnerImports::new(
        learner_exports.sources().clone(),
        rosters.clone(),
        api_config.facts.clone(),
        settings.calendar,
        lrs_api::ImportConfig {
            max_body_bytes: config.learner_import.max_body_bytes,
            spool_dir: config.storage.data_dir.join("import-spool"),
            marker: config.learner_import.source_extension.clone(),
        },
    );
    let stores = Stores::all(store);
    let queries = StatementQueryService::new(
        stores.statements.clone(),
        stores.activities.clone(),
        stores.attachments.clone(),
        visibility,
        QueryConfig {
            max_page: config.query.max_page,
            read_your_writes_wait: config.read_your_writes_wait(),
            statements_path: format!("{}/statements", config.server.base_path),
        },
    );
    let mut state = AppState::new(
        api_config,
        authenticator,
        sequencer,
        queries,
        stores,
        metrics.clone(),
    );
    metrics.watch_request_bodies(state.bodies.clone());
    state.quarantine = Some(quarantine);
    state.disk = disk_reserve(config)?;
    state.aggregates = Some(aggregates);
    state.rosters = Some(rosters);
    state.dashboard = Some(Arc::new(lrs_api::dashboard::Dashboard::new(
        config.dashboard()?,
        nonces,
    )));
    state.extracts = extracts;
    state.purges = match purges {
        Some(service) => Some(Arc::new(lrs_api::Purges {
            service,
            calendar: config.studylog.calendar()?,
            keep_school_years: config.lifecycle.keep_school_years,
        })),
        None => None,
    };
    state.learner_exports = Some(Arc::new(learner_exports));
    state.learner_imports = Some(Arc::new(learner_imports));
    let metrics = web::Data::new(metrics);
    let state = web::Data::new(state);
    let base_path = config.server.base_path.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(security_headers))
            .wrap(from_fn(lrs_api::metrics::track))
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .configure(|cfg| configure(cfg, &base_path))
    });
    bind_and_run!(config, server)
}

/// Starts a retention purge of every tenant a minute after start, then every
/// `lifecycle.retention_interval_hours` (a tenant whose last retention purge is unfinished is
/// skipped: it resumes).
async fn schedule_retention<S: Store>(
    service: Arc<PurgeService>,
    store: Arc<S>,
    config: Config,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = Duration::from_secs(config.lifecycle.retention_interval_hours.max(1) * 3_600);
    let mut pause = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        pause = interval;
        let calendar = match config.studylog.calendar() {
            Ok(calendar) => calendar,
            Err(err) => {
                tracing::error!(error = %err, "retention: studylog.time_zone");
                continue;
            }
        };
        let tenants = match store.study_tenants().await {
            Ok(tenants) => tenants,
            Err(err) => {
                tracing::warn!(error = %err, "retention: listing tenants failed; retrying later");
                continue;
            }
        };
        let running: Vec<String> = match service.jobs().await {
            Ok(jobs) => jobs
                .into_iter()
                .filter(|j| j.state != "complete")
                .map(|j| j.tenant)
                .collect(),
            Err(_) => Vec::new(),
        };
        for tenant in tenants.iter().filter(|t| !running.contains(t)) {
            let scope = match PurgeService::retention_scope(
                &calendar,
                config.lifecycle.keep_school_years,
                lrs_store::now_micros(),
            ) {
                Ok(scope) => scope,
                Err(_) => return,
            };
            let requester = Requester {
                role: "scheduler".into(),
                credential: None,
            };
            if let Err(err) = service.start(tenant, scope, requester).await {
                tracing::warn!(tenant, error = %err, "retention: starting a purge failed");
            }
        }
    }
}

/// The research-extract service, when `[[extract.projects]]` names any (their key files are
/// read now: a server never starts with a project it cannot serve).
fn research_extracts<S: Store>(
    config: &Config,
    store: &Arc<S>,
) -> anyhow::Result<Option<Arc<lrs_api::ResearchExtracts>>> {
    let section = &config.extract;
    if section.projects.is_empty() {
        return Ok(None);
    }
    let settings = config.studylog_settings()?;
    let sources = lrs_query::extract::ExtractSources {
        statements: store.clone(),
        study: store.clone(),
        rosters: store.clone(),
        calendar: settings.calendar,
        identity: settings.identity,
    };
    let projects = section
        .projects
        .iter()
        .map(|p| (p.name.clone(), p.key_file.clone()))
        .collect();
    let work_dir = (!section.work_dir.as_os_str().is_empty()).then(|| section.work_dir.clone());
    let extracts = lrs_api::ResearchExtracts::new(sources, projects, work_dir)?;
    Ok(Some(Arc::new(extracts)))
}

/// The data directory's free-space reserve, when the embedded log or store lives there and
/// `storage.min_free_bytes` is not 0.
fn disk_reserve(config: &Config) -> anyhow::Result<Option<Arc<lrs_api::DiskReserve>>> {
    let embedded = LogUri::parse(&config.log.uri)? == LogUri::Embedded
        || StoreUri::parse(&config.storage.uri)? == StoreUri::Embedded;
    Ok((embedded && config.storage.min_free_bytes > 0).then(|| {
        Arc::new(lrs_api::DiskReserve::new(
            &config.storage.data_dir,
            config.storage.min_free_bytes,
        ))
    }))
}

/// The ingest role alone serves only the probes: `/health`, `/ready` and `/metrics`.
fn start_probe_server(
    config: &Config,
    readiness: web::Data<Readiness>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(ServerHandle, ServerTask)> {
    let metrics = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(security_headers))
            .wrap(from_fn(lrs_api::metrics::track))
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .configure(configure_probes)
            .default_service(web::to(not_found))
    });
    bind_and_run!(config, server)
}

/// A backend URI without its password, for logs.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &uri[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &uri[..scheme], &uri[at + 1..])
        }
        _ => uri.to_owned(),
    }
}

fn auth_config(config: &Config) -> anyhow::Result<AuthConfig> {
    let home_page = if config.auth.authority_home_page.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.auth.authority_home_page.clone()
    };
    let mut auth = AuthConfig::new(home_page);
    auth.tenant_claim = config.auth.tenant_claim.clone();
    auth.scope_claim = config.auth.scope_claim.clone();
    auth.user_claim = config.auth.user_claim.clone();
    for issuer in &config.auth.jwt {
        let algorithm = match issuer.algorithm.as_str() {
            "RS256" => JwtAlgorithm::RS256,
            "ES256" => JwtAlgorithm::ES256,
            "HS256" => JwtAlgorithm::HS256,
            other => {
                anyhow::bail!("auth.jwt: algorithm {other:?} is not one of RS256, ES256, HS256")
            }
        };
        let key_pem = match &issuer.key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading JWT key file {}", path.display()))?,
            ),
            None => None,
        };
        auth.jwt.push(JwtIssuer {
            issuer: issuer.issuer.clone(),
            audience: issuer.audience.clone(),
            algorithm,
            key_pem,
            hs_secret: issuer.hs_secret.clone(),
            leeway_seconds: issuer.leeway_seconds,
        });
    }
    Ok(auth)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
