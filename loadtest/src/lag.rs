//! Visibility lag: how long after its acknowledgement a statement can be read back.
//!
//! While the load runs, a probe posts one fresh statement at a time to the write endpoint and
//! then asks the read endpoint (`GET /statements?statementId=…`, which in the distributed
//! deployment may be another process) every few milliseconds until it is found. The time from the
//! POST's 200 to the first 200 of the GET is one sample.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

/// Where the probe writes and reads, and with what credential.
#[derive(Clone)]
pub struct Probe {
    pub client: reqwest::Client,
    pub write_endpoint: String,
    pub read_endpoint: String,
    pub key: String,
    pub secret: String,
    pub xapi_version: String,
    /// Pause between samples.
    pub every: Duration,
}

/// Samples until `stop`, recording only while `measuring`. Returns the histogram (microseconds)
/// and how many probes were never seen within `give_up`.
pub async fn run(
    probe: Probe,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> (Histogram<u64>, u64) {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("bounds");
    let mut lost = 0;
    let give_up = Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) {
        let id = uuid::Uuid::new_v4();
        let statement = json!({
            "id": id,
            "actor": {"mbox": "mailto:lag-probe@example.jp", "name": "遅延プローブ"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"ja-JP": "体験した"}},
            "object": {"id": "https://loadtest.example.jp/lag-probe"}
        });
        let posted = probe
            .client
            .post(format!("{}/statements", probe.write_endpoint))
            .basic_auth(&probe.key, Some(&probe.secret))
            .header("X-Experience-API-Version", &probe.xapi_version)
            .json(&statement)
            .send()
            .await;
        if !posted.is_ok_and(|r| r.status().is_success()) {
            tokio::time::sleep(probe.every).await;
            continue;
        }
        let acknowledged = Instant::now();
        let url = format!("{}/statements?statementId={id}", probe.read_endpoint);
        let seen = loop {
            let found = probe
                .client
                .get(&url)
                .basic_auth(&probe.key, Some(&probe.secret))
                .header("X-Experience-API-Version", &probe.xapi_version)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if found {
                break Some(acknowledged.elapsed());
            }
            if acknowledged.elapsed() > give_up {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if measuring.load(Ordering::Relaxed) {
            match seen {
                Some(lag) => histogram.saturating_record((lag.as_micros() as u64).max(1)),
                None => lost += 1,
            }
        }
        tokio::time::sleep(probe.every).await;
    }
    (histogram, lost)
}
