//! `lrs`: the one binary of the xAPI LRS.
//!
//! `lrs serve` runs every role (api → log → ingest → store → query) in one process on the
//! embedded backends. `lrs credentials …` manages Basic credentials in the data directory;
//! `lrs migrate` creates the store's schema; `lrs admin …` serves the operator; `lrs roster …`
//! uploads rosters and aliases to a running LRS; `lrs extract` writes a pseudonymised research
//! extract.

mod admin;
mod config;
mod credentials;
mod extract;
mod roles;
mod roster;
mod serve;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{CliOverrides, Config};

/// glibc's allocator spent ~30 % of the server's CPU under load (perf, batch-100 POSTs: many
/// small JSON allocations across threads); mimalloc removes most of it. See docs/performance.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks for transparent huge pages on its arenas, so every fresh (or purged and reused)
/// 2 MiB region was zeroed whole by the kernel: `clear_page_erms` was 12–19 % of the server's CPU
/// under batch-100 POSTs (perf, docs/performance.md). Turning THP off for this process removes it.
/// Failure (an old kernel, a seccomp filter) only costs that speed, so it is ignored.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[derive(Parser)]
#[command(
    name = "lrs",
    version,
    about = "A high-throughput xAPI 1.0.3 / 2.0 Learning Record Store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the LRS: every role on embedded storage, or the roles and backends configured.
    Serve {
        /// Configuration file (TOML); see README "Configuration".
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 = any free port).
        #[arg(long)]
        listen: Option<String>,
        /// Data directory (log, store, credentials).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Roles to run, comma-separated: api, ingest, query (default: all three).
        #[arg(long, value_delimiter = ',')]
        services: Option<Vec<String>>,
    },
    /// Manages HTTP Basic credentials (key/secret pairs bound to a tenant and scopes).
    Credentials {
        #[command(subcommand)]
        command: credentials::CredentialsCommand,
    },
    /// Creates the store's schema (tables, keyspace) where it is missing, then exits: run it
    /// once before starting the roles of a deployment with `storage.apply_schema = false`.
    Migrate {
        #[command(flatten)]
        store: admin::StoreArgs,
    },
    /// Operator commands on the store (e.g. `lrs admin quarantine list`).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Writes a pseudonymised research extract (Parquet, CSV, k-anonymity report, manifest) of
    /// one tenant's period, read from the configured store (README "Research extracts").
    Extract(Box<extract::ExtractArgs>),
    /// Uploads a OneRoster zip or learner aliases to a running LRS (a credential with the
    /// `roster` scope).
    Roster {
        #[command(subcommand)]
        command: roster::RosterCommand,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            services,
        } => {
            let env: BTreeMap<String, String> = std::env::vars().collect();
            let cli = CliOverrides {
                listen,
                data_dir,
                services,
            };
            let config = Config::load(config.as_deref(), &env, &cli)?;
            serve::run(config)
        }
        Command::Credentials { command } => {
            credentials::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { store } => {
            block_on(admin::migrate(store))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => {
            block_on(admin::run(command))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Extract(args) => {
            block_on(extract::run(*args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Roster { command } => {
            block_on(roster::run(command))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs an operator command on a runtime of its own.
fn block_on<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}
