//! Append throughput and acknowledgement latency of the embedded log.
//!
//! ```text
//! cargo run --release -p lrs-log --example append_bench -- [RECORDS_OF_200KB] [RECORDS_OF_2KB] [DIR]
//! ```
//!
//! Two workloads: records of ~200 KB (a batch of 100 statements of ~2 KB, as the API appends per
//! request) from 16 tasks, and single statements of ~2 KB from 128 tasks. Every task keeps one
//! append in flight, like a connection waiting for its acknowledgement. The statements are synthetic
//! xAPI JSON with varying ids, names and timestamps, so lz4 compresses them about as much as real
//! ones. Afterwards one consumer reads everything back. Prints records/s, MB/s (uncompressed) and
//! the p50/p99/max acknowledgement latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log, LogErrorKind};

const STATEMENTS_PER_BATCH: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batches: usize = args
        .get(1)
        .map_or(1000, |arg| arg.parse().expect("records of 200 KB"));
    let singles: usize = args
        .get(2)
        .map_or(100_000, |arg| arg.parse().expect("records of 2 KB"));
    let parent = args.get(3).map(std::path::PathBuf::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let batch = statement_batch(0);
        println!(
            "record of {} statements: {} bytes",
            STATEMENTS_PER_BATCH,
            batch.len()
        );
        run(
            "200 KB records (100 statements)",
            batches,
            STATEMENTS_PER_BATCH,
            16,
            parent.as_deref(),
            |i| statement_batch(i as u64),
        )
        .await;
        run(
            "2 KB records (1 statement)",
            singles,
            1,
            128,
            parent.as_deref(),
            |i| Bytes::from(statement(i as u64)),
        )
        .await;
    });
}

