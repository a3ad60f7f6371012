//! `lrs_store_operation_duration_seconds{op}`: how long store calls take, timed where they are
//! made (the ingest loop here; the api/query handlers with the same histogram), never inside a
//! backend, so every backend is measured alike.

use std::future::Future;
use std::time::Instant;

use prometheus::{HistogramOpts, HistogramVec};

/// Bucket bounds (seconds) of the latency histograms: 100 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The store calls ingest makes once per batch.
pub const INGEST_STORE_OPERATIONS: &[&str] = &[
    "existing_bodies",
    "write_statements",
    "merge_activity_definitions",
    "record_watermarks",
];

/// One process's store-operation histogram (clones share it).
#[derive(Clone)]
pub struct StoreTimings {
    seconds: HistogramVec,
}

impl StoreTimings {
    /// A histogram with `ops` already present at zero (so a dashboard finds them before the
    /// first call).
    pub fn new(ops: &[&str]) -> StoreTimings {
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                "lrs_store_operation_duration_seconds",
                "Time one store call took, by operation",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["op"],
        )
        .expect("valid metric");
        let timings = StoreTimings { seconds };
        timings.register_ops(ops);
        timings
    }

    /// Makes `ops` present at zero.
    pub fn register_ops(&self, ops: &[&str]) {
        for op in ops {
            self.seconds.with_label_values(&[*op]);
        }
    }

    /// Runs `call` and records how long it took as `op` (whatever its outcome).
    pub async fn time<T>(&self, op: &str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let outcome = call.await;
        self.seconds
            .with_label_values(&[op])
            .observe(started.elapsed().as_secs_f64());
        outcome
    }

    /// The histogram, for registering with a Prometheus registry.
    pub fn histogram(&self) -> HistogramVec {
        self.seconds.clone()
    }
}
