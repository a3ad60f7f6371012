//! Store throughput and read latency on realistic statements: the embedded store, or PostgreSQL.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-store cargo run --release -p lrs-store --example write_bench -- \
//!     [statements=1000000] [ids=v4|v7] [dir] [batch=1000]
//! LRS_BENCH_POSTGRES=postgres://… cargo run --release -p lrs-store --features postgres \
//!     --example write_bench -- [statements] [ids] - [batch]
//! ```
//!
//! With `LRS_BENCH_POSTGRES` set, the statements go to a fresh schema of that PostgreSQL database
//! (dropped at the end), and the bench reports the rows each table holds per statement; `dir` is
//! ignored.
//!
//! Writes `statements` rows of ~2 KB (Japanese drill answers, 8–9 index entries each) in batches of
//! `batch` (ingest writes up to ~4,096), one writer, each batch fsynced, `stored` increasing (one request of 100 statements shares
//! a `stored`). Ids are random v4 (what clients send) or time-ordered v7. Then the read side of a
//! learner dashboard: the 100 newest statements of one learner (scan + get), as p50/p99.

use std::time::{Duration, Instant};

use bytes::Bytes;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::suite::Rng;
use lrs_store::{
    AccessPath, EmbeddedStore, IndexScan, StatementReader, StatementRow, StatementWriter,
};
use uuid::Uuid;

const REQUEST: usize = 100;
const LEARNERS: u64 = 5_000;
const ITEMS: u64 = 400;
const SETS: u64 = 40;
const TOOLS: u64 = 6;
const READ_QUERIES: usize = 2_000;
const TENANT: &str = "board-131016";
const VERBS: [(&str, &str); 4] = [
    ("answered", "回答した"),
    ("completed", "完了した"),
    ("attempted", "挑戦した"),
    ("experienced", "閲覧した"),
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = args
        .first()
        .map_or(1_000_000, |a| a.parse().expect("statement count"));
    let time_ordered_ids = args.get(1).is_some_and(|a| a == "v7");
    let temp = tempfile::tempdir().expect("temporary directory");
    let dir = args.get(2).map_or(temp.path().to_path_buf(), Into::into);
    let batch: usize = args
        .get(3)
        .map_or(1_000, |a| a.parse().expect("batch size"));
    if let Ok(url) = std::env::var("LRS_BENCH_POSTGRES") {
        return postgres::run(&url, total, time_ordered_ids, batch).await;
    }
    let store = EmbeddedStore::open(&dir).expect("open store");
    println!("embedded store in {}", dir.display());
    let mut rng = Rng::new(2026);
    let body_bytes = write(&store, &mut rng, total, time_ordered_ids, batch).await;
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "  fjall inserts (rows, index blocks): {:.2}/statement",
        store.statement_inserts().expect("inserts") as f64 / total as f64
    );
    println!(
        "  disk space now: {:.0} MB ({:.2}× the bodies)",
        mb(store.disk_space().expect("disk space")),
        store.disk_space().expect("disk space") as f64 / body_bytes as f64
    );

    read_bench(&store, &mut rng).await;
}

