//! `lrs roster import|aliases`: uploads a OneRoster zip or an alias CSV to a running LRS
//! (`POST /api/v1/roster`, `POST /api/v1/roster/aliases`) with a credential that has the
//! `roster` scope, prints the LRS's JSON answer, and fails with the LRS's error body.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Args, Subcommand};
use tokio::io::AsyncReadExt;

/// How much of the file one chunk of the upload carries.
const CHUNK_BYTES: usize = 256 * 1024;

/// Files at least this big report their upload's progress.
const PROGRESS_FROM_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Subcommand)]
pub enum RosterCommand {
    /// Imports a OneRoster 1.2 CSV zip (Japan Profile; manifest.csv and the CSV files at its
    /// root) into the credential's tenant; prints the version it made.
    Import {
        #[command(flatten)]
        lrs: LrsArgs,
        /// The zip.
        file: PathBuf,
    },
    /// Uploads learner aliases (CSV with the columns homePage,name,userSourcedId) into the
    /// credential's tenant; prints the version it made.
    Aliases {
        #[command(flatten)]
        lrs: LrsArgs,
        /// The CSV file.
        file: PathBuf,
    },
}

/// Where the LRS is and the credential to use.
#[derive(Args)]
pub struct LrsArgs {
    /// The LRS's base URL, where `/api/v1` lives (e.g. `https://lrs.example.jp`; not the xAPI
    /// endpoint `…/xapi`).
    #[arg(long, env = "LRS_ENDPOINT")]
    endpoint: String,
    /// The credential's key (it needs the `roster` scope, or `all`).
    #[arg(long, env = "LRS_KEY")]
    key: String,
    /// The credential's secret (prefer the environment variable: arguments are visible to
    /// other users of the machine).
    #[arg(long, env = "LRS_SECRET", hide_env_values = true)]
    secret: String,
    /// Give up when the upload and the LRS's answer take longer than this (0: never).
    #[arg(long, default_value_t = 600)]
    timeout_seconds: u64,
}

pub async fn run(command: RosterCommand) -> anyhow::Result<()> {
    let (lrs, file, path, content_type) = match command {
        RosterCommand::Import { lrs, file } => (lrs, file, "api/v1/roster", "application/zip"),
        RosterCommand::Aliases { lrs, file } => (
            lrs,
            file,
            "api/v1/roster/aliases",
            "text/csv; charset=utf-8",
        ),
    };
    let answer = upload(&lrs, path, &file, content_type).await?;
    println!("{answer}");
    Ok(())
}

/// POSTs `file` to `path` under the endpoint, streaming it (with progress on stderr for big
/// files); answers the JSON body of a 2xx, pretty-printed.
async fn upload(
    lrs: &LrsArgs,
    path: &str,
    file: &Path,
    content_type: &str,
) -> anyhow::Result<String> {
    let url = endpoint_url(&lrs.endpoint, path)?;
    let opened = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let size = opened
        .metadata()
        .await
        .with_context(|| format!("reading the size of {}", file.display()))?
        .len();
    let mut client = reqwest::Client::builder();
    if lrs.timeout_seconds > 0 {
        client = client.timeout(Duration::from_secs(lrs.timeout_seconds));
    }
    let client = client.build().context("setting up the HTTP client")?;
    let progress = Progress::new(size);
    let response = client
        .post(url.clone())
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(file_chunks(opened, progress)))
        .send()
        .await
        .with_context(|| format!("sending {} to {url}", file.display()))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    if !status.is_success() {
        bail!("the LRS answered {status}: {}", body.trim());
    }
    Ok(match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(json) => serde_json::to_string_pretty(&json)?,
        Err(_) => body,
    })
}

/// `path` under the endpoint (a trailing slash or none).
fn endpoint_url(endpoint: &str, path: &str) -> anyhow::Result<reqwest::Url> {
    let base = format!("{}/", endpoint.trim_end_matches('/'));
    let base = reqwest::Url::parse(&base).with_context(|| format!("--endpoint {endpoint:?}"))?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!("--endpoint {endpoint:?} is not an http or https URL");
    }
    Ok(base.join(path)?)
}

/// The file as a stream of chunks, counting what the HTTP client has taken.
fn file_chunks(
    file: tokio::fs::File,
    progress: Progress,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> {
    futures::stream::try_unfold((file, progress), |(mut file, mut progress)| async move {
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            progress.done();
            return Ok(None);
        }
        chunk.truncate(read);
        progress.sent(read as u64);
        Ok(Some((Bytes::from(chunk), (file, progress))))
    })
}

/// Bytes handed to the connection so far, reported on stderr: on one rewritten line on a
/// terminal (at most 5 times a second), else a line per tenth of the file.
struct Progress {
    total: u64,
    sent: u64,
    report: bool,
    terminal: bool,
    started: Instant,
    last: Option<Instant>,
    last_tenth: u64,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            total,
            sent: 0,
            report: total >= PROGRESS_FROM_BYTES,
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            last_tenth: 0,
        }
    }

    fn sent(&mut self, bytes: u64) {
        self.sent += bytes;
        if !self.report {
            return;
        }
        // With a Content-Length the client stops reading at the last byte: no end of stream.
        if self.sent >= self.total {
            self.done();
            return;
        }
        if self.terminal {
            let due = self
                .last
                .is_none_or(|last| last.elapsed() >= Duration::from_millis(200));
            if due {
                self.last = Some(Instant::now());
                eprint!("\r{}", self.line());
                let _ = std::io::stderr().flush();
            }
        } else {
            let tenth = self.sent * 10 / self.total;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                eprintln!("{}", self.line());
            }
        }
    }

    /// Reports the whole file sent (once).
    fn done(&mut self) {
        if !self.report {
            return;
        }
        self.report = false;
        let start = if self.terminal { "\r" } else { "" };
        eprintln!("{start}{}", self.line());
        eprintln!("uploaded; waiting for the LRS to import it");
    }

    fn line(&self) -> String {
        const MIB: f64 = 1024.0 * 1024.0;
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "sent {:.1} MiB of {:.1} MiB ({}%, {:.1} MiB/s)",
            self.sent as f64 / MIB,
            self.total as f64 / MIB,
            self.sent * 100 / self.total.max(1),
            self.sent as f64 / MIB / seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_path_hangs_off_the_endpoint_with_or_without_a_trailing_slash() {
        for endpoint in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            assert_eq!(
                endpoint_url(endpoint, "api/v1/roster").unwrap().as_str(),
                "http://127.0.0.1:8080/api/v1/roster"
            );
        }
        assert_eq!(
            endpoint_url("https://lrs.example.jp/prefix", "api/v1/roster/aliases")
                .unwrap()
                .as_str(),
            "https://lrs.example.jp/prefix/api/v1/roster/aliases"
        );
        assert!(endpoint_url("lrs.example.jp", "api/v1/roster").is_err());
        assert!(endpoint_url("ftp://lrs.example.jp", "api/v1/roster").is_err());
    }
}
