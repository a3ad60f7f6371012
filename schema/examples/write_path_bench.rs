//! The write path per statement, today's `Value` path against the borrowed parse (issue 12), in
//! one run: parse + validate + stored bytes + index terms, for single-statement bodies and for
//! batches of 100.
//!
//! ```sh
//! cargo run --release -p lrs-schema --example write_path_bench -- [STATEMENTS.json] [SECONDS]
//! ```
//!
//! `STATEMENTS.json` is an array of statements (default: the Japanese fixture of the schema
//! tests; `loadtest generate --count 1000` writes a larger mix). Each body is sent as compact
//! JSON, as the load generator sends it. The two paths alternate in rounds of about 10 ms so
//! that a busy machine slows both alike; the result is the median time per statement of each
//! and their ratio.
//!
//! * `Value` path: `parse_statements` (simd-json → `serde_json::Value` → typed), then per
//!   statement `finalize_statement`, a `timestamp` if missing, `serde_json::to_vec`, and
//!   `index_terms` — what `lrs-api` prepare does.
//! * borrowed parse: `parse_statements_fast` (simd-json tape → typed), then `stored_body` and
//!   `index_terms`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lrs_schema::{
    XapiVersion, finalize_statement, format_timestamp, parse_statements, parse_statements_fast,
};
use serde_json::{Value, json};
use uuid::Uuid;

const VERSION: XapiVersion = XapiVersion::V1_0_3;

fn authority() -> Value {
    json!({"objectType": "Agent", "name": "bench", "account": {"homePage": "https://lrs.example.jp", "name": "bench"}})
}

fn value_path(body: &[u8], authority: &Value, timestamp: &str) -> usize {
    let parsed = parse_statements(body, VERSION).expect("valid");
    let mut bytes = 0;
    for (statement, mut value) in parsed {
        let id = statement.id().unwrap_or_else(Uuid::new_v4);
        finalize_statement(&mut value, id, authority, VERSION);
        if value.get("timestamp").is_none()
            && let Some(object) = value.as_object_mut()
        {
            object.insert("timestamp".into(), timestamp.into());
        }
        let stored = serde_json::to_vec(&value).expect("serializes");
        bytes += stored.len() + black_box(statement.index_terms()).verb.len();
    }
    bytes
}

fn borrowed_path(body: &[u8], authority: &[u8], timestamp: &str) -> usize {
    let parsed = parse_statements_fast(body, VERSION).expect("takes the borrowed parse");
    let mut bytes = 0;
    for fast in &parsed {
        let id = fast.statement().id().unwrap_or_else(Uuid::new_v4);
        let stored = fast.stored_body(id, authority, VERSION, timestamp);
        bytes += stored.len() + black_box(fast.statement().index_terms()).verb.len();
    }
    bytes
}

/// Median nanoseconds per statement of each path over alternating rounds.
fn compare(bodies: &[Vec<u8>], statements_per_body: usize, seconds: f64) -> (f64, f64) {
    let authority = authority();
    let authority_json = serde_json::to_vec(&authority).unwrap();
    let timestamp = format_timestamp(1_775_000_000_000_000);
    // Calibrate a round to about 10 ms of the Value path.
    let start = Instant::now();
    let mut calibrate = 0;
    while start.elapsed() < Duration::from_millis(10) {
        black_box(value_path(
            &bodies[calibrate % bodies.len()],
            &authority,
            &timestamp,
        ));
        calibrate += 1;
    }
    let per_round = calibrate.max(1);
    let mut value_times = Vec::new();
    let mut borrowed_times = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let start = Instant::now();
        for i in 0..per_round {
            black_box(value_path(
                &bodies[i % bodies.len()],
                &authority,
                &timestamp,
            ));
        }
        value_times.push(start.elapsed());
        let start = Instant::now();
        for i in 0..per_round {
            black_box(borrowed_path(
                &bodies[i % bodies.len()],
                &authority_json,
                &timestamp,
            ));
        }
        borrowed_times.push(start.elapsed());
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_nanos() as f64 / (per_round * statements_per_body) as f64
    };
    (median(&mut value_times), median(&mut borrowed_times))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/japan-statements.json"
        )
        .to_owned()
    });
    let seconds: f64 = args.next().map_or(10.0, |s| s.parse().expect("seconds"));
    let statements: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&path).expect("the statements file"))
            .expect("an array of statements");
    let singles: Vec<Vec<u8>> = statements
        .iter()
        .map(|s| serde_json::to_vec(s).unwrap())
        .collect();
    let batches: Vec<Vec<u8>> = (0..statements.len().div_ceil(100).max(5))
        .map(|b| {
            let batch: Vec<&Value> = (0..100)
                .map(|i| &statements[(b * 100 + i) % statements.len()])
                .collect();
            serde_json::to_vec(&batch).unwrap()
        })
        .collect();
    // Repeated statements share ids within a batch; ids are not checked here (prepare does).
    let mean_bytes = singles.iter().map(Vec::len).sum::<usize>() / singles.len();
    println!(
        "{} statements from {path}, {mean_bytes} bytes each on average",
        statements.len()
    );
    for (name, bodies, per_body) in [("single", &singles, 1), ("batch of 100", &batches, 100)] {
        let (value, borrowed) = compare(bodies, per_body, seconds / 2.0);
        println!(
            "{name}: Value path {:.2} µs/statement, borrowed parse {:.2} µs/statement, ratio {:.2} (borrowed / Value), {:.2}× as many statements per core",
            value / 1000.0,
            borrowed / 1000.0,
            borrowed / value,
            value / borrowed
        );
    }
}
