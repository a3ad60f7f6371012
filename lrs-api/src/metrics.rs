//! Prometheus metrics of one process (`GET /metrics`, text format), whatever its roles. README
//! "Metrics and logs" lists every series; in short:
//!
//! - every HTTP request, by matched route pattern (`unmatched` for none), method and status, is
//!   counted and timed by [`track`], which also counts statement writes answered 4xx (by the
//!   error kind the response carries, see [`Answered`]) and 503s by backpressure reason;
//! - the handlers observe the size of every accepted statement batch and time their store reads
//!   ([`StoreTimings`], shared with the ingest loop in one process);
//! - the pipeline times log appends; the pipeline's and the ingest loop's atomics are read at
//!   scrape time ([`Scraped`]).
//!
//! On the hot path this is a few atomic adds per request (two label lookups, one histogram
//! observation), one observation per batch and per store call; nothing per statement.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use lrs_ingest::{IngestStats, LATENCY_BUCKETS, StoreTimings};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Counter, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    Opts, Registry, TextEncoder,
};
use tracing::Instrument;

use crate::error::{Answered, ApiErrorKind, Backpressure};
use crate::pipeline::Pipeline;

/// The store reads the api/query handlers time.
pub const QUERY_STORE_OPERATIONS: &[&str] = &[
    "query_statements",
    "get_statement",
    "get_document",
    "list_documents",
    "write_document",
    "delete_documents",
];

/// Bucket bounds of `lrs_statement_batch_size` (statements per request).
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// The metrics registry of one process.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    statements_rejected: IntCounterVec,
    statements_conflicted: IntCounter,
    backpressure: IntCounterVec,
    batch_size: Histogram,
    store: StoreTimings,
}

