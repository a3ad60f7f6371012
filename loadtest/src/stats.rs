//! What a run measured: latency histograms, counts and status codes, per kind of request.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Requests later than this after their intended send time count as behind schedule.
pub const LATE: Duration = Duration::from_millis(5);

/// A latency histogram in microseconds, up to 10 minutes.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

/// One kind of request (writes or reads).
#[derive(Clone, Debug)]
pub struct KindStats {
    /// Latency in microseconds of every answered or failed request.
    pub latency: Histogram<u64>,
    /// Requests answered with a 2xx.
    pub ok: u64,
    /// Requests answered otherwise or not answered.
    pub errors: u64,
    /// Statements acknowledged (writes) or returned (reads).
    pub statements: u64,
    /// Answers per status code; `transport` for requests that got none.
    pub status: BTreeMap<String, u64>,
}

impl Default for KindStats {
    fn default() -> Self {
        KindStats {
            latency: histogram(),
            ok: 0,
            errors: 0,
            statements: 0,
            status: BTreeMap::new(),
        }
    }
}

impl KindStats {
    /// `status` is `None` when no answer came.
    pub fn record(&mut self, status: Option<u16>, latency: Duration, statements: u64) {
        self.latency
            .saturating_record((latency.as_micros() as u64).max(1));
        let key = status.map_or_else(|| "transport".to_owned(), |s| s.to_string());
        *self.status.entry(key).or_insert(0) += 1;
        if status.is_some_and(|s| (200..300).contains(&s)) {
            self.ok += 1;
            self.statements += statements;
        } else {
            self.errors += 1;
        }
    }

    pub fn merge(&mut self, other: &KindStats) {
        self.latency.add(&other.latency).expect("same bounds");
        self.ok += other.ok;
        self.errors += other.errors;
        self.statements += other.statements;
        for (status, count) in &other.status {
            *self.status.entry(status.clone()).or_insert(0) += count;
        }
    }

    pub fn requests(&self) -> u64 {
        self.ok + self.errors
    }

    /// Milliseconds at quantile `q`.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn latency_json(&self) -> Value {
        json!({
            "p50": self.ms(0.50),
            "p90": self.ms(0.90),
            "p99": self.ms(0.99),
            "p999": self.ms(0.999),
            "max": self.latency.max() as f64 / 1000.0,
        })
    }

    pub fn json(&self, seconds: f64) -> Value {
        json!({
            "requests": self.requests(),
            "ok": self.ok,
            "errors": self.errors,
            "statements": self.statements,
            "requests_per_second": self.ok as f64 / seconds.max(f64::EPSILON),
            "statements_per_second": self.statements as f64 / seconds.max(f64::EPSILON),
            "status": self.status,
            "latency_ms": self.latency_json(),
        })
    }
}

/// Everything one measured interval recorded.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub write: KindStats,
    /// Read pages (each `more` page is one request).
    pub read: KindStats,
    /// Open loop: requests that started later than [`LATE`] after their intended time.
    pub behind_schedule: u64,
    /// Open loop: the latest start, in microseconds after the intended time.
    pub max_behind_us: u64,
    /// Open loop: requests due before the end that never started (the LRS fell that far behind).
    pub unsent: u64,
    /// Measured seconds.
    pub seconds: f64,
}

impl Stats {
    pub fn record_lateness(&mut self, late: Duration) {
        if late > LATE {
            self.behind_schedule += 1;
        }
        self.max_behind_us = self.max_behind_us.max(late.as_micros() as u64);
    }

    pub fn merge(&mut self, other: &Stats) {
        self.write.merge(&other.write);
        self.read.merge(&other.read);
        self.behind_schedule += other.behind_schedule;
        self.unsent += other.unsent;
        self.max_behind_us = self.max_behind_us.max(other.max_behind_us);
        self.seconds += other.seconds;
    }

    pub fn statements_per_second(&self) -> f64 {
        self.write.statements as f64 / self.seconds.max(f64::EPSILON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_counted_and_only_2xx_counts_statements() {
        let mut kind = KindStats::default();
        kind.record(Some(200), Duration::from_millis(3), 100);
        kind.record(Some(400), Duration::from_millis(1), 100);
        kind.record(None, Duration::from_secs(1), 100);
        assert_eq!((kind.ok, kind.errors, kind.statements), (1, 2, 100));
        assert_eq!(kind.status["200"], 1);
        assert_eq!(kind.status["400"], 1);
        assert_eq!(kind.status["transport"], 1);
        let mut total = KindStats::default();
        total.merge(&kind);
        total.merge(&kind);
        assert_eq!((total.requests(), total.status["200"]), (6, 2));
    }

    #[test]
    fn only_starts_later_than_the_threshold_are_behind_schedule() {
        let mut stats = Stats::default();
        stats.record_lateness(Duration::from_millis(1));
        stats.record_lateness(Duration::from_millis(50));
        assert_eq!(stats.behind_schedule, 1);
        assert_eq!(stats.max_behind_us, 50_000);
    }
}
