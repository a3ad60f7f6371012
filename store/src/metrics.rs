//! Metric building blocks every role shares.
//!
//! - `lrs_store_operation_duration_seconds{op}` ([`StoreTimings`]): how long store calls take,
//!   timed where they are made (the ingest loop; the api/query handlers with the same
//!   histogram), never inside a backend, so every backend is measured alike.
//! - [`LATENCY_BUCKETS`], the bucket bounds of every latency histogram.
//! - [`Scraped`]: series read at scrape time from atomics kept elsewhere (the write sequencer's,
//!   the ingest loop's).

use std::future::Future;
use std::time::Instant;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Gauge, HistogramOpts, HistogramVec};

/// Bucket bounds (seconds) of the latency histograms: 100 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
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

/// Series read at scrape time from atomics kept elsewhere: `series` names them (counters end in
/// `_total`, the rest are gauges); `read` returns their values in the same order.
pub struct Scraped {
    series: &'static [(&'static str, &'static str)],
    read: Box<dyn Fn() -> Vec<f64> + Send + Sync>,
    descs: Vec<Desc>,
}

impl Scraped {
    pub fn new(
        series: &'static [(&'static str, &'static str)],
        read: impl Fn() -> Vec<f64> + Send + Sync + 'static,
    ) -> Scraped {
        let descs = series
            .iter()
            .map(|(name, help)| {
                Desc::new(
                    (*name).into(),
                    (*help).into(),
                    Vec::new(),
                    Default::default(),
                )
                .expect("valid metric")
            })
            .collect();
        Scraped {
            series,
            read: Box::new(read),
            descs,
        }
    }
}

impl Collector for Scraped {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.series
            .iter()
            .zip((self.read)())
            .flat_map(|(&(name, help), value)| {
                if name.ends_with("_total") {
                    let counter = Counter::new(name, help).expect("valid metric");
                    counter.inc_by(value);
                    counter.collect()
                } else {
                    let gauge = Gauge::new(name, help).expect("valid metric");
                    gauge.set(value);
                    gauge.collect()
                }
            })
            .collect()
    }
}