/// Writes `total` statements in batches of `batch`, one writer, and prints the rate: the body
/// bytes written.
async fn write<S: StatementWriter>(
    store: &S,
    rng: &mut Rng,
    total: usize,
    time_ordered_ids: bool,
    batch: usize,
) -> u64 {
    println!(
        "writing {total} statements, ids {}, batches of {batch}",
        if time_ordered_ids { "v7" } else { "v4" },
    );
    let start_stored: i64 = 1_764_000_000_000_000;
    let disk_before = process_write_bytes();
    let cpu_before = process_cpu_seconds();
    let (mut body_bytes, mut index_entries) = (0u64, 0u64);
    let mut writing = Duration::ZERO;
    let mut interval = (Instant::now(), Duration::ZERO, 0usize);
    let started = Instant::now();
    for batch_start in (0..total).step_by(batch) {
        let rows: Vec<StatementRow> = (batch_start..(batch_start + batch).min(total))
            .map(|n| {
                let stored = start_stored + (n / REQUEST) as i64 * 2_000;
                let id = if time_ordered_ids {
                    Uuid::now_v7()
                } else {
                    Uuid::new_v4()
                };
                statement(rng, id, stored)
            })
            .collect();
        for row in &rows {
            body_bytes += row.body.len() as u64;
            index_entries += index_entry_count(&row.keys);
        }
        let t = Instant::now();
        store.write_statements(&rows).await.expect("write");
        writing += t.elapsed();
        interval.1 += t.elapsed();
        interval.2 += rows.len();
        let written = batch_start + rows.len();
        if written / 100_000 != batch_start / 100_000 || written == total {
            println!(
                "  {written:>8} written: last {} at {:>7.0}/s (write calls only), cumulative {:>7.0}/s",
                interval.2,
                interval.2 as f64 / interval.1.as_secs_f64(),
                written as f64 / writing.as_secs_f64(),
            );
            interval = (Instant::now(), Duration::ZERO, 0);
        }
    }
    let wall = started.elapsed();
    let device = process_write_bytes().zip(disk_before).map(|(a, b)| a - b);
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "write: {total} statements in {:.1} s wall ({:.1} s in write_statements): {:.0} statements/s",
        wall.as_secs_f64(),
        writing.as_secs_f64(),
        total as f64 / writing.as_secs_f64()
    );
    println!(
        "  bodies {:.0} MB ({:.0} B/statement), {:.2} index entries/statement",
        mb(body_bytes),
        body_bytes as f64 / total as f64,
        index_entries as f64 / total as f64
    );
    if let Some(cpu) = cpu {
        println!(
            "  process CPU while writing: {:.1} µs/statement (user + system, every thread of \
             this process: generating the rows, the write calls, and for the embedded store \
             fjall's flushes and compactions)",
            cpu * 1e6 / total as f64
        );
    }
    if let Some(device) = device {
        println!(
            "  written to the device by this process so far: {:.0} MB ({:.2}× the bodies)",
            mb(device),
            device as f64 / body_bytes as f64
        );
    }
    body_bytes
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    pub async fn run(_: &str, _: usize, _: bool, _: usize) {
        panic!("LRS_BENCH_POSTGRES needs the bench built with `--features postgres`");
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use lrs_store::PostgresStore;

    use super::*;

    /// The bench against a fresh schema of the database at `url`, then the rows per statement
    /// of every statement table; the schema is dropped at the end.
    pub async fn run(url: &str, total: usize, time_ordered_ids: bool, batch: usize) {
        let schema = format!("lrs_bench_{}", Uuid::new_v4().simple());
        println!("PostgreSQL, schema {schema}");
        let store = PostgresStore::connect_in_schema(url, &schema)
            .await
            .expect("connect");
        let mut rng = Rng::new(2026);
        write(&store, &mut rng, total, time_ordered_ids, batch).await;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = $1 AND (table_name LIKE 'statement%' OR table_name = 'voided') \
                 ORDER BY table_name",
                &[&schema],
            )
            .await
            .expect("tables");
        let mut index_rows = 0i64;
        for table in tables.iter().map(|row| row.get::<_, String>(0)) {
            let count: i64 = client
                .query_one(&format!("SELECT count(*) FROM {schema}.{table}"), &[])
                .await
                .expect("count")
                .get(0);
            let size: i64 = client
                .query_one(
                    "SELECT pg_total_relation_size(($1 || '.' || $2)::regclass)",
                    &[&schema, &table],
                )
                .await
                .expect("size")
                .get(0);
            if table.starts_with("statements_by_") {
                index_rows += count;
            }
            println!(
                "  {table}: {count} rows ({:.2}/statement), {:.1} MB with indexes",
                count as f64 / total as f64,
                size as f64 / 1e6
            );
        }
        println!(
            "  index rows (statements_by_*): {:.2}/statement",
            index_rows as f64 / total as f64
        );
        read_bench(&store, &mut rng).await;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop the bench schema");
    }
}

/// The 100 newest statements of one learner: one descending scan, one batched get.
async fn read_bench<S: StatementReader>(store: &S, rng: &mut Rng) {
    let mut latencies = Vec::with_capacity(READ_QUERIES);
    let mut returned = 0usize;
    for _ in 0..READ_QUERIES {
        let learner = rng.below(LEARNERS);
        let t = Instant::now();
        let positions = store
            .scan(&IndexScan {
                tenant: TENANT.into(),
                path: AccessPath::Agent(Key16::of(&learner_ifi(learner))),
                since: None,
                until: None,
                after: None,
                ascending: false,
                limit: 100,
            })
            .await
            .expect("scan");
        let ids: Vec<Uuid> = positions.iter().map(|p| p.id).collect();
        let statements = store.get_statements(TENANT, &ids).await.expect("get");
        latencies.push(t.elapsed());
        returned += statements.iter().flatten().count();
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "read: {READ_QUERIES} × (100 newest of one of {LEARNERS} learners: scan + get), {:.1} statements each: p50 {:?}, p99 {:?}, max {:?}",
        returned as f64 / READ_QUERIES as f64,
        at(0.50),
        at(0.99),
        at(1.0)
    );
}

fn learner_ifi(n: u64) -> String {
    format!(
        "account::https://eportal.example.jp::{:08x}",
        n.wrapping_mul(0x9e37_79b9) as u32
    )
}

fn index_entry_count(keys: &IndexKeys) -> u64 {
    (3 + u64::from(keys.registration.is_some()))
        + (keys.direct_agents.len()
            + keys.related_agents.len()
            + keys.direct_activities.len()
            + keys.related_activities.len()) as u64
}

