//! Command-line arguments shared by `post` and `compare`.

use std::path::PathBuf;

/// One LRS: its xAPI endpoint and a Basic credential.
#[derive(clap::Args, Clone, Debug)]
pub struct TargetArgs {
    /// The xAPI endpoint, e.g. http://127.0.0.1:8080/xapi (statements are at <endpoint>/statements).
    #[arg(long)]
    pub endpoint: String,
    /// HTTP Basic user (the LRS key).
    #[arg(long, allow_hyphen_values = true)]
    pub key: String,
    /// HTTP Basic password (the LRS secret; may start with `-`).
    #[arg(long, allow_hyphen_values = true)]
    pub secret: String,
}

/// What to send: the same for every target of a run.
#[derive(clap::Args, Clone, Debug)]
pub struct Workload {
    /// Concurrent keep-alive connections: the closed loop's workers, or the open loop's cap on
    /// requests in flight.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Statements per POST (1 = single-statement POSTs).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Open loop: requests per second (writes and reads together; statements/s = rate × batch ×
    /// write share), sent at fixed intended times whatever the LRS's latency. Without it the
    /// driver runs a closed loop (each connection sends its next request when the last answered).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Share of requests that are GET /statements queries (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub read_ratio: f64,
    /// `limit` of each read query.
    #[arg(long, default_value_t = 50)]
    pub read_limit: u32,
    /// Pages a read follows (`more` links), the first included.
    #[arg(long, default_value_t = 3)]
    pub read_pages: u32,
    /// Seed of the population and the statements (same seed, same statements and roster).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// X-Experience-API-Version to send (also the statements' `version`).
    #[arg(long, default_value = "1.0.3")]
    pub xapi_version: String,
    /// Send statements without ids (the LRS assigns them), as some tools do.
    #[arg(long)]
    pub no_ids: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Boards of education in the population (each 10 schools × 6 classes × 30 learners, so
    /// 1,800 learners a board); `loadtest roster --boards` writes the same population.
    #[arg(long, default_value_t = 2)]
    pub boards: u32,
    /// Distinct request bodies generated up front and sent round robin with fresh ids (more
    /// spread the statements over more learners and activities).
    #[arg(long, default_value_t = 64)]
    pub templates: usize,
}

impl Workload {
    /// The population the statements are about.
    pub fn population(&self) -> crate::generator::Population {
        crate::generator::Population {
            boards: self.boards.max(1),
            ..Default::default()
        }
    }
}

/// `loadtest post`.
#[derive(clap::Args, Clone, Debug)]
pub struct PostArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub workload: Workload,
    /// Seconds to measure (after the warm-up).
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Seconds of warm-up not counted.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Measure visibility lag: while the load runs, post one probe statement at a time and time
    /// until this endpoint (e.g. a query instance; default: --endpoint) returns it.
    #[arg(long)]
    pub lag_probe: bool,
    /// The read endpoint of the lag probe and of --verify (default: --endpoint).
    #[arg(long)]
    pub read_endpoint: Option<String>,
    /// Record every acknowledged statement id and, after the run, check each is retrievable
    /// exactly once; exits non-zero if any is missing, duplicated or unexpected.
    #[arg(long)]
    pub verify: bool,
    /// How long --verify keeps looking for ids not found yet (an LRS that applies writes
    /// asynchronously), in seconds.
    #[arg(long, default_value_t = 30)]
    pub verify_wait: u64,
    /// Clock slack of the `since`/`until` window --verify pages through, in seconds.
    #[arg(long, default_value_t = 300)]
    pub verify_slack: u64,
    /// Basic key of the reads of `--read-ratio` (default: `--key`). With another credential of the
    /// same tenant, the reads are those of a dashboard or analyst, not of the writing tool.
    #[arg(long, allow_hyphen_values = true, requires = "read_secret")]
    pub read_key: Option<String>,
    /// Basic secret of `--read-key`.
    #[arg(long, allow_hyphen_values = true, requires = "read_key")]
    pub read_secret: Option<String>,
}

/// `loadtest compare`.
#[derive(clap::Args, Clone, Debug)]
pub struct CompareArgs {
    /// Endpoint A (the baseline).
    #[arg(long)]
    pub a_endpoint: String,
    #[arg(long, allow_hyphen_values = true)]
    pub a_key: String,
    #[arg(long, allow_hyphen_values = true)]
    pub a_secret: String,
    /// Endpoint B (compared against A).
    #[arg(long)]
    pub b_endpoint: String,
    #[arg(long, allow_hyphen_values = true)]
    pub b_key: String,
    #[arg(long, allow_hyphen_values = true)]
    pub b_secret: String,
    #[command(flatten)]
    pub workload: Workload,
    /// Rounds; each drives A, then B.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Measured seconds per endpoint per round.
    #[arg(long, default_value_t = 10)]
    pub round_secs: u64,
    /// Seconds of warm-up before each endpoint's turn, not counted.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}
