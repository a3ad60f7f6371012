//! The floor under the write path (issue 5): what the same request bodies cost without HTTP,
//! without typed validation and without the pipeline, on the same embedded engine.
//!
//! ```text
//! loadtest generate --count 20000 > /tmp/statements.json
//! cargo run --release -p lrs --example floor -- /tmp/statements.json BATCH SECONDS [DIR]
//! ```
//!
//! The statements are cut into request bodies of BATCH statements, exactly as `loadtest post`
//! sends them. Untimed, each statement is prepared once the way the LRS would (typed parse, index
//! keys, stored JSON). Timed, for SECONDS: 32 tasks (like 32 connections) each take a body,
//! parse it with simd-json (borrowed, no validation), append it durably to the embedded log
//! (fsync'd, group-committed) and hand its rows, with fresh ids, to one writer that writes them
//! to the embedded store in batches, as ingest does; beyond a backlog of 30 000 rows the tasks
//! wait (as the LRS answers 503 beyond its ingest lag bound). Statements/s counts rows written
//! to the store. `lrs serve` measured in the same run, divided by this, is "the ratio to the floor".

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log, LogErrorKind};
use lrs_schema::envelope::IndexKeys;
use lrs_schema::{XapiVersion, parse_statements};
use lrs_store::{EmbeddedStore, StatementRow, StatementWriter};
use tokio::sync::mpsc;

const TASKS: usize = 32;
/// Rows per store write at most (ingest applies about this many per batch too).
const WRITE_BATCH: usize = 4_096;
/// Appended rows not yet written to the store beyond which the tasks wait, as the LRS refuses
/// writes beyond its ingest lag bound: the floor is the rate the store sustains, measured on a
/// store of the size the run produces (not the log's rate with an ever-growing backlog).
const MAX_BACKLOG_ROWS: u64 = 30_000;

/// One request body and the statements it carries, prepared as the LRS would store them.
struct Request {
    body: Bytes,
    statements: Vec<(IndexKeys, Bytes)>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(batch), Some(seconds)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: floor STATEMENTS.json BATCH SECONDS [DIR]");
        std::process::exit(2);
    };
    let batch: usize = batch.parse().expect("BATCH");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let parent = args.get(4).map(PathBuf::from);
    let requests = Arc::new(prepare(file, batch));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(requests, batch, Duration::from_secs(seconds), parent));
}

fn prepare(file: &str, batch: usize) -> Vec<Request> {
    let text = std::fs::read(file).expect("statements file");
    let all: Vec<serde_json::Value> = serde_json::from_slice(&text).expect("a JSON array");
    all.chunks(batch)
        .map(|chunk| {
            let body = if batch == 1 {
                serde_json::to_vec(&chunk[0])
            } else {
                serde_json::to_vec(chunk)
            }
            .expect("serializes");
            let statements = parse_statements(&body, XapiVersion::V1_0_3)
                .expect("generated statements are valid")
                .into_iter()
                .map(|(statement, value)| {
                    let keys = IndexKeys::from_terms(&statement.index_terms());
                    let stored = serde_json::to_vec(&value).expect("serializes");
                    (keys, Bytes::from(stored))
                })
                .collect();
            Request {
                body: Bytes::from(body),
                statements,
            }
        })
        .collect()
}

async fn run(requests: Arc<Vec<Request>>, batch: usize, length: Duration, parent: Option<PathBuf>) {
    let dir = match &parent {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory");
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).expect("log");
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).expect("store"));
    let (rows_tx, rows_rx) = mpsc::unbounded_channel::<Vec<StatementRow>>();
    let backlog = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_rows(store, rows_rx, backlog.clone()));

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (producer, requests, rows_tx) = (log.producer(), requests.clone(), rows_tx.clone());
        let (stop, acknowledged, backlog) = (stop.clone(), acknowledged.clone(), backlog.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = task;
            while !stop.load(Ordering::Relaxed) {
                if backlog.load(Ordering::Relaxed) >= MAX_BACKLOG_ROWS {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                let request = &requests[i % requests.len()];
                let mut scratch = request.body.to_vec();
                let parsed = simd_json::to_borrowed_value(&mut scratch).expect("valid JSON");
                drop(parsed);
                match producer
                    .append(&(i as u64).to_be_bytes(), request.body.clone())
                    .await
                {
                    Ok(_) => {}
                    Err(err) if err.kind() == LogErrorKind::Backpressure => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    Err(err) => panic!("append failed: {err}"),
                }
                let stored = lrs_store::now_micros();
                let rows = request
                    .statements
                    .iter()
                    .map(|(keys, body)| StatementRow {
                        tenant: "floor".to_owned(),
                        stored,
                        id: uuid::Uuid::new_v4(),
                        keys: keys.clone(),
                        inherited: None,
                        body: body.clone(),
                        study: None,
                    })
                    .collect();
                acknowledged.fetch_add(request.statements.len() as u64, Ordering::Relaxed);
                backlog.fetch_add(request.statements.len() as u64, Ordering::Relaxed);
                let _ = rows_tx.send(rows);
                i += TASKS;
            }
        }));
    }
    drop(rows_tx);
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("task");
    }
    let acknowledged_at = started.elapsed();
    let written = writer.await.expect("writer");
    let elapsed = started.elapsed();
    println!(
        "floor, batch {batch}: {:.0} statements/s written to the store ({written} in {:.1} s); \
         {:.0} statements/s acknowledged by the log",
        written as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        acknowledged.load(Ordering::Relaxed) as f64 / acknowledged_at.as_secs_f64(),
    );
}

/// Writes everything that arrives, coalesced into batches of up to [`WRITE_BATCH`] rows.
async fn write_rows(
    store: Arc<EmbeddedStore>,
    mut rows_rx: mpsc::UnboundedReceiver<Vec<StatementRow>>,
    backlog: Arc<AtomicU64>,
) -> u64 {
    let mut written = 0u64;
    let mut pending: Vec<StatementRow> = Vec::with_capacity(WRITE_BATCH);
    while let Some(rows) = rows_rx.recv().await {
        pending.extend(rows);
        while pending.len() < WRITE_BATCH {
            match rows_rx.try_recv() {
                Ok(more) => pending.extend(more),
                Err(_) => break,
            }
        }
        store.write_statements(&pending).await.expect("store write");
        written += pending.len() as u64;
        backlog.fetch_sub(pending.len() as u64, Ordering::Relaxed);
        pending.clear();
    }
    written
}
