//! `lrs serve`: every role in one process on the embedded backends.
//!
//! Start-up: open the log and the store, resume ingest from the store's watermark, start the HTTP
//! server. Shutdown (SIGINT/SIGTERM): stop accepting, let in-flight requests finish (their appends
//! become durable), drain ingest until the log is fully applied, then close the log.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use lrs_api::{ApiConfig, AppState, CorsConfig, Pipeline, configure};
use lrs_auth::{AuthConfig, Authenticator, JwtAlgorithm, JwtIssuer};
use lrs_ingest::{Ingestor, IngestorConfig};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_store::{AttachmentStore, EmbeddedStore, StatementReader};
use tokio::sync::watch;

use crate::config::Config;

/// The consumer group ingest uses in the log.
const INGEST_GROUP: &str = "ingest";

pub fn run(config: Config) -> anyhow::Result<()> {
    init_tracing(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
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
    let data_dir = config.storage.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;

    let mut log_config = EmbeddedLogConfig::new(data_dir.join("log"));
    log_config.max_pending_bytes = config.log.max_pending_bytes;
    log_config.segment_bytes = config.log.segment_bytes;
    let log = Arc::new(EmbeddedLog::open(log_config).context("opening the log")?);
    let store =
        Arc::new(EmbeddedStore::open(&data_dir.join("store")).context("opening the store")?);

    let marks = store.watermarks().await.context("reading watermarks")?;
    let next_offset = marks.iter().map(|m| m.next_offset).sum();
    let stored = marks.iter().map(|m| m.stored).max().unwrap_or(0);
    let dyn_log: Arc<dyn Log> = log.clone();
    let pipeline = Pipeline::new(
        dyn_log.clone(),
        store.clone(),
        next_offset,
        stored,
        config.log.max_ingest_lag_records,
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let consumer = dyn_log
        .consumer(INGEST_GROUP)
        .context("joining the ingest group")?;
    let ingestor = Ingestor::new(store.clone(), consumer, IngestorConfig::default())
        .with_listener(pipeline.clone());
    let ingest = tokio::spawn(ingestor.run(shutdown_rx));

    let authenticator = Arc::new(Authenticator::new(&data_dir, auth_config(&config)?)?);
    let api_config = ApiConfig {
        base_path: config.server.base_path.clone(),
        max_body_bytes: config.server.max_body_bytes,
        max_page: config.query.max_page,
        read_your_writes_wait: config.read_your_writes_wait(),
        default_version: lrs_schema::XapiVersion::from_header(&config.server.default_xapi_version)
            .context("server.default_xapi_version")?,
        cors: CorsConfig {
            allowed_origins: config.cors.allowed_origins.clone(),
            max_age_seconds: config.cors.max_age_seconds,
        },
    };
    let reader: Arc<dyn StatementReader> = store.clone();
    let attachments: Arc<dyn AttachmentStore> = store.clone();
    let state = web::Data::new(AppState::new(
        api_config,
        authenticator,
        pipeline.clone(),
        reader,
        store.clone(),
        attachments,
        store.clone(),
    ));
    let ready = state.ready.clone();
    let base_path = config.server.base_path.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(|cfg| configure(cfg, &base_path))
    })
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
    let server_task = tokio::spawn(server);
    ready.store(true, Ordering::Relaxed);
    tracing::info!(data_dir = %data_dir.display(), "lrs ready");

    wait_for_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    ready.store(false, Ordering::Relaxed);
    handle.stop(true).await;
    let _ = server_task.await;
    tracing::info!("draining ingest");
    let _ = shutdown_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(60), ingest).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::error!(error = %err, "ingest stopped with an error"),
        Ok(Err(err)) => tracing::error!(error = %err, "ingest task failed"),
        Err(_) => tracing::warn!("ingest did not drain in 60 s; the rest is applied at next start"),
    }
    log.close();
    tracing::info!("stopped");
    Ok(())
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
