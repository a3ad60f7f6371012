//! `loadtest raw-produce`: how fast the Kafka log takes records, without the LRS in front.
//!
//! Each record is what the API appends for one batch POST: a `StatementEnvelope` (the real
//! encoder of `lrs-schema`) of `--batch` generated statements, each with fresh ids, `authority` and
//! `version` set and its index keys computed by the real parser. Records go through
//! `lrs_log::KafkaLog` opened from a `kafka://` URI, so the producer settings are the log's own
//! (acks=all, idempotence, lz4, linger, batch size). At most `--in-flight` appends are pending at
//! once, like that many concurrent POSTs waiting for their acknowledgement.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;
use lrs_log::{KafkaLog, KafkaLogConfig, Log};
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, StatementEnvelope};
use lrs_schema::{Statement, XapiVersion, authority_terms};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::generator::{Generator, Population};

#[derive(clap::Args)]
pub struct RawProduceArgs {
    /// The Kafka log as `log.uri` names it, e.g.
    /// kafka://127.0.0.1:9092/bench?partitions=3 (the topic is created when missing).
    #[arg(long)]
    uri: String,
    /// Records to produce.
    #[arg(long, default_value_t = 5_000)]
    records: usize,
    /// Statements per record (the API appends one record per POST).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Appends pending at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The tenant and authority every generated record carries.
const TENANT: &str = "loadtest";
const AUTHORITY_HOME: &str = "https://lrs.example.jp";

/// One statement of a record template, with where its id sits in the body.
struct TemplateStatement {
    statement: EnvelopeStatement,
    id_offset: usize,
}

/// One record's statements, encoded afresh (new ids, new `stored`) for every append.
struct Template {
    key: Vec<u8>,
    statements: Vec<TemplateStatement>,
}

fn templates(args: &RawProduceArgs, count: usize) -> anyhow::Result<Vec<Template>> {
    let mut generator = Generator::new(args.seed, Population::default());
    let authority =
        json!({"objectType": "Agent", "account": {"homePage": AUTHORITY_HOME, "name": TENANT}});
    let authority_terms = authority_terms(&authority, XapiVersion::V1_0_3)?;
    (0..count)
        .map(|_| {
            let batch = generator.batch(args.batch);
            // Like the API, the partition key follows the first actor, spreading learners.
            let key = batch[0]["actor"]["account"]["name"]
                .as_str()
                .unwrap_or(TENANT)
                .as_bytes()
                .to_vec();
            let statements = batch
                .into_iter()
                .map(|statement| template_statement(statement, &authority, &authority_terms))
                .collect::<anyhow::Result<_>>()?;
            Ok(Template { key, statements })
        })
        .collect()
}

fn template_statement(
    mut value: Value,
    authority: &Value,
    authority_terms: &[String],
) -> anyhow::Result<TemplateStatement> {
    let statement = Statement::from_json(&value, XapiVersion::V1_0_3, "$")
        .context("a generated statement does not parse")?;
    let mut terms = statement.index_terms();
    terms.authority = authority_terms.first().cloned().unwrap_or_default();
    terms.related_agents.extend(authority_terms.iter().cloned());
    value["authority"] = authority.clone();
    value["version"] = json!("1.0.3");
    let id = value["id"]
        .as_str()
        .context("generated statements have ids")?
        .to_owned();
    let body = serde_json::to_vec(&value)?;
    let id_offset = std::str::from_utf8(&body)?
        .find(&id)
        .context("the id is in the body")?;
    Ok(TemplateStatement {
        statement: EnvelopeStatement {
            id: Uuid::parse_str(&id)?,
            keys: IndexKeys::from_terms(&terms),
            body,
            study: None,
        },
        id_offset,
    })
}

/// A record of `template` with fresh statement ids and the current time as `stored`.
fn record(template: &Template) -> anyhow::Result<Bytes> {
    let statements = template
        .statements
        .iter()
        .map(|t| {
            let mut statement = t.statement.clone();
            statement.id = Uuid::new_v4();
            statement
                .id
                .hyphenated()
                .encode_lower(&mut statement.body[t.id_offset..t.id_offset + 36]);
            statement
        })
        .collect();
    let stored = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as i64;
    let envelope = StatementEnvelope {
        tenant: TENANT.to_owned(),
        stored,
        statements,
    };
    Ok(Bytes::from(envelope.encode()?))
}

pub async fn run(args: RawProduceArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.batch > 0 && args.in_flight > 0,
        "--batch and --in-flight must be positive"
    );
    let config = KafkaLogConfig::from_uri(&args.uri)?;
    let templates = templates(&args, 64)?;
    let log = KafkaLog::open(config.clone())
        .await
        .with_context(|| format!("opening {}", args.uri))?;
    let producer = log.producer();
    let sample: usize = templates
        .iter()
        .map(|t| record(t).map(|r| r.len()))
        .sum::<anyhow::Result<usize>>()?;
    eprintln!(
        "raw-produce: {} records of {} statements (~{} bytes each) into {} ({} partitions), {} in flight",
        args.records,
        args.batch,
        sample / templates.len(),
        config.topic,
        config.partitions,
        args.in_flight
    );

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut acknowledged, mut failed, mut bytes) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    let mut pending = FuturesUnordered::new();
    let started = Instant::now();
    let mut next = 0;
    while next < args.records || !pending.is_empty() {
        while next < args.records && pending.len() < args.in_flight {
            let template = &templates[next % templates.len()];
            let payload = record(template)?;
            let size = payload.len() as u64;
            let append = producer.append(&template.key, payload);
            let sent = Instant::now();
            pending.push(async move { (append.await, sent.elapsed(), size) });
            next += 1;
        }
        if let Some((result, elapsed, size)) = pending.next().await {
            latency.saturating_record((elapsed.as_micros() as u64).max(1));
            match result {
                Ok(_) => {
                    acknowledged += 1;
                    bytes += size;
                }
                Err(err) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| err.to_string());
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(producer);
    log.flush(Duration::from_secs(10))?;

    let statements = acknowledged * args.batch as u64;
    let report = json!({
        "uri": args.uri,
        "records": acknowledged,
        "failed": failed,
        "first_error": first_error,
        "statements_per_record": args.batch,
        "in_flight": args.in_flight,
        "seconds": seconds,
        "records_per_second": acknowledged as f64 / seconds,
        "statements_per_second": statements as f64 / seconds,
        "megabytes_per_second": bytes as f64 / seconds / 1e6,
        "average_record_bytes": bytes.checked_div(acknowledged).unwrap_or(0),
        "append_latency_ms": {
            "p50": latency.value_at_quantile(0.50) as f64 / 1000.0,
            "p99": latency.value_at_quantile(0.99) as f64 / 1000.0,
            "max": latency.max() as f64 / 1000.0,
        },
    });
    println!(
        "records/s {:.0}  statements/s {:.0}  MB/s {:.1}  append p50 {:.1} ms  p99 {:.1} ms  failed {}",
        report["records_per_second"].as_f64().unwrap_or_default(),
        report["statements_per_second"].as_f64().unwrap_or_default(),
        report["megabytes_per_second"].as_f64().unwrap_or_default(),
        report["append_latency_ms"]["p50"]
            .as_f64()
            .unwrap_or_default(),
        report["append_latency_ms"]["p99"]
            .as_f64()
            .unwrap_or_default(),
        failed
    );
    if let Some(error) = &first_error {
        eprintln!("raw-produce: first failure: {error}");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
