//! Prometheus metrics of one process (`GET /metrics`, text format), whatever its roles.
//!
//! - `lrs_http_requests_total{route,method,status}` and `lrs_http_request_duration_seconds{route,method}`:
//!   every HTTP request, by matched route pattern (`unmatched` for none), recorded by [`track`].
//! - `lrs_statements_accepted_total`, `lrs_statements_already_present_total`: statements the api
//!   appended to the log, and ones it found already stored or in flight (equivalent, no-op).
//! - `lrs_ingest_lag_records`: log records appended but not yet applied, as this process sees it.
//! - `lrs_ingest_*_total`: the ingest loop's counters (ingest role only).
//!
//! 503s (backpressure) are `lrs_http_requests_total{status="503"}`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use lrs_ingest::IngestStats;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::pipeline::Pipeline;

/// The metrics registry of one process.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
}

impl Metrics {
    /// `pipeline`: the api/query side, if this process has one; `ingest`: the ingest loop's
    /// counters, if it runs one.
    pub fn new(pipeline: Option<Arc<Pipeline>>, ingest: Option<Arc<IngestStats>>) -> Arc<Metrics> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("lrs_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "lrs_http_request_duration_seconds",
                "Time from request to response head",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(http_requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(http_seconds.clone()))
            .expect("registered once");
        if let Some(pipeline) = pipeline {
            registry
                .register(Box::new(pipeline_collector(pipeline)))
                .expect("registered once");
        }
        if let Some(stats) = ingest {
            registry
                .register(Box::new(ingest_collector(stats)))
                .expect("registered once");
        }
        Arc::new(Metrics {
            registry,
            http_requests,
            http_seconds,
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
    let method = req.method().as_str().to_owned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = response.status().as_u16().to_string();
        metrics
            .http_requests
            .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
            .inc();
        metrics
            .http_seconds
            .with_label_values(&[route.as_str(), method.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// Series read at scrape time from atomics kept elsewhere (the pipeline's, the ingest loop's):
/// `series` names them (counters end in `_total`, the rest are gauges); `read` returns their
/// values in the same order.
struct Scraped {
    series: &'static [(&'static str, &'static str)],
    read: Box<dyn Fn() -> Vec<u64> + Send + Sync>,
    descs: Vec<Desc>,
}

impl Scraped {
    fn new(
        series: &'static [(&'static str, &'static str)],
        read: impl Fn() -> Vec<u64> + Send + Sync + 'static,
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
                    let counter = IntCounter::new(name, help).expect("valid metric");
                    counter.inc_by(value);
                    counter.collect()
                } else {
                    let gauge = IntGauge::new(name, help).expect("valid metric");
                    gauge.set(value as i64);
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
        vec![accepted, present, pipeline.lag_records()]
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
    ("lrs_ingest_batches_total", "Store batches written"),
];

fn ingest_collector(stats: Arc<IngestStats>) -> Scraped {
    Scraped::new(INGEST_METRICS, move || {
        [
            &stats.records,
            &stats.statements_written,
            &stats.duplicates_skipped,
            &stats.conflicts,
            &stats.undecodable_records,
            &stats.batches,
        ]
        .iter()
        .map(|counter| counter.load(Ordering::Relaxed))
        .collect()
    })
}
