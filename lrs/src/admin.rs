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

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
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

/// The configured store (its schema applied or required).
pub(crate) async fn open(
    config: &Config,
    uri: &StoreUri,
    mode: SchemaMode,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match uri {
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
    })
}