async fn run(
    name: &str,
    records: usize,
    statements_per_record: usize,
    tasks: usize,
    parent: Option<&std::path::Path>,
    make: impl Fn(usize) -> Bytes,
) {
    let dir = match parent {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory");
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path())).expect("open");
    // Payloads are made up front so that the measurement covers the log only.
    let payloads: Arc<Vec<Bytes>> = Arc::new((0..records.min(1000)).map(&make).collect());
    let raw_bytes: usize = (0..records)
        .map(|i| payloads[i % payloads.len()].len())
        .sum();

    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let producer = log.producer();
        let payloads = payloads.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut backpressure = 0usize;
            let mut i = task;
            while i < records {
                let payload = payloads[i % payloads.len()].clone();
                let key = format!("actor-{i}");
                let sent = Instant::now();
                match producer.append(key.as_bytes(), payload).await {
                    Ok(_) => {
                        latencies.push(sent.elapsed());
                        i += tasks;
                    }
                    Err(err) if err.kind() == LogErrorKind::Backpressure => {
                        backpressure += 1;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err(err) => panic!("append failed: {err}"),
                }
            }
            (latencies, backpressure)
        }));
    }
    let mut latencies = Vec::with_capacity(records);
    let mut backpressure = 0;
    for handle in handles {
        let (task_latencies, task_backpressure) = handle.await.expect("task");
        latencies.extend(task_latencies);
        backpressure += task_backpressure;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let disk_bytes: u64 = std::fs::read_dir(dir.path().join("0"))
        .expect("partition dir")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum();
    println!("== {name}: {records} records from {tasks} tasks");
    println!(
        "append:  {:.0} records/s, {:.0} statements/s, {:.1} MB/s uncompressed, {:.1} MB/s to disk (ratio {:.2}), {:.2} s",
        records as f64 / elapsed.as_secs_f64(),
        (records * statements_per_record) as f64 / elapsed.as_secs_f64(),
        raw_bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        disk_bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        disk_bytes as f64 / raw_bytes as f64,
        elapsed.as_secs_f64(),
    );
    println!(
        "ack latency: p50 {:?}, p99 {:?}, max {:?}; backpressure refusals {backpressure}",
        percentile(0.50),
        percentile(0.99),
        latencies[latencies.len() - 1]
    );

    let started = Instant::now();
    let mut consumer = log.consumer("bench").expect("consumer");
    let mut consumed = 0;
    while consumed < records {
        consumed += consumer
            .poll(1000, Duration::from_secs(5))
            .await
            .expect("poll")
            .len();
    }
    let elapsed = started.elapsed();
    println!(
        "consume: {:.0} records/s, {:.1} MB/s uncompressed (from the page cache)",
        records as f64 / elapsed.as_secs_f64(),
        raw_bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    drop(consumer);
    tokio::task::spawn_blocking(move || log.close())
        .await
        .expect("close");
}

/// A batch of statements as the API would append it: a JSON array of ~2 KB statements.
fn statement_batch(seed: u64) -> Bytes {
    let statements: Vec<String> = (0..STATEMENTS_PER_BATCH as u64)
        .map(|i| statement(seed * STATEMENTS_PER_BATCH as u64 + i))
        .collect();
    Bytes::from(format!("[{}]", statements.join(",")))
}

/// A synthetic xAPI statement of ~2 KB whose ids, names, scores and times vary like real ones.
fn statement(n: u64) -> String {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let id = format!(
        "{:016x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        next(),
        next() & 0xffff,
        next() & 0xfff,
        next() & 0xfff,
        next() & 0xffff_ffff_ffff
    );
    let family = [
        "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村",
    ][(next() % 8) as usize];
    let given = [
        "太郎", "花子", "一郎", "美咲", "翔太", "陽菜", "大輝", "結衣",
    ][(next() % 8) as usize];
    let learner = next() % 100_000;
    let course = next() % 500;
    let score = next() % 101;
    let seconds = next() % 86_400;
    let session = format!("{:032x}", u128::from(next()) << 64 | u128::from(next()));
    let statement = format!(
        r#"{{"id":"{id}","actor":{{"objectType":"Agent","name":"{family} {given}","mbox":"mailto:learner{learner}@example.ac.jp","account":{{"homePage":"https://lms.example.ac.jp","name":"learner-{learner}"}}}},"verb":{{"id":"http://adlnet.gov/expapi/verbs/completed","display":{{"ja-JP":"完了した","en-US":"completed"}}}},"object":{{"objectType":"Activity","id":"https://lms.example.ac.jp/courses/{course}/modules/{score}","definition":{{"name":{{"ja-JP":"第{course}講 情報リテラシー基礎 第{score}回 小テスト","en-US":"Course {course} information literacy quiz {score}"}},"description":{{"ja-JP":"情報リテラシーの基礎を確認する小テストです。ネットワーク、セキュリティ、著作権、データの扱いについて出題します。","en-US":"A short quiz on the basics of information literacy: networks, security, copyright and handling data."}},"type":"http://adlnet.gov/expapi/activities/assessment","interactionType":"choice","correctResponsesPattern":["golf[,]tetris"]}}}},"result":{{"score":{{"scaled":0.{score:02},"raw":{score},"min":0,"max":100}},"success":{success},"completion":true,"duration":"PT{minutes}M{secs}S","response":"golf[,]tetris"}},"context":{{"registration":"{session}","contextActivities":{{"parent":[{{"id":"https://lms.example.ac.jp/courses/{course}","objectType":"Activity"}}],"grouping":[{{"id":"https://lms.example.ac.jp/programs/{program}","objectType":"Activity"}}],"category":[{{"id":"https://w3id.org/xapi/scorm","objectType":"Activity"}}]}},"platform":"Moodle 4.3","language":"ja-JP","extensions":{{"https://lms.example.ac.jp/xapi/session":"{session}","https://lms.example.ac.jp/xapi/device":"{device}"}}}},"timestamp":"2026-11-{day:02}T{hours:02}:{mins:02}:{secs:02}.{millis:03}+09:00","stored":"2026-11-{day:02}T{hours:02}:{mins:02}:{secs:02}.{millis:03}Z","authority":{{"objectType":"Agent","name":"LMS","mbox":"mailto:lms@example.ac.jp"}},"version":"1.0.3"}}"#,
        success = score >= 60,
        minutes = next() % 60,
        program = next() % 40,
        device = ["pc", "tablet", "phone"][(next() % 3) as usize],
        day = 1 + next() % 28,
        hours = seconds / 3600,
        mins = seconds / 60 % 60,
        secs = seconds % 60,
        millis = next() % 1000,
    );
    statement
}
