//! `lrs credentials create|list|revoke`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use lrs_auth::{CredentialFile, Scopes};

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// Creates a credential; prints `KEY SECRET` on one line (the secret is shown only once).
    Create {
        #[arg(long, default_value = "./lrs-data")]
        data_dir: PathBuf,
        /// The tenant (board of education), e.g. 131016.
        #[arg(long)]
        tenant: String,
        /// Comma- or space-separated xAPI scopes, e.g. `all` or `statements/write,statements/read/mine`.
        #[arg(long, default_value = "statements/write,statements/read/mine")]
        scopes: String,
        /// A label to recognise the credential by (e.g. the tool's name).
        #[arg(long)]
        label: Option<String>,
    },
    /// Lists credentials (never their secrets).
    List {
        #[arg(long, default_value = "./lrs-data")]
        data_dir: PathBuf,
    },
    /// Revokes a credential by key.
    Revoke {
        #[arg(long, default_value = "./lrs-data")]
        data_dir: PathBuf,
        key: String,
    },
}

pub fn run(command: CredentialsCommand) -> anyhow::Result<()> {
    match command {
        CredentialsCommand::Create {
            data_dir,
            tenant,
            scopes,
            label,
        } => {
            let scopes = Scopes::parse_list(&scopes).context("--scopes")?;
            let (key, secret) =
                CredentialFile::create(&data_dir, &tenant, &scopes, label.as_deref())?;
            println!("{key} {secret}");
        }
        CredentialsCommand::List { data_dir } => {
            for info in CredentialFile::list(&data_dir)? {
                let state = if info.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let label = info.label.as_deref().unwrap_or("-");
                println!(
                    "{} {} {} {} {}",
                    info.key, info.tenant, info.scopes, state, label
                );
            }
        }
        CredentialsCommand::Revoke { data_dir, key } => {
            if CredentialFile::revoke(&data_dir, &key)? {
                println!("revoked {key}");
            } else {
                anyhow::bail!("no credential with key {key}");
            }
        }
    }
    Ok(())
}
