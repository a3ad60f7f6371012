//! The load driver: one measured segment against one LRS, in a closed or an open loop.
//!
//! Bodies are generated ahead of time ([`Template`]); every request gets fresh statement ids
//! written into its template's bytes, so the LRS never sees a duplicate and the driver spends
//! little CPU. Latency is measured from the request's intended send time: in the closed loop
//! that is when it was sent; in the open loop (`open_loop`) it is its slot in the fixed
//! schedule, so time spent waiting for a free connection counts (coordinated omission).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Url;
use uuid::Uuid;

use crate::args::Workload;
use crate::generator::Generator;
use crate::progress::Progress;
use crate::stats::Stats;
use crate::verify::Ledger;

/// One LRS under load.
#[derive(Clone, Debug)]
pub struct Target {
    /// A label for reports (`A`, `B`, or the endpoint).
    pub name: String,
    /// The xAPI endpoint without a trailing slash.
    pub endpoint: Url,
    pub statements: Url,
    pub key: String,
    pub secret: String,
}

impl Target {
    pub fn new(name: &str, endpoint: &str, key: &str, secret: &str) -> anyhow::Result<Target> {
        let endpoint = Url::parse(endpoint.trim_end_matches('/'))?;
        let statements =
            Url::parse(&format!("{endpoint}/statements").replace("//statements", "/statements"))?;
        Ok(Target {
            name: name.to_owned(),
            endpoint,
            statements,
            key: key.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// Resolves a `more` link (relative to the server, xAPI Data §2.5) to a URL.
    pub fn resolve(&self, more: &str) -> Option<Url> {
        self.endpoint.join(more).ok()
    }
}

/// A request body with the byte offsets of its statement ids, so fresh ids can be written in.
pub struct Template {
    pub body: Vec<u8>,
    pub id_offsets: Vec<usize>,
    pub statements: usize,
}

impl Template {
    /// A copy of the body with fresh ids, and those ids.
    pub fn fresh(&self) -> (Vec<u8>, Vec<Uuid>) {
        let mut body = self.body.clone();
        let ids = self
            .id_offsets
            .iter()
            .map(|&offset| {
                let id = Uuid::new_v4();
                id.hyphenated().encode_lower(&mut body[offset..offset + 36]);
                id
            })
            .collect();
        (body, ids)
    }
}

/// `count` request bodies of `batch` statements (a single object when `batch` is 1).
pub fn templates(workload: &Workload, count: usize) -> Vec<Template> {
    let mut generator = Generator::new(workload.seed, workload.population());
    generator.with_ids = !workload.no_ids;
    generator.version = workload.xapi_version.clone();
    (0..count)
        .map(|_| {
            let batch = generator.batch(workload.batch.max(1));
            let body = if batch.len() == 1 {
                serde_json::to_vec(&batch[0])
            } else {
                serde_json::to_vec(&batch)
            }
            .expect("JSON");
            let mut id_offsets = Vec::new();
            if !workload.no_ids {
                let text = std::str::from_utf8(&body).expect("UTF-8");
                for statement in &batch {
                    let id = statement["id"].as_str().expect("id");
                    id_offsets
                        .push(text.find(&format!("\"id\":\"{id}\"")).expect("id in body") + 6);
                }
            }
            Template {
                body,
                id_offsets,
                statements: batch.len(),
            }
        })
        .collect()
}

/// What every request of a run shares.
pub struct Plan {
    pub client: reqwest::Client,
    pub workload: Workload,
    pub templates: Vec<Template>,
}

impl Plan {
    pub fn new(workload: &Workload) -> anyhow::Result<Plan> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(workload.connections)
            .timeout(Duration::from_secs(workload.timeout))
            .build()?;
        Ok(Plan {
            client,
            templates: templates(workload, workload.templates.max(1)),
            workload: workload.clone(),
        })
    }
}

/// The state of one segment, shared by its workers.
pub struct Run {
    pub target: Target,
    pub reads: Vec<Url>,
    pub stats: Mutex<Stats>,
    pub measuring: Arc<AtomicBool>,
    pub stop: Arc<AtomicBool>,
    /// When the measured interval ended (set just before `stop`).
    pub stopped_at: OnceLock<Instant>,
    /// Statements acknowledged while measuring (for the progress line).
    pub acked: AtomicU64,
    /// Statements sent while measuring.
    pub sent: AtomicU64,
    pub errors: AtomicU64,
    pub ledger: Option<Mutex<Ledger>>,
    /// The Basic credential of the reads, when it is not the writing one (`--read-key`): an LRS
    /// that makes a credential read its own writes lets other readers answer without waiting.
    pub read_credential: Option<(String, String)>,
}

impl Run {
    pub fn new(target: Target, plan: &Plan, verify: bool) -> Run {
        let reads = if plan.workload.read_ratio > 0.0 {
            crate::read::queries(
                &target.statements,
                plan.workload.seed,
                plan.workload.population(),
                plan.workload.read_limit,
                256,
            )
        } else {
            Vec::new()
        };
        Run {
            target,
            reads,
            stats: Mutex::new(Stats::default()),
            measuring: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            stopped_at: OnceLock::new(),
            acked: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            ledger: verify.then(|| Mutex::new(Ledger::default())),
            read_credential: None,
        }
    }

    fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    fn request(&self, plan: &Plan, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .basic_auth(&self.target.key, Some(&self.target.secret))
            .header("X-Experience-API-Version", &plan.workload.xapi_version)
    }

    fn read_request(&self, plan: &Plan, url: Url) -> reqwest::RequestBuilder {
        match &self.read_credential {
            None => self.request(plan, plan.client.get(url)),
            Some((key, secret)) => plan
                .client
                .get(url)
                .basic_auth(key, Some(secret))
                .header("X-Experience-API-Version", &plan.workload.xapi_version),
        }
    }
}

/// One request: a write of a template, or a read of a query (indices into the plan and run).
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Write(usize),
    Read(usize),
}

/// Request number `n`: a write or (with probability `read_ratio`) a read.
pub fn choose(plan: &Plan, run: &Run, n: u64, rng: &mut StdRng) -> Op {
    if !run.reads.is_empty() && rng.random_bool(plan.workload.read_ratio.clamp(0.0, 1.0)) {
        Op::Read(rng.random_range(0..run.reads.len()))
    } else {
        Op::Write(n as usize % plan.templates.len())
    }
}

/// Sends one request and records it; latency counts from `intended`. Returns how long the LRS
/// asked the client to wait (a 503's `Retry-After`, at most [`MAX_BACK_OFF`]), which the closed
/// loop honours as well-behaved clients do; the open loop keeps its schedule.
pub async fn execute(plan: &Plan, run: &Run, op: Op, intended: Instant) -> Option<Duration> {
    match op {
        Op::Write(template) => write(plan, run, template, intended).await,
        Op::Read(query) => {
            read(plan, run, query, intended).await;
            None
        }
    }
}

/// The longest `Retry-After` the closed loop waits out.
pub const MAX_BACK_OFF: Duration = Duration::from_secs(1);

fn back_off(response: &reqwest::Response) -> Option<Duration> {
    if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Some(Duration::from_secs(seconds).min(MAX_BACK_OFF))
}

async fn write(plan: &Plan, run: &Run, template: usize, intended: Instant) -> Option<Duration> {
    let template = &plan.templates[template];
    let (body, sent) = template.fresh();
    let measuring = run.measuring();
    if measuring {
        run.sent
            .fetch_add(template.statements as u64, Ordering::Relaxed);
    }
    let response = run
        .request(plan, plan.client.post(run.target.statements.clone()))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    let (mut status, mut wait) = (None, None);
    if let Ok(response) = response {
        status = Some(response.status().as_u16());
        wait = back_off(&response);
        let ok = response.status().is_success();
        let answer = response.bytes().await.unwrap_or_default();
        if ok && let Some(ledger) = &run.ledger {
            let returned: Vec<Uuid> = serde_json::from_slice(&answer).unwrap_or_default();
            ledger.lock().expect("ledger").record_ack(&sent, &returned);
        }
    }
    let latency = intended.elapsed();
    if run.measuring() && measuring {
        if status.is_some_and(|s| (200..300).contains(&s)) {
            run.acked
                .fetch_add(template.statements as u64, Ordering::Relaxed);
        } else {
            run.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut stats = run.stats.lock().expect("stats");
        stats
            .write
            .record(status, latency, template.statements as u64);
    }
    wait
}

async fn read(plan: &Plan, run: &Run, query: usize, mut intended: Instant) {
    let mut next = Some(run.reads[query].clone());
    for _ in 0..plan.workload.read_pages.max(1) {
        let Some(url) = next.take() else { break };
        let measuring = run.measuring();
        let response = run.read_request(plan, url).send().await;
        let (mut status, mut returned) = (None, 0);
        if let Ok(response) = response {
            status = Some(response.status().as_u16());
            let ok = response.status().is_success();
            let body = response.bytes().await.unwrap_or_default();
            if ok && let Some((count, more)) = crate::read::parse_page(&body) {
                returned = count;
                next = more.and_then(|m| run.target.resolve(&m));
            }
        }
        let latency = intended.elapsed();
        if measuring && run.measuring() {
            if !status.is_some_and(|s| (200..300).contains(&s)) {
                run.errors.fetch_add(1, Ordering::Relaxed);
            }
            run.stats
                .lock()
                .expect("stats")
                .read
                .record(status, latency, returned);
        }
        intended = Instant::now();
    }
}

/// Closed loop: `connections` workers, each sending its next request when the last answered.
async fn closed_loop(plan: Arc<Plan>, run: Arc<Run>) {
    let connections = plan.workload.connections.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (plan, run) = (plan.clone(), run.clone());
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(plan.workload.seed ^ c as u64);
            let mut n = c as u64;
            while !run.stop.load(Ordering::Relaxed) {
                let op = choose(&plan, &run, n, &mut rng);
                if let Some(wait) = execute(&plan, &run, op, Instant::now()).await {
                    tokio::time::sleep(wait).await;
                }
                n += connections as u64;
            }
        });
    }
    tasks.join_all().await;
}

