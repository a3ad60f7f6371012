//! Purges (issue 14 §3) against the real server: once a purge reports complete, a unique marker
//! of the purged statements occurs in no file under the data directory (with the server running
//! and after a graceful stop) while another tenant's marker and statements stay; retention by
//! school year changes the month summaries; a purge interrupted by a crash finishes after a
//! restart.

mod common;

use std::path::Path;
use std::time::Duration;

use common::disk_bytes::{files_holding, marker};
use common::{create_credential, send_json, spawn_server, spawn_server_env};
use serde_json::{Value, json};

/// A statement carrying `marker` in `result.response`; `padded` makes the body larger than
/// 1 KiB (the embedded store keeps such values in blob files).
fn marked(learner: &str, marker: &str, n: usize, padded: bool, timestamp: &str) -> Value {
    let mut statement = common::statement_for(
        learner,
        "answered",
        &format!("https://drill.example.jp/items/{n}"),
    );
    statement["result"] = json!({"response": format!("answer {marker}"), "success": true});
    statement["timestamp"] = json!(timestamp);
    if padded {
        statement["context"] = json!({"extensions": {
            "https://drill.example.jp/ext/notes": "算数のふりかえり。".repeat(60)
        }});
    }
    statement
}

struct Board {
    key: String,
    secret: String,
}

