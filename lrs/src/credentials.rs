//! `lrs credentials create|list|revoke`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use lrs_auth::{CredentialFile, CredentialInfo, Scopes};

/// The scopes of a tenant's credential created without `--scopes` (xAPI 1.0.3 Communication
/// §4.2's default).
const DEFAULT_SCOPES: &str = "statements/write,statements/read/mine";

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// Creates a credential; prints `KEY SECRET` on one line (the secret is shown only once).
    Create {
        #[arg(long, default_value = "./lrs-data")]
        data_dir: PathBuf,
        /// The tenant (board of education), e.g. 131016.
        #[arg(long, required_unless_present = "all_tenants")]
        tenant: Option<String>,
        /// A prefecture-wide credential: reads the study-log aggregates of every tenant (by
        /// board, school or coarser; small cells suppressed) and nothing else. Only with
        /// `--scopes aggregates` (the default here).
        #[arg(long, conflicts_with_all = ["tenant", "user"])]
        all_tenants: bool,
        /// Comma- or space-separated scopes, e.g. `all`, `statements/write,statements/read/mine`
        /// (the default), `roster`, `aggregates`, `admin`.
        #[arg(long)]
        scopes: Option<String>,
        /// Binds the credential to a roster user (a `users.csv` sourcedId): what it sees of the
        /// study-log aggregates follows that user's roster roles (teacher, principal, …).
        #[arg(long)]
        user: Option<String>,
        /// A label to recognise the credential by (e.g. the tool's name).
        #[arg(long)]
        label: Option<String>,
    },
    /// Lists credentials (never their secrets): `KEY TENANT SCOPES… STATE LABEL [user=USER]`,
    /// the tenant `*` for a prefecture-wide credential.
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
            all_tenants,
            scopes,
            user,
            label,
        } => {
            let default = if all_tenants {
                "aggregates"
            } else {
                DEFAULT_SCOPES
            };
            let scopes =
                Scopes::parse_list(scopes.as_deref().unwrap_or(default)).context("--scopes")?;
            let (key, secret) = match tenant {
                Some(tenant) if !all_tenants => CredentialFile::create_bound(
                    &data_dir,
                    &tenant,
                    &scopes,
                    label.as_deref(),
                    user.as_deref(),
                )?,
                _ => CredentialFile::create_prefecture(&data_dir, &scopes, label.as_deref())?,
            };
            println!("{key} {secret}");
        }
        CredentialsCommand::List { data_dir } => {
            for info in CredentialFile::list(&data_dir)? {
                println!("{}", listing_line(&info));
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

/// One line of `lrs credentials list`.
fn listing_line(info: &CredentialInfo) -> String {
    let state = if info.revoked_at.is_some() {
        "revoked"
    } else {
        "active"
    };
    let tenant = if info.all_tenants { "*" } else { &info.tenant };
    let label = info.label.as_deref().unwrap_or("-");
    let mut line = format!("{} {tenant} {} {state} {label}", info.key, info.scopes);
    if let Some(user) = &info.user {
        line.push_str(&format!(" user={user}"));
    }
    line
}
