//! `lrs migrate` and `lrs admin …`: operator commands that reach the configured store directly,
//! without a running server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use lrs_store::{EmbeddedStore, SchemaMode};

use crate::config::{CliOverrides, Config};
use crate::roles::StoreUri;
use crate::serve::Store;

/// Where the store is: the configuration file and/or the data directory, as for `lrs serve`.
#[derive(Args)]
pub struct StoreArgs {
    /// Configuration file (TOML); `storage.uri` names the store (env `LRS__STORAGE__URI` too).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (the embedded store lives in DIR/store).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl StoreArgs {
    pub(crate) fn load(&self) -> anyhow::Result<Config> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let cli = CliOverrides {
            data_dir: self.data_dir.clone(),
            ..CliOverrides::default()
        };
        Config::load(self.config.as_deref(), &env, &cli)
    }
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Statements ingest could not write (the store refused them for good).
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Purges: real deletion of a tenant's old school years or of a whole tenant
    /// (docs/lifecycle.md). With the embedded store, run it while `lrs serve` is stopped (or use
    /// `POST /api/v1/admin/purges`).
    Purge {
        #[command(subcommand)]
        command: PurgeCommand,
    },
}

#[derive(Subcommand)]
pub enum PurgeCommand {
    /// Runs a purge to completion (an unfinished one of an earlier run is finished first),
    /// printing its progress on stderr and its record (JSON) on stdout.
    Run {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        tenant: String,
        /// `retention` (statements stored before the kept school years) or `tenant` (all of it).
        #[arg(long)]
        scope: String,
        /// School years a retention purge keeps (default: lifecycle.keep_school_years).
        #[arg(long)]
        keep_school_years: Option<u32>,
    },
    /// Prints every purge record (the audit), one JSON object per line, oldest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// Prints every tenant's quarantined statements, one JSON object per line (tenant,
    /// statement_id, stored, log_partition, log_offset, error, quarantined, statement).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = usize::MAX)]
        limit: usize,
    },
}

/// `lrs migrate`: creates what the configured store lacks (tables, keyspace), then exits.
pub async fn migrate(args: StoreArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    let uri = StoreUri::parse(&config.storage.uri)?;
    open(&config, &uri, SchemaMode::Apply).await?;
    println!(
        "the store's schema is complete ({})",
        crate::serve::redact(&config.storage.uri)
    );
    Ok(())
}

/// `lrs admin purge run`.
async fn purge_run(
    store_args: StoreArgs,
    tenant: String,
    scope: String,
    keep_school_years: Option<u32>,
) -> anyhow::Result<()> {
    use lrs_ingest::purge::{PurgeScope, PurgeService, Requester};
    let config = store_args.load()?;
    let uri = StoreUri::parse(&config.storage.uri)?;
    let store = open_for_purge(&config, &uri).await?;
    let log = crate::serve::purge_log(&config).await?;
    let scope = match scope.as_str() {
        "retention" => {
            let keep = keep_school_years.unwrap_or(config.lifecycle.keep_school_years);
            anyhow::ensure!(
                keep > 0,
                "a retention purge keeps at least 1 school year: --keep-school-years N or \
                 lifecycle.keep_school_years"
            );
            PurgeService::retention_scope(
                &config.studylog.calendar()?,
                keep,
                lrs_store::now_micros(),
            )?
        }
        "tenant" => PurgeScope::Tenant,
        other => anyhow::bail!("--scope is retention or tenant, not {other:?}"),
    };
    // Nobody applies the log here: a purge must not wait for records only `lrs serve` applies.
    let marks = store.watermarks().await?;
    let ends = {
        let log = log.clone();
        tokio::task::spawn_blocking(move || log.end_offsets()).await??
    };
    let behind = ends.iter().any(|&(partition, end)| {
        end > 0
            && marks
                .iter()
                .find(|m| m.partition == partition)
                .is_none_or(|m| m.next_offset < end)
    });
    anyhow::ensure!(
        !behind,
        "the log holds records the store has not applied yet: start `lrs serve` until it has \
         applied them (or purge through it: POST /api/v1/admin/purges)"
    );
    let service = PurgeService::new(store, log, config.purges());
    for job in service.jobs().await? {
        if job.state != "complete" {
            eprintln!("finishing the unfinished purge {} first", job.id);
            service.run(job.id).await?;
        }
    }
    let job = service
        .start(
            &tenant,
            scope,
            Requester {
                role: "cli".into(),
                credential: None,
            },
        )
        .await?;
    let id = job.id;
    let progress = {
        let service = service.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                if let Ok(Some(job)) = service.job(id).await {
                    eprintln!(
                        "purge {id}: {:?}, {} statements, {} batches",
                        job.phase, job.counts.statements, job.batches
                    );
                }
            }
        })
    };
    let ran = service.run(id).await;
    progress.abort();
    ran?;
    let job = service.job(id).await?.context("the purge record")?;
    println!("{}", serde_json::to_string(&job.public())?);
    Ok(())
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Purge {
            command:
                PurgeCommand::Run {
                    store,
                    tenant,
                    scope,
                    keep_school_years,
                },
        } => purge_run(store, tenant, scope, keep_school_years).await,
        AdminCommand::Purge {
            command: PurgeCommand::List { store },
        } => {
            let config = store.load()?;
            let uri = StoreUri::parse(&config.storage.uri)?;
            let store = open(&config, &uri, SchemaMode::Require).await?;
            let records = store
                .purge_records()
                .await
                .context("reading purge records")?;
            for record in &records {
                // What names people (a running learner purge's identifiers) is not shown.
                match serde_json::from_slice::<lrs_ingest::purge::PurgeJob>(&record.record) {
                    Ok(job) => println!("{}", serde_json::to_string(&job.public())?),
                    Err(_) => println!("{}", String::from_utf8_lossy(&record.record)),
                }
            }
            eprintln!("{} purge(s)", records.len());
            Ok(())
        }
        AdminCommand::Quarantine {
            command:
                QuarantineCommand::List {
                    store,
                    tenant,
                    limit,
                },
        } => {
            let config = store.load()?;
            let uri = StoreUri::parse(&config.storage.uri)?;
            let store = open(&config, &uri, SchemaMode::Require).await?;
            let found = store
                .quarantined(tenant.as_deref(), limit)
                .await
                .context("reading the quarantine")?;
            for statement in &found {
                let line = serde_json::to_string(&lrs_api::QuarantineEntry::of(statement))?;
                println!("{line}");
            }
            eprintln!("{} quarantined statement(s)", found.len());
            Ok(())
        }
    }
}