async fn post(lrs: &Lrs, board: &Board, statements: &[Value]) {
    let response = lrs
        .client
        .post(format!("{}/statements", lrs.endpoint))
        .basic_auth(&board.key, Some(&board.secret))
        .header("X-Experience-API-Version", "2.0.0")
        .json(&statements)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

struct Lrs {
    child: std::process::Child,
    endpoint: String,
    client: reqwest::Client,
}

impl Lrs {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Lrs {
        let (child, endpoint) = spawn_server_env(dir, &[], env);
        Lrs {
            child,
            endpoint,
            // No pooled connections: the test greps the data dir for longer than the server keeps
            // an idle connection, and a reused closed one fails.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    fn admin_url(&self, path: &str) -> String {
        self.endpoint
            .replace("/xapi", &format!("/api/v1/admin{path}"))
    }

    async fn wait_applied(&self) {
        let ready = self.endpoint.replace("/xapi", "/ready");
        for _ in 0..1_000 {
            let lag = match self.client.get(&ready).send().await {
                Ok(r) => r.json::<Value>().await.ok(),
                Err(_) => None,
            }
            .and_then(|v| v["ingest_lag_records"].as_u64());
            if lag == Some(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("ingest did not catch up");
    }

    async fn start_purge(&self, admin: &Board, body: Value) -> String {
        let (status, job) = send_json(
            self.client
                .post(self.admin_url("/purges"))
                .basic_auth(&admin.key, Some(&admin.secret))
                .json(&body),
        )
        .await;
        assert_eq!(status, 202, "{job}");
        job["id"].as_str().unwrap().to_owned()
    }

    async fn wait_complete(&self, admin: &Board, id: &str) -> Value {
        for _ in 0..1_200 {
            let (status, job) = send_json(
                self.client
                    .get(self.admin_url(&format!("/purges/{id}")))
                    .basic_auth(&admin.key, Some(&admin.secret)),
            )
            .await;
            assert_eq!(status, 200, "{job}");
            if job["state"] == "complete" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the purge {id} did not complete in 60 s");
    }

    async fn statements(&self, board: &Board) -> Vec<Value> {
        let (status, page) = send_json(
            self.client
                .get(format!("{}/statements?limit=500", self.endpoint))
                .basic_auth(&board.key, Some(&board.secret))
                .header("X-Experience-API-Version", "2.0.0"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        page["statements"].as_array().unwrap().clone()
    }

    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Lrs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn board(dir: &Path, tenant: &str, scopes: &str) -> Board {
    let (key, secret) = create_credential(dir, tenant, scopes);
    Board { key, secret }
}

#[tokio::test]
async fn a_purged_tenants_marker_is_in_no_file_of_the_data_dir_and_another_tenants_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_admin, b) = (
        board(dir.path(), "board-a", "all"),
        board(dir.path(), "board-a", "admin"),
        board(dir.path(), "board-b", "all"),
    );
    let (doomed, kept) = (marker(), marker());
    let mut lrs = Lrs::start(dir.path(), &[]);
    let ts = "2026-10-14T10:12:45+09:00";
    let doomed_statements: Vec<Value> = (0..40)
        .map(|n| marked(&format!("learner-{}", n % 4), &doomed, n, n % 2 == 0, ts))
        .collect();
    let kept_statements: Vec<Value> = (0..30)
        .map(|n| marked(&format!("learner-{}", n % 3), &kept, n, n % 2 == 0, ts))
        .collect();
    for chunk in doomed_statements.chunks(10) {
        post(&lrs, &a, chunk).await;
    }
    post(&lrs, &b, &kept_statements).await;
    // A state document of the purged tenant carries the marker too.
    let state = lrs
        .client
        .put(format!(
            "{}/activities/state?activityId=https%3A%2F%2Fdrill.example.jp%2Fitems%2F1&agent={}&stateId=progress",
            lrs.endpoint,
            urlencode(r#"{"account":{"homePage":"https://eportal.example.jp","name":"learner-1"}}"#)
        ))
        .basic_auth(&a.key, Some(&a.secret))
        .header("X-Experience-API-Version", "2.0.0")
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"note":"{doomed}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(state.status(), 204);
    lrs.wait_applied().await;
    assert!(
        !files_holding(dir.path(), &doomed).is_empty(),
        "the marker is on disk before the purge (else this test proves nothing)"
    );
    assert_eq!(lrs.statements(&a).await.len(), 40);

    let id = lrs.start_purge(&a_admin, json!({"scope": "tenant"})).await;
    let job = lrs.wait_complete(&a_admin, &id).await;
    assert_eq!(job["counts"]["statements"], 40, "{job}");
    assert_eq!(job["counts"]["documents"], 1, "{job}");
    assert_eq!(job["requested_by"]["role"], "admin-api", "{job}");
    assert_eq!(
        files_holding(dir.path(), &doomed),
        Vec::<String>::new(),
        "with the server running"
    );
    assert!(!files_holding(dir.path(), &kept).is_empty());
    assert!(lrs.statements(&a).await.is_empty());
    let b_statements = lrs.statements(&b).await;
    assert_eq!(b_statements.len(), 30);
    assert!(
        b_statements
            .iter()
            .all(|s| s["result"]["response"] == format!("answer {kept}"))
    );
    // The audit record is listed, without personal data.
    let (status, listing) = send_json(
        lrs.client
            .get(lrs.admin_url("/purges"))
            .basic_auth(&a_admin.key, Some(&a_admin.secret)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listing["purges"].as_array().unwrap().len(), 1, "{listing}");
    assert!(!listing.to_string().contains("learner-"), "{listing}");

    lrs.terminate();
    assert_eq!(
        files_holding(dir.path(), &doomed),
        Vec::<String>::new(),
        "after a graceful stop"
    );
    assert!(!files_holding(dir.path(), &kept).is_empty());
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Seconds in two leap years: statements stamped this far back are in an earlier school year
/// whatever day the test runs.
const TWO_YEARS: i64 = 2 * 366 * 86_400;

#[tokio::test]
async fn retention_purges_the_school_years_before_the_kept_ones_and_their_month_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_admin) = (
        board(dir.path(), "board-a", "all"),
        board(dir.path(), "board-a", "admin"),
    );
    let (old_marker, new_marker) = (marker(), marker());
    let old_ts = "2024-10-14T10:12:45+09:00";
    let new_ts = "2026-06-14T10:12:45+09:00";
    let old: Vec<Value> = (0..25)
        .map(|n| marked(&format!("learner-{}", n % 5), &old_marker, n, false, old_ts))
        .collect();
    let new: Vec<Value> = (0..15)
        .map(|n| marked(&format!("learner-{}", n % 5), &new_marker, n, false, new_ts))
        .collect();
    // Stored two years ago: a test-only clock offset of the stamping.
    let offset = (-TWO_YEARS).to_string();
    let mut lrs = Lrs::start(
        dir.path(),
        &[("LRS__TESTING__STORED_OFFSET_SECONDS", offset.as_str())],
    );
    post(&lrs, &a, &old).await;
    lrs.wait_applied().await;
    lrs.terminate();
    let mut lrs = Lrs::start(dir.path(), &[]);
    post(&lrs, &a, &new).await;
    lrs.wait_applied().await;
    assert_eq!(lrs.statements(&a).await.len(), 40);
    lrs.terminate();
    let summaries_before = statements_per_month(dir.path(), "board-a").await;

    let mut lrs = Lrs::start(dir.path(), &[]);
    let (status, refused) = send_json(
        lrs.client
            .post(lrs.admin_url("/purges"))
            .basic_auth(&a_admin.key, Some(&a_admin.secret))
            .json(&json!({"scope": "retention"})),
    )
    .await;
    assert_eq!(status, 400, "no keep_school_years configured: {refused}");
    let id = lrs
        .start_purge(
            &a_admin,
            json!({"scope": "retention", "keep_school_years": 1}),
        )
        .await;
    let job = lrs.wait_complete(&a_admin, &id).await;
    assert_eq!(job["counts"]["statements"], 25, "{job}");
    assert_eq!(job["facts"], 25, "{job}");
    let left = lrs.statements(&a).await;
    assert_eq!(left.len(), 15);
    assert!(
        left.iter()
            .all(|s| s["result"]["response"] == format!("answer {new_marker}"))
    );
    assert_eq!(files_holding(dir.path(), &old_marker), Vec::<String>::new());
    assert!(!files_holding(dir.path(), &new_marker).is_empty());
    lrs.terminate();

    // The month summaries, computed here from what was sent: the old month had 25 statements
    // and has none; the new month keeps its 15.
    let after = statements_per_month(dir.path(), "board-a").await;
    let (old_month, new_month) = (month_of(2024, 10, 14), month_of(2026, 6, 14));
    assert_eq!(summaries_before.get(&old_month), Some(&(old.len() as u64)));
    assert_eq!(summaries_before.get(&new_month), Some(&(new.len() as u64)));
    assert_eq!(after.get(&old_month), None);
    assert_eq!(after.get(&new_month), Some(&(new.len() as u64)));
}

fn month_of(year: i32, month: u32, day: u32) -> i32 {
    let days = common::studylog::days_from_civil((year, month, day)) as i32;
    lrs_schema::month_number(days)
}

/// Statements counted by the month summaries of the tenant, per month, read from the stopped
/// server's store.
async fn statements_per_month(dir: &Path, tenant: &str) -> std::collections::BTreeMap<i32, u64> {
    use lrs_store::StudyLogStore;
    let store = lrs_store::EmbeddedStore::open(&dir.join("store")).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for month in month_of(2024, 1, 1)..month_of(2027, 12, 1) {
        let total: u64 = store
            .month_summaries(tenant, month, None)
            .await
            .unwrap()
            .iter()
            .map(|(_, s)| u64::from(s.statements))
            .sum();
        if total > 0 {
            out.insert(month, total);
        }
    }
    out
}

#[tokio::test]
async fn a_purge_interrupted_by_a_crash_finishes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_admin) = (
        board(dir.path(), "board-a", "all"),
        board(dir.path(), "board-a", "admin"),
    );
    let doomed = marker();
    // Batches of 10 rows, and the process aborts after 2 of them.
    let env = [
        ("LRS__LIFECYCLE__PURGE_BATCH", "10"),
        ("LRS__TESTING__PURGE_ABORT_AFTER_BATCHES", "2"),
    ];
    let mut lrs = Lrs::start(dir.path(), &env);
    let statements: Vec<Value> = (0..60)
        .map(|n| marked("learner-1", &doomed, n, false, "2026-10-14T10:12:45+09:00"))
        .collect();
    post(&lrs, &a, &statements).await;
    lrs.wait_applied().await;
    let id = lrs.start_purge(&a_admin, json!({"scope": "tenant"})).await;
    let status = lrs.child.wait().unwrap();
    assert!(
        !status.success(),
        "the failpoint aborted the server mid-purge"
    );
    drop(lrs);

    let (child, endpoint) = spawn_server(dir.path(), &[]);
    let lrs = Lrs {
        child,
        endpoint,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
    };
    let job = lrs.wait_complete(&a_admin, &id).await;
    assert!(job["batches"].as_u64().unwrap() > 2, "{job}");
    assert!(lrs.statements(&a).await.is_empty());
    assert_eq!(files_holding(dir.path(), &doomed), Vec::<String>::new());
}

#[tokio::test]
async fn the_cli_purges_a_stopped_servers_tenant_and_lists_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let a = board(dir.path(), "board-a", "all");
    let doomed = marker();
    let mut lrs = Lrs::start(dir.path(), &[]);
    let statements: Vec<Value> = (0..12)
        .map(|n| marked("learner-1", &doomed, n, false, "2026-10-14T10:12:45+09:00"))
        .collect();
    post(&lrs, &a, &statements).await;
    lrs.wait_applied().await;
    lrs.terminate();
    assert!(!files_holding(dir.path(), &doomed).is_empty());

    let out = std::process::Command::new(common::BIN)
        .args(["admin", "purge", "run", "--data-dir"])
        .arg(dir.path())
        .args(["--tenant", "board-a", "--scope", "tenant"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["state"], "complete", "{job}");
    assert_eq!(job["counts"]["statements"], 12, "{job}");
    assert_eq!(job["requested_by"]["role"], "cli", "{job}");
    assert_eq!(files_holding(dir.path(), &doomed), Vec::<String>::new());

    let out = std::process::Command::new(common::BIN)
        .args(["admin", "purge", "list", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], job["id"]);
}