impl Metrics {
    /// `pipeline`: the api/query side, if this process has one; `ingest`: the ingest loop's
    /// counters, if it runs one (its store timings are then shared with the handlers').
    pub fn new(pipeline: Option<Arc<Pipeline>>, ingest: Option<Arc<IngestStats>>) -> Arc<Metrics> {
        let registry = Registry::new();
        let register = |collector: Box<dyn Collector>| {
            registry.register(collector).expect("registered once");
        };
        let http_requests = IntCounterVec::new(
            Opts::new("lrs_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_seconds = HistogramVec::new(
            histogram(
                "lrs_http_request_duration_seconds",
                "Time from request to response head",
                LATENCY_BUCKETS,
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let statements_rejected = counter_by_reason(
            "lrs_statements_rejected_total",
            "Statement writes (POST/PUT) answered 4xx, by error kind",
            ApiErrorKind::CLIENT_ERRORS.map(ApiErrorKind::code),
        );
        let statements_conflicted = IntCounter::new(
            "lrs_statements_conflicted_total",
            "Statement writes answered 409: an id already used with different content",
        )
        .expect("valid metric");
        let backpressure = counter_by_reason(
            "lrs_backpressure_total",
            "Requests answered 503 for the time being, by reason",
            Backpressure::ALL.map(Backpressure::as_str),
        );
        let batch_size = Histogram::with_opts(histogram(
            "lrs_statement_batch_size",
            "Statements per accepted statement write (POST/PUT)",
            BATCH_SIZE_BUCKETS,
        ))
        .expect("valid metric");
        let store = match &ingest {
            Some(stats) => stats.store.clone(),
            None => StoreTimings::new(&[]),
        };
        register(Box::new(http_requests.clone()));
        register(Box::new(http_seconds.clone()));
        register(Box::new(store.histogram()));
        if let Some(pipeline) = pipeline {
            store.register_ops(QUERY_STORE_OPERATIONS);
            register(Box::new(statements_rejected.clone()));
            register(Box::new(statements_conflicted.clone()));
            register(Box::new(backpressure.clone()));
            register(Box::new(batch_size.clone()));
            register(Box::new(pipeline.append_seconds()));
            register(Box::new(pipeline_collector(pipeline)));
        }
        if let Some(stats) = ingest {
            register(Box::new(ingest_collector(stats)));
        }
        Arc::new(Metrics {
            registry,
            http_requests,
            http_seconds,
            statements_rejected,
            statements_conflicted,
            backpressure,
            batch_size,
            store,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        out
    }

    /// One accepted statement write of `statements` statements.
    pub fn statement_batch(&self, statements: usize) {
        self.batch_size.observe(statements as f64);
    }

    /// Times the store calls of the api/query handlers (`QUERY_STORE_OPERATIONS`).
    pub fn store(&self) -> &StoreTimings {
        &self.store
    }

    /// Counts and times one answered request.
    fn answered(
        &self,
        route: &str,
        method: &Method,
        status: u16,
        answered: Option<Answered>,
        seconds: f64,
    ) {
        let status_label = status.to_string();
        let labels = [route, method.as_str(), status_label.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_seconds
            .with_label_values(&labels)
            .observe(seconds);
        let Some(answered) = answered else { return };
        if let Some(reason) = answered.backpressure {
            self.backpressure
                .with_label_values(&[reason.as_str()])
                .inc();
        }
        // The Statement Resource is the only route whose pattern ends so.
        let statement_write =
            route.ends_with("/statements") && (method == Method::POST || method == Method::PUT);
        if statement_write && (400..500).contains(&status) {
            self.statements_rejected
                .with_label_values(&[answered.kind.code()])
                .inc();
            if answered.kind == ApiErrorKind::Conflict {
                self.statements_conflicted.inc();
            }
        }
    }
}

fn histogram(name: &str, help: &str, buckets: &[f64]) -> HistogramOpts {
    HistogramOpts::new(name, help).buckets(buckets.to_vec())
}

/// A counter by `reason`, every one of `reasons` present at 0.
fn counter_by_reason<const N: usize>(
    name: &str,
    help: &str,
    reasons: [&'static str; N],
) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), &["reason"]).expect("valid metric");
    for reason in reasons {
        counter.with_label_values(&[reason]);
    }
    counter
}

/// `GET /metrics`.
pub async fn metrics(metrics: web::Data<Arc<Metrics>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// Middleware: counts and times every request (wrap the whole `App`, with the `Metrics` as
/// `web::Data<Arc<Metrics>>`).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Arc<Metrics>>>().cloned();
    let method = req.method().clone();
    // At `debug` (e.g. `logging.level = "lrs_api=debug,info"`), the events of a request carry
    // its method and path; disabled, the span costs a cached level check.
    let span = tracing::debug_span!("request", method = %method, path = %req.path());
    let response = next.call(req).instrument(span).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = response.status().as_u16();
        let answered = response.response().extensions().get::<Answered>().copied();
        let seconds = started.elapsed().as_secs_f64();
        metrics.answered(&route, &method, status, answered, seconds);
    }
    Ok(response)
}

/// Series read at scrape time from atomics kept elsewhere (the pipeline's, the ingest loop's):
/// `series` names them (counters end in `_total`, the rest are gauges); `read` returns their
/// values in the same order.
struct Scraped {
    series: &'static [(&'static str, &'static str)],
    read: Box<dyn Fn() -> Vec<f64> + Send + Sync>,
    descs: Vec<Desc>,
}

impl Scraped {
    fn new(
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

const PIPELINE_METRICS: &[(&str, &str)] = &[
    (
        "lrs_statements_accepted_total",
        "Statements appended to the log (acknowledged or failed)",
    ),
    (
        "lrs_statements_already_present_total",
        "Statements found already stored or in flight with equivalent content",
    ),
    (
        "lrs_ingest_lag_records",
        "Log records appended but not yet applied to the store",
    ),
];

fn pipeline_collector(pipeline: Arc<Pipeline>) -> Scraped {
    Scraped::new(PIPELINE_METRICS, move || {
        let (accepted, present) = pipeline.statement_counts();
        [accepted, present, pipeline.lag_records()]
            .map(|value| value as f64)
            .to_vec()
    })
}

const INGEST_METRICS: &[(&str, &str)] = &[
    ("lrs_ingest_records_total", "Log records applied"),
    (
        "lrs_ingest_statements_written_total",
        "Statements written to the store",
    ),
    (
        "lrs_ingest_duplicates_total",
        "Statements skipped: their id was already stored (first wins)",
    ),
    (
        "lrs_ingest_conflicts_total",
        "Skipped duplicates whose content differed from the first",
    ),
    (
        "lrs_ingest_undecodable_records_total",
        "Log records that could not be decoded",
    ),
    (
        "lrs_ingest_quarantined_total",
        "Statements the store refused for good, kept in its quarantine instead",
    ),
    ("lrs_ingest_batches_total", "Store batches written"),
    (
        "lrs_ingest_lag_seconds",
        "Age of the oldest log record ingest holds but has not applied (0 when drained)",
    ),
];

fn ingest_collector(stats: Arc<IngestStats>) -> Scraped {
    Scraped::new(INGEST_METRICS, move || {
        [
            &stats.records,
            &stats.statements_written,
            &stats.duplicates_skipped,
            &stats.conflicts,
            &stats.undecodable_records,
            &stats.quarantined,
            &stats.batches,
        ]
        .iter()
        .map(|counter| counter.load(Ordering::Relaxed) as f64)
        .chain([stats.lag_seconds()])
        .collect()
    })
}
