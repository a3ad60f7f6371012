//! A full disk (issue 16, defect 3), on a real small tmpfs holding the data directory: writes
//! are refused with 503 + Retry-After before the disk is full (`storage.min_free_bytes`); a
//! store that failed anyway (the reserve turned off) is reported by `/ready`, acknowledges no
//! write, and recovers in-process once space returns; every acknowledged statement is then
//! readable exactly once, without a restart.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::documents::{Client, STATE, state_params};
use common::tmpfs::Tmpfs;
use common::{TestLrs, create_credential, spawn_server_env, statement_for};
use reqwest::Method;
use serde_json::{Value, json};

const MIB: u64 = 1024 * 1024;

/// `lrs serve` with its data directory on `fs`.
fn start_on(fs: &Tmpfs, env: &[(&str, &str)]) -> TestLrs {
    let dir = tempfile::tempdir_in(fs.path()).unwrap();
    let (key, secret) = create_credential(dir.path(), "board-a", "all");
    let (child, endpoint) = spawn_server_env(dir.path(), &[], env);
    TestLrs {
        dir,
        child,
        endpoint,
        key,
        secret,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

/// POSTs a batch of `n` statements; their ids when acknowledged, else the response.
async fn post(lrs: &TestLrs, seed: usize, n: usize) -> Result<Vec<String>, reqwest::Response> {
    let batch: Vec<Value> = (0..n)
        .map(|i| {
            statement_for(
                &format!("s{seed}-{i}"),
                "answered",
                &format!("https://drill.example.jp/q/{seed}/{i}"),
            )
        })
        .collect();
    let response = lrs.post_statements(&json!(batch)).await;
    if response.status() == 200 {
        Ok(response.json().await.unwrap())
    } else {
        Err(response)
    }
}

async fn ready(lrs: &TestLrs) -> (u16, Value) {
    let response = lrs
        .client
        .get(lrs.endpoint.replace("/xapi", "/ready"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// PUTs a State document of about 100 KB of random text: more than any partly used page of a
/// file can take, even compressed.
async fn put_state(lrs: &TestLrs, id: &str) -> reqwest::Response {
    let noise: String = (0..3_000)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let document = json!({"page": 3, "notes": noise});
    Client::new(lrs, "2.0.0")
        .json(Method::PUT, STATE, &state_params(id), &[], &document)
        .await
}

/// Every statement of the tenant, each id once, and each acknowledged one among them.
async fn assert_every_acknowledged_statement_once(lrs: &TestLrs, acked: &[String]) {
    let returned: Vec<String> = lrs
        .get_all("/statements?limit=100&format=ids")
        .await
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<&String> = returned.iter().collect();
    assert_eq!(unique.len(), returned.len(), "a statement returned twice");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert_eq!(returned.len(), acked.len());
}

fn backpressure(metrics: &str, reason: &str) -> f64 {
    let series = format!("lrs_backpressure_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series}in\n{metrics}"))
}

#[tokio::test]
async fn writes_get_503_with_retry_after_before_the_disk_is_full_and_resume_when_space_returns() {
    let test =
        "writes_get_503_with_retry_after_before_the_disk_is_full_and_resume_when_space_returns";
    let Some(fs) = Tmpfs::mount("64m", test) else {
        return;
    };
    let reserve = (16 * MIB).to_string();
    let lrs = start_on(&fs, &[("LRS__STORAGE__MIN_FREE_BYTES", &reserve)]);
    let mut acked = post(&lrs, 0, 20).await.expect("room on the disk");

    let filler = fs.fill_leaving(8 * MIB);
    // The free space is read at most every 250 ms: the first refusal comes within a few tries.
    let mut refused = None;
    for seed in 1..=50 {
        match post(&lrs, seed, 5).await {
            Ok(ids) => acked.extend(ids),
            Err(response) => {
                refused = Some(response);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("writes are refused below the reserve");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["Retry-After"], "1");
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("disk"), "{body}");
    assert_eq!(
        put_state(&lrs, "s1").await.status(),
        503,
        "document writes too"
    );
    let (status, _) = ready(&lrs).await;
    assert_eq!(status, 200, "reads and ingest are unaffected");
    assert_every_acknowledged_statement_once(&lrs, &acked).await;
    let metrics = lrs
        .client
        .get(lrs.endpoint.replace("/xapi", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(backpressure(&metrics, "disk_reserve") >= 2.0);

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let ids = loop {
        match post(&lrs, 100, 5).await {
            Ok(ids) => break ids,
            Err(response) => assert!(
                Instant::now() < deadline,
                "writes did not resume: {}",
                response.status()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    acked.extend(ids);
    assert_eq!(put_state(&lrs, "s1").await.status(), 204);
    assert_every_acknowledged_statement_once(&lrs, &acked).await;
    drop(lrs);
}

#[tokio::test]
async fn a_store_failed_on_a_full_disk_is_not_ready_and_recovers_without_a_restart() {
    let test = "a_store_failed_on_a_full_disk_is_not_ready_and_recovers_without_a_restart";
    let Some(fs) = Tmpfs::mount("64m", test) else {
        return;
    };
    // No reserve: the disk really fills up under the store.
    let lrs = start_on(&fs, &[("LRS__STORAGE__MIN_FREE_BYTES", "0")]);
    let mut acked = post(&lrs, 0, 20).await.expect("room on the disk");
    assert_eq!(put_state(&lrs, "s0").await.status(), 204);

    let filler = fs.fill();
    // A small write may still fit in the log's last, partly used page; if it is acknowledged,
    // it must not be lost (and applying it fails the store).
    match post(&lrs, 1, 5).await {
        Ok(ids) => acked.extend(ids),
        Err(response) => assert_eq!(response.status(), 503),
    }
    // A document write reaches the store, which fails on the full disk (and stays failed, not
    // reopened, while the disk is full).
    let failed = put_state(&lrs, "s1").await;
    assert_eq!(failed.status(), 503);
    assert_eq!(failed.headers()["Retry-After"], "1");
    let (status, body) = ready(&lrs).await;
    assert_eq!(status, 503, "not ready while the store is failed: {body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("the store reports a failure")),
        "{body}"
    );
    let refused = post(&lrs, 2, 5).await;
    assert_eq!(refused.err().map(|r| r.status().as_u16()), Some(503));

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = ready(&lrs).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the store did not recover: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    acked.extend(post(&lrs, 3, 20).await.expect("writes resume"));
    assert_eq!(put_state(&lrs, "s1").await.status(), 204);
    assert_every_acknowledged_statement_once(&lrs, &acked).await;
    drop(lrs);
}
