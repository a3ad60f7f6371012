//! `loadtest`: drives any xAPI LRS with realistic Japanese study-log statements.
//!
//! Closed loop: N keep-alive connections, each POSTing a batch and waiting for the answer. Bodies
//! are generated ahead of time from templates; every request gets fresh statement ids written
//! into the template, so the LRS never sees a duplicate and the driver spends little CPU.

mod generator;
mod lag;
#[cfg(feature = "kafka")]
mod raw_produce;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde_json::json;

use crate::generator::{Generator, Population};

#[derive(Parser)]
#[command(
    name = "loadtest",
    about = "Load driver for xAPI LRSs (realistic Japanese study logs)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// POSTs statements in a closed loop and reports throughput and latency.
    Post(PostArgs),
    /// Produces generated statement envelopes straight into a Kafka log (no LRS) and reports
    /// records/s and statements/s.
    #[cfg(feature = "kafka")]
    RawProduce(raw_produce::RawProduceArgs),
    /// Prints N generated statements as a JSON array (for inspection or fixtures).
    Generate {
        #[arg(long, default_value_t = 10)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args, Clone)]
struct PostArgs {
    /// The xAPI endpoint, e.g. http://127.0.0.1:8080/xapi
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    key: String,
    #[arg(long)]
    secret: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Statements per POST (1 = single-statement POSTs).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Seconds to measure (after the warm-up).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of warm-up not counted.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// X-Experience-API-Version to send.
    #[arg(long, default_value = "1.0.3")]
    xapi_version: String,
    /// Send statements without ids (the LRS assigns them), as some tools do.
    #[arg(long)]
    no_ids: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Measure visibility lag: while the load runs, post one probe statement at a time and time
    /// until this endpoint (e.g. a query instance; default: --endpoint) returns it.
    #[arg(long)]
    lag_probe: bool,
    /// The read endpoint of the lag probe.
    #[arg(long)]
    read_endpoint: Option<String>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate { count, seed } => {
            let statements = Generator::new(seed, Population::default()).batch(count);
            println!("{}", serde_json::to_string_pretty(&statements)?);
            Ok(())
        }
        Command::Post(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(post(args)),
        #[cfg(feature = "kafka")]
        Command::RawProduce(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(raw_produce::run(args)),
    }
}

/// A request body with the byte offsets of its statement ids, so fresh ids can be written in.
struct Template {
    body: Vec<u8>,
    id_offsets: Vec<usize>,
}

fn templates(args: &PostArgs, count: usize) -> Vec<Template> {
    let mut generator = Generator::new(args.seed, Population::default());
    (0..count)
        .map(|_| {
            let mut batch = generator.batch(args.batch);
            if args.no_ids {
                for statement in &mut batch {
                    statement.as_object_mut().unwrap().remove("id");
                }
                let body = if args.batch == 1 {
                    serde_json::to_vec(&batch[0]).unwrap()
                } else {
                    serde_json::to_vec(&batch).unwrap()
                };
                return Template {
                    body,
                    id_offsets: Vec::new(),
                };
            }
            let ids: Vec<String> = batch
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect();
            let body = if args.batch == 1 {
                serde_json::to_vec(&batch[0]).unwrap()
            } else {
                serde_json::to_vec(&batch).unwrap()
            };
            let text = String::from_utf8(body.clone()).unwrap();
            let id_offsets = ids
                .iter()
                .map(|id| text.find(id.as_str()).expect("id in body"))
                .collect();
            Template { body, id_offsets }
        })
        .collect()
}

fn fresh_body(template: &Template) -> Vec<u8> {
    let mut body = template.body.clone();
    for &offset in &template.id_offsets {
        let id = uuid::Uuid::new_v4();
        id.hyphenated().encode_lower(&mut body[offset..offset + 36]);
    }
    body
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    statements: AtomicU64,
    errors: AtomicU64,
}

async fn post(args: PostArgs) -> anyhow::Result<()> {
    let templates = Arc::new(templates(&args, 64));
    let average = templates.iter().map(|t| t.body.len()).sum::<usize>() / templates.len();
    eprintln!(
        "loadtest: {} connections, batch {}, ~{} bytes/request, warm-up {} s, measuring {} s against {}",
        args.connections, args.batch, average, args.warmup, args.duration, args.endpoint
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{}/statements", args.endpoint.trim_end_matches('/'));
    let probe = client
        .get(format!("{}/about", args.endpoint.trim_end_matches('/')))
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.endpoint))?;
    if !probe.status().is_success() {
        bail!("{}/about answered {}", args.endpoint, probe.status());
    }

    let counters = Arc::new(Counters::default());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (client, url, templates) = (client.clone(), url.clone(), templates.clone());
        let (counters, measuring, stop) = (counters.clone(), measuring.clone(), stop.clone());
        let args = args.clone();
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let body = fresh_body(&templates[i % templates.len()]);
                i += args.connections;
                let started = Instant::now();
                let result = client
                    .post(&url)
                    .basic_auth(&args.key, Some(&args.secret))
                    .header("X-Experience-API-Version", &args.xapi_version)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let ok = match result {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    let micros = started.elapsed().as_micros() as u64;
                    histogram.saturating_record(micros.max(1));
                    if ok {
                        counters.requests.fetch_add(1, Ordering::Relaxed);
                        counters
                            .statements
                            .fetch_add(args.batch as u64, Ordering::Relaxed);
                    } else {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            histogram
        }));
    }

    let probe = args.lag_probe.then(|| {
        let endpoint = args.endpoint.trim_end_matches('/').to_owned();
        tokio::spawn(lag::run(
            lag::Probe {
                client: client.clone(),
                read_endpoint: args
                    .read_endpoint
                    .as_deref()
                    .map_or(endpoint.clone(), |e| e.trim_end_matches('/').to_owned()),
                write_endpoint: endpoint,
                key: args.key.clone(),
                secret: args.secret.clone(),
                xapi_version: args.xapi_version.clone(),
                every: Duration::from_millis(50),
            },
            measuring.clone(),
            stop.clone(),
        ))
    });

    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let mut last = 0;
    for second in 1..=args.duration {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = counters.statements.load(Ordering::Relaxed);
        eprintln!(
            "[{second:>4}/{}] {:>9} statements/s  errors {}",
            args.duration,
            now - last,
            counters.errors.load(Ordering::Relaxed)
        );
        last = now;
    }
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for task in tasks {
        histogram.add(task.await?)?;
    }

    let lag = match probe {
        Some(task) => {
            let (lag, lost) = task.await?;
            Some(json!({
                "samples": lag.len(),
                "never_seen": lost,
                "p50": lag.value_at_quantile(0.50) as f64 / 1000.0,
                "p99": lag.value_at_quantile(0.99) as f64 / 1000.0,
                "max": lag.max() as f64 / 1000.0,
            }))
        }
        None => None,
    };
    let statements = counters.statements.load(Ordering::Relaxed);
    let requests = counters.requests.load(Ordering::Relaxed);
    let mut report = json!({
        "endpoint": args.endpoint,
        "connections": args.connections,
        "batch": args.batch,
        "seconds": elapsed,
        "requests": requests,
        "statements": statements,
        "errors": counters.errors.load(Ordering::Relaxed),
        "statements_per_second": statements as f64 / elapsed,
        "requests_per_second": requests as f64 / elapsed,
        "latency_ms": {
            "p50": histogram.value_at_quantile(0.50) as f64 / 1000.0,
            "p99": histogram.value_at_quantile(0.99) as f64 / 1000.0,
            "max": histogram.max() as f64 / 1000.0,
        },
    });
    println!(
        "statements/s {:.0}  requests/s {:.0}  p50 {:.1} ms  p99 {:.1} ms  errors {}",
        report["statements_per_second"].as_f64().unwrap(),
        report["requests_per_second"].as_f64().unwrap(),
        report["latency_ms"]["p50"].as_f64().unwrap(),
        report["latency_ms"]["p99"].as_f64().unwrap(),
        report["errors"]
    );
    if let Some(lag) = lag {
        println!(
            "visibility lag (acknowledged → readable): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  over {} probes ({} never seen)",
            lag["p50"].as_f64().unwrap(),
            lag["p99"].as_f64().unwrap(),
            lag["max"].as_f64().unwrap(),
            lag["samples"],
            lag["never_seen"]
        );
        report["visibility_lag_ms"] = lag;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