/// Opens the backend `$uri` names as an `Arc` of whichever trait object the caller returns
/// (every backend type implements each of them), its schema applied or required per `$mode`.
macro_rules! open_backend {
    ($config:expr, $uri:expr, $mode:expr) => {{
        let (config, uri, mode): (&Config, &StoreUri, SchemaMode) = ($config, $uri, $mode);
        match uri {
            StoreUri::Embedded => {
                let dir = config.storage.data_dir.join("store");
                if mode == SchemaMode::Require && !dir.exists() {
                    anyhow::bail!("no embedded store in {}", dir.display());
                }
                let store = EmbeddedStore::open(&dir).with_context(|| {
                    format!(
                        "opening the embedded store in {} (one process at a time: while `lrs serve` \
                         runs on it, use its HTTP API instead)",
                        dir.display()
                    )
                })?;
                Arc::new(store)
            }
            #[cfg(feature = "postgres")]
            StoreUri::Postgres(url) => Arc::new(
                lrs_store::PostgresStore::connect_with_schema(url, mode)
                    .await
                    .context("connecting to the PostgreSQL store")?,
            ),
            #[cfg(not(feature = "postgres"))]
            StoreUri::Postgres(_) => anyhow::bail!(
                "storage.uri names PostgreSQL, but this build has no PostgreSQL store; build with \
                 `--features postgres` (or `distributed`)"
            ),
            #[cfg(feature = "scylla")]
            StoreUri::Scylla(uri) => Arc::new(
                lrs_store::ScyllaStore::connect_uri(uri, mode)
                    .await
                    .context("connecting to the ScyllaDB store")?,
            ),
            #[cfg(not(feature = "scylla"))]
            StoreUri::Scylla(_) => anyhow::bail!(
                "storage.uri names ScyllaDB, but this build has no ScyllaDB store; build with \
                 `--features scylla` (or `distributed`)"
            ),
        }
    }};
}

/// The configured store (its schema applied or required).
pub(crate) async fn open(
    config: &Config,
    uri: &StoreUri,
    mode: SchemaMode,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_backend!(config, uri, mode))
}

/// The configured store as the purge service takes it (its schema required).
async fn open_for_purge(
    config: &Config,
    uri: &StoreUri,
) -> anyhow::Result<Arc<dyn lrs_ingest::purge::PurgeBackend>> {
    Ok(open_backend!(config, uri, SchemaMode::Require))
}