/// Runs one segment: `warmup` unmeasured, then `duration` measured; returns what was measured.
/// In-flight requests finish before it returns (so a verify ledger is complete).
pub async fn segment(
    plan: Arc<Plan>,
    run: Arc<Run>,
    warmup: Duration,
    duration: Duration,
    progress: &mut Progress,
) -> Stats {
    let driver = match plan.workload.rate {
        Some(rate) => tokio::spawn(crate::open_loop::run(plan.clone(), run.clone(), rate)),
        None => tokio::spawn(closed_loop(plan.clone(), run.clone())),
    };
    let started = Instant::now();
    progress.warming_up(&run.target.name, warmup);
    tokio::time::sleep(warmup).await;
    run.measuring.store(true, Ordering::Relaxed);
    let measured = Instant::now();
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    while measured.elapsed() < duration {
        let left = duration.saturating_sub(measured.elapsed());
        tokio::select! {
            _ = tick.tick() => progress.tick(&run, started.elapsed(), measured.elapsed()),
            _ = tokio::time::sleep(left) => {}
        }
    }
    run.measuring.store(false, Ordering::Relaxed);
    let seconds = measured.elapsed().as_secs_f64();
    let _ = run.stopped_at.set(Instant::now());
    run.stop.store(true, Ordering::Relaxed);
    let _ = driver.await;
    progress.done();
    let mut stats = run.stats.lock().expect("stats").clone();
    stats.seconds = seconds;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        workload: Workload,
    }

    fn workload(args: &[&str]) -> Workload {
        Cli::parse_from(std::iter::once("test").chain(args.iter().copied())).workload
    }

    #[test]
    fn every_request_body_gets_fresh_ids_written_where_the_template_had_its_own() {
        for batch in ["1", "7"] {
            let templates = templates(&workload(&["--batch", batch]), 2);
            let (first, first_ids) = templates[0].fresh();
            let (second, second_ids) = templates[0].fresh();
            assert_ne!(first_ids, second_ids);
            for (body, ids) in [(first, first_ids), (second, second_ids)] {
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let statements = match value {
                    serde_json::Value::Array(items) => items,
                    object => vec![object],
                };
                let found: Vec<Uuid> = statements
                    .iter()
                    .map(|s| s["id"].as_str().unwrap().parse().unwrap())
                    .collect();
                assert_eq!(found, ids, "batch {batch}");
            }
        }
    }

    #[test]
    fn without_ids_the_bodies_carry_none() {
        let templates = templates(&workload(&["--batch", "3", "--no-ids"]), 1);
        let (body, ids) = templates[0].fresh();
        assert!(ids.is_empty());
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            value
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("id").is_none())
        );
    }

    #[test]
    fn more_links_resolve_against_the_server() {
        let target = Target::new("t", "http://127.0.0.1:9/xapi/", "k", "s").unwrap();
        assert_eq!(
            target.statements.as_str(),
            "http://127.0.0.1:9/xapi/statements"
        );
        assert_eq!(
            target
                .resolve("/xapi/statements?more=abc")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/xapi/statements?more=abc"
        );
    }
}