/// One drill answer as the API would have stored it: ~2 KB of JSON plus its index keys.
fn statement(rng: &mut Rng, id: Uuid, stored: i64) -> StatementRow {
    let learner = rng.below(LEARNERS);
    let item = rng.below(ITEMS);
    let set = item % SETS;
    let tool = set % TOOLS;
    let (verb, verb_ja) = VERBS[(rng.below(10) as usize).min(3) % 4];
    let registration =
        (rng.below(2) == 0).then(|| Uuid::from_u128(u128::from(learner) << 64 | u128::from(set)));
    let learner_ifi = learner_ifi(learner);
    let learner_name = learner_ifi
        .rsplit("::")
        .next()
        .unwrap_or_default()
        .to_owned();
    let item_iri = format!("https://drill.example.jp/items/sci-p4-{set:03}-{item:04}");
    let set_iri = format!("https://drill.example.jp/sets/sci-p4-{set:03}");
    let verb_iri = format!("http://adlnet.gov/expapi/verbs/{verb}");
    let authority = format!("account::https://lrs.example.jp::tool-{tool}");
    let raw = rng.below(11);
    let seconds = 20 + rng.below(400);
    let choice = ["a", "b", "c", "d"][rng.below(4) as usize];
    let body = format!(
        r#"{{"id":"{id}","actor":{{"objectType":"Agent","name":"児童 {learner_name}","account":{{"homePage":"https://eportal.example.jp","name":"{learner_name}"}}}},"verb":{{"id":"{verb_iri}","display":{{"ja-JP":"{verb_ja}","en-US":"{verb}"}}}},"object":{{"objectType":"Activity","id":"{item_iri}","definition":{{"name":{{"ja-JP":"月の満ち欠け 問題{item}","en-US":"Phases of the moon, item {item}"}},"description":{{"ja-JP":"夕方、南の空に半月が見えました。この月はこの後どちらの方向に動いて見えるでしょうか。図を見て、正しいものを一つ選びなさい。(第{set}単元 確認テスト)"}},"type":"http://adlnet.gov/expapi/activities/cmi.interaction","interactionType":"choice","correctResponsesPattern":["b"],"choices":[{{"id":"a","description":{{"ja-JP":"東の方へ動いて見える"}}}},{{"id":"b","description":{{"ja-JP":"西の方へ動いて見える"}}}},{{"id":"c","description":{{"ja-JP":"北の方へ動いて見える"}}}},{{"id":"d","description":{{"ja-JP":"動かないで同じ位置に見える"}}}}]}}}},"result":{{"score":{{"scaled":{scaled},"raw":{raw},"min":0,"max":10}},"success":{success},"completion":true,"response":"{choice}","duration":"PT{seconds}S","extensions":{{"https://drill.example.jp/xapi/ext/attempt":{attempt},"https://drill.example.jp/xapi/ext/hint-used":{hint}}}}},"context":{{"registration":"{registration}","contextActivities":{{"parent":[{{"id":"{set_iri}","objectType":"Activity"}}],"grouping":[{{"id":"https://eportal.example.jp/courses/2026-g4-science","objectType":"Activity"}}],"category":[{{"id":"https://w3id.org/xapi/jp/edu/profile","objectType":"Activity"}}]}},"platform":"ドリルアプリ tool-{tool} (iPadOS 19.1)","language":"ja-JP","extensions":{{"https://w3id.org/xapi/jp/edu/ext/school-code":"13101{school:04}","https://w3id.org/xapi/jp/edu/ext/grade":4,"https://w3id.org/xapi/jp/edu/ext/class":"{class}組","https://w3id.org/xapi/jp/edu/ext/course-of-study-code":"8260243112000000"}}}},"timestamp":"2026-11-29T09:{minute:02}:{second:02}.{millis:03}+09:00","authority":{{"objectType":"Agent","account":{{"homePage":"https://lrs.example.jp","name":"tool-{tool}"}}}},"version":"1.0.3"}}"#,
        scaled = raw as f64 / 10.0,
        success = choice == "b",
        attempt = 1 + rng.below(3),
        hint = rng.below(2) == 0,
        registration = registration.unwrap_or_default(),
        school = learner % 300,
        class = 1 + learner % 4,
        minute = rng.below(60),
        second = rng.below(60),
        millis = rng.below(1000),
    );
    let keys = IndexKeys {
        verb: Key16::of(&verb_iri),
        authority: Key16::of(&authority),
        registration,
        voids: None,
        refers_to: None,
        direct_agents: vec![Key16::of(&learner_ifi)],
        related_agents: vec![Key16::of(&learner_ifi)],
        direct_activities: vec![Key16::of(&item_iri)],
        related_activities: sorted(vec![Key16::of(&item_iri), Key16::of(&set_iri)]),
    };
    StatementRow {
        tenant: TENANT.into(),
        stored,
        id,
        keys,
        inherited: None,
        body: Bytes::from(body),
        study: None,
    }
}

fn sorted(mut keys: Vec<Key16>) -> Vec<Key16> {
    keys.sort();
    keys
}

/// CPU seconds (user + system) of every thread of this process so far (Linux `/proc/self/stat`).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    // Clock ticks: 100 per second on Linux (USER_HZ).
    Some((user + system) / 100.0)
}

/// Bytes this process has caused to be written to the block device (Linux `/proc/self/io`).
fn process_write_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes: "))
        .and_then(|v| v.trim().parse().ok())
}
