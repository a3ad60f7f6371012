//! `lrs extract`: a pseudonymised research extract of one tenant's period, read from the
//! configured store (embedded or remote) without a running server (`lrs_query::extract`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use lrs_query::extract::{
    ExtractProgress, ExtractRequest, ExtractSources, PseudonymKey, TimeGrain, run_extract,
};
use lrs_store::SchemaMode;

use crate::admin::StoreArgs;
use crate::roles::StoreUri;

/// How often a long extract reports its progress on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The tenant (board) whose statements are extracted.
    #[arg(long)]
    tenant: String,
    /// The first local day (YYYY-MM-DD, `studylog.time_zone`).
    #[arg(long)]
    since: String,
    /// The last local day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    until: String,
    /// The project's pseudonym key: a file of at least 32 random bytes
    /// (`head -c 32 /dev/urandom > project.key`).
    #[arg(long)]
    key_file: PathBuf,
    /// The output directory (created if missing; existing extract files are never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// The time column's grain: hour, day or week.
    #[arg(long, default_value = "day")]
    time: String,
    /// Report quasi-identifier combinations (school, class, grade, time) with fewer learners.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Drop the rows of those combinations.
    #[arg(long)]
    suppress: bool,
    /// Free text to include (identifying!): `response`.
    #[arg(long)]
    include: Vec<String>,
}

pub async fn run(args: ExtractArgs) -> anyhow::Result<()> {
    // The key first: without it nothing is opened, and nothing is written.
    let key = PseudonymKey::from_file(&args.key_file)?;
    let mut request =
        ExtractRequest::new(&args.tenant, &args.since, &args.until)?.with_k(args.k)?;
    request.time = TimeGrain::parse(&args.time)?;
    request.suppress = args.suppress;
    for what in &args.include {
        request.include(what)?;
    }
    let config = args.store.load()?;
    let uri = StoreUri::parse(&config.storage.uri)?;
    let store = crate::admin::open(&config, &uri, SchemaMode::Require).await?;
    let settings = config.studylog_settings()?;
    let sources = ExtractSources {
        statements: store.clone(),
        study: store.clone(),
        rosters: store,
        calendar: settings.calendar,
        identity: settings.identity,
    };
    let started = Instant::now();
    let mut reported = Instant::now();
    let mut progress = |p: &ExtractProgress| {
        if reported.elapsed() >= PROGRESS_EVERY || p.days_done == p.days {
            reported = Instant::now();
            let what = if p.pass == 1 { "tallying" } else { "writing" };
            eprintln!(
                "extract: {what} day {} ({}/{}), {} rows, {:.0} s",
                p.day,
                p.days_done,
                p.days,
                p.rows,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let summary = run_extract(&sources, &request, &key, &args.out, &mut progress)
        .await
        .with_context(|| format!("extracting into {}", args.out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "extract: {} rows ({} suppressed, {} learners, {} combinations below k = {}) in {:.1} s ({:.0} rows/s) → {}",
        summary.rows,
        summary.rows_suppressed,
        summary.learners,
        summary.combinations_below_k,
        request.k,
        seconds,
        summary.rows as f64 / seconds.max(1e-9),
        args.out.display()
    );
    Ok(())
}
