//! The final report of a run, as text (stdout) and JSON (`--json FILE`).
//!
//! The JSON keeps the fields `bench.sh` and `distributed-bench.sh` read at the top level
//! (`statements_per_second`, `requests_per_second`, `statements`, `seconds`, `latency_ms` of the
//! writes, `visibility_lag_ms`) and adds `write` and `read` sections with status counts and
//! p50/p90/p99/p999/max, the open loop's schedule, and `verify`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::args::Workload;
use crate::stats::{KindStats, Stats};

/// "closed loop, 32 connections" or "open loop, 500 requests/s (≤ 32 in flight)".
pub fn mode(workload: &Workload) -> String {
    match workload.rate {
        Some(rate) => format!(
            "open loop, {rate} requests/s (at most {} in flight)",
            workload.connections
        ),
        None => format!("closed loop, {} connections", workload.connections),
    }
}

/// The report of one target.
pub fn json(endpoint: &str, workload: &Workload, stats: &Stats) -> Value {
    let seconds = stats.seconds;
    json!({
        "endpoint": endpoint,
        "mode": if workload.rate.is_some() { "open" } else { "closed" },
        "rate_requests_per_second": workload.rate,
        "connections": workload.connections,
        "batch": workload.batch,
        "read_ratio": workload.read_ratio,
        "xapi_version": workload.xapi_version,
        "seconds": seconds,
        "requests": stats.write.ok,
        "statements": stats.write.statements,
        "errors": stats.write.errors + stats.read.errors,
        "statements_per_second": stats.statements_per_second(),
        "requests_per_second": stats.write.ok as f64 / seconds.max(f64::EPSILON),
        "latency_ms": stats.write.latency_json(),
        "write": stats.write.json(seconds),
        "read": stats.read.json(seconds),
        "behind_schedule": {
            "requests": stats.behind_schedule,
            "threshold_ms": crate::stats::LATE.as_secs_f64() * 1000.0,
            "max_ms": stats.max_behind_us as f64 / 1000.0,
            "never_sent": stats.unsent,
        },
    })
}

fn statuses(kind: &KindStats) -> String {
    kind.status
        .iter()
        .map(|(status, count)| format!("{status}×{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn latencies(kind: &KindStats) -> String {
    format!(
        "p50 {:.1}  p90 {:.1}  p99 {:.1}  p999 {:.1}  max {:.1} ms",
        kind.ms(0.50),
        kind.ms(0.90),
        kind.ms(0.99),
        kind.ms(0.999),
        kind.latency.max() as f64 / 1000.0
    )
}

/// The report of one target as text.
pub fn text(endpoint: &str, workload: &Workload, stats: &Stats) -> String {
    let seconds = stats.seconds.max(f64::EPSILON);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{endpoint}: {}, batch {}, {:.1} s measured",
        mode(workload),
        workload.batch,
        stats.seconds
    );
    let _ = writeln!(
        out,
        "statements/s {:.0}  requests/s {:.0}  p50 {:.1} ms  p99 {:.1} ms  errors {}",
        stats.statements_per_second(),
        stats.write.ok as f64 / seconds,
        stats.write.ms(0.50),
        stats.write.ms(0.99),
        stats.write.errors + stats.read.errors
    );
    if stats.write.requests() > 0 {
        let _ = writeln!(
            out,
            "  writes  {:>8} requests  {}  status {}",
            stats.write.requests(),
            latencies(&stats.write),
            statuses(&stats.write)
        );
    }
    if stats.read.requests() > 0 {
        let _ = writeln!(
            out,
            "  reads   {:>8} pages     {}  status {}  ({:.0} pages/s, {} statements returned)",
            stats.read.requests(),
            latencies(&stats.read),
            statuses(&stats.read),
            stats.read.ok as f64 / seconds,
            stats.read.statements
        );
    }
    if workload.rate.is_some() {
        let _ = writeln!(
            out,
            "  schedule: {} requests started more than {} ms late (latest {:.1} ms), {} due but never sent; latency counts from the intended send time",
            stats.behind_schedule,
            crate::stats::LATE.as_millis(),
            stats.max_behind_us as f64 / 1000.0,
            stats.unsent
        );
    }
    out
}
