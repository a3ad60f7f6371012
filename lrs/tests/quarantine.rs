//! A statement the store can never take does not stall ingest (issue 16, defect 2(b)): the
//! real binary quarantines it, keeps serving and applying writes, shows it to an operator
//! (`GET /api/v1/admin/quarantine`, `lrs admin quarantine list`) and counts it.
//!
//! The poison record is written straight into the embedded log before the server starts, as an
//! API that acknowledged it would have: the API refuses such statements itself, so this is the
//! defence behind it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::disk_bytes::{files_holding, marker};
use common::{BIN, TestLrs, create_credential, send_json, statement_for};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, Key16, StatementEnvelope};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A whole statement as the API would have logged it, about `activity`, with a definition.
fn logged(id: Uuid, activity: &str) -> EnvelopeStatement {
    logged_by("s1", id, activity, "")
}

/// The same, by the account `learner`, answering `response`.
fn logged_by(learner: &str, id: Uuid, activity: &str, response: &str) -> EnvelopeStatement {
    let mut statement = statement_for(learner, "completed", activity);
    statement["result"] = json!({"response": response});
    statement["id"] = json!(id);
    statement["version"] = json!("2.0.0");
    statement["authority"] = json!({"objectType": "Agent", "account": {"homePage": "https://lrs.example.jp", "name": "tool"}});
    EnvelopeStatement {
        id,
        keys: IndexKeys {
            verb: Key16::of("http://adlnet.gov/expapi/verbs/completed"),
            direct_activities: vec![Key16::of(activity)],
            direct_agents: vec![Key16::of(&format!(
                "account::https://eportal.example.jp::{learner}"
            ))],
            ..IndexKeys::default()
        },
        body: serde_json::to_vec(&statement).unwrap(),
        study: None,
    }
}

/// Appends one record per tenant to the data directory's embedded log.
async fn append_records(data_dir: &Path, records: Vec<(&str, Vec<EnvelopeStatement>)>) {
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(data_dir.join("log"))).unwrap();
    for (i, (tenant, statements)) in records.into_iter().enumerate() {
        let envelope = StatementEnvelope {
            tenant: tenant.into(),
            stored: 1_760_400_000_000_000 + i as i64,
            statements,
        };
        let payload = Bytes::from(envelope.encode().unwrap());
        log.producer()
            .append(tenant.as_bytes(), payload)
            .await
            .unwrap();
    }
    log.close();
}

#[tokio::test]
async fn a_poison_statement_is_quarantined_listed_for_operators_and_ingest_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = create_credential(dir.path(), "board-a", "all");
    let (admin_key, admin_secret) = create_credential(dir.path(), "board-a", "admin");
    let poison_activity = format!("https://drill.example.jp/{}", "x".repeat(70_000));
    let (good, poison, poison_b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    append_records(
        dir.path(),
        vec![
            (
                "board-a",
                vec![
                    logged(good, "https://drill.example.jp/math/1"),
                    logged(poison, &poison_activity),
                ],
            ),
            ("board-b", vec![logged(poison_b, &poison_activity)]),
        ],
    )
    .await;

    let mut lrs = TestLrs::start_in(dir, key, secret);
    let (status, found) = lrs
        .get_json(&format!("/statements?statementId={good}"))
        .await;
    assert_eq!(status, 200, "{found}");
    let (status, _) = lrs
        .get_json(&format!("/statements?statementId={poison}"))
        .await;
    assert_eq!(status, 404, "the poison statement is not stored");

    // Ingest moved on: a new write is acknowledged and read back.
    let response = lrs
        .post_statements(&statement_for(
            "s2",
            "attempted",
            "https://drill.example.jp/math/2",
        ))
        .await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();
    let (status, _) = lrs
        .get_json(&format!("/statements?statementId={}", ids[0]))
        .await;
    assert_eq!(status, 200);

    let admin_url = lrs.endpoint.replace("/xapi", "/api/v1/admin/quarantine");
    let as_all = lrs
        .client
        .get(&admin_url)
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(as_all.status(), 403, "`all` does not grant `admin`");
    let listing: Value = lrs
        .client
        .get(&admin_url)
        .basic_auth(&admin_key, Some(&admin_secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["tenant"], "board-a");
    let listed = listing["statements"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "only the credential's tenant: {listing}");
    assert_eq!(listed[0]["statement_id"], json!(poison));
    assert_eq!(
        (
            listed[0]["log_partition"].clone(),
            listed[0]["log_offset"].clone()
        ),
        (json!(0), json!(0))
    );
    assert!(
        listed[0]["error"].as_str().unwrap().contains("65535"),
        "{}",
        listed[0]["error"]
    );
    assert_eq!(
        listed[0]["statement"]["object"]["id"],
        json!(poison_activity),
        "kept whole"
    );
    let bad_limit = lrs
        .client
        .get(format!("{admin_url}?limit=0"))
        .basic_auth(&admin_key, Some(&admin_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_limit.status(), 400);

    let metrics = lrs
        .client
        .get(lrs.endpoint.replace("/xapi", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "lrs_ingest_quarantined_total 2"),
        "both poison statements counted:\n{metrics}"
    );

    // A graceful stop drains at once (it took 60 s while ingest retried the poison batch).
    let started = std::time::Instant::now();
    assert!(lrs.terminate().success());
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "{:?}",
        started.elapsed()
    );

    // The CLI lists every tenant's.
    let out = Command::new(BIN)
        .args(["admin", "quarantine", "list", "--data-dir"])
        .arg(lrs.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["tenant"].as_str().unwrap().to_owned(),
                v["statement_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("board-a".to_owned(), poison.to_string()),
            ("board-b".to_owned(), poison_b.to_string())
        ]
    );
}

/// The quarantined statements of a tenant, as `(statement id, learner account)`, sorted.
async fn quarantined(lrs: &TestLrs, key: &str, secret: &str) -> Vec<(String, String)> {
    let (status, listing) =
        send_json(lrs.api_as(Method::GET, "/admin/quarantine", key, secret)).await;
    assert_eq!(status, 200, "{listing}");
    let mut rows: Vec<(String, String)> = listing["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let s = &q["statement"];
            (
                q["statement_id"].as_str().unwrap().to_owned(),
                s["actor"]["account"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Purges take the quarantine with them (issue 14 §3): a learner's purge deletes the statements
/// of theirs ingest quarantined, and a retention purge those stored before its cutoff; each
/// marker then occurs in no file of the data dir (running, and after a graceful stop), while
/// another learner's quarantined statement stays until its own purge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_remove_the_learners_and_the_expired_quarantined_statements() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = create_credential(dir.path(), "board-a", "all");
    let (admin_key, admin_secret) = create_credential(dir.path(), "board-a", "admin");
    let poison_activity = format!("https://drill.example.jp/{}", "x".repeat(70_000));
    let (l1_marker, l2_marker) = (marker(), marker());
    let (l1_poison, l2_poison) = (Uuid::new_v4(), Uuid::new_v4());
    // Both stored in October 2025 (the log record's stamp): before the cutoff of a retention
    // that keeps one school year (April 2026 when this runs in 2026年度 or later).
    append_records(
        dir.path(),
        vec![(
            "board-a",
            vec![
                logged_by("l1", l1_poison, &poison_activity, &l1_marker),
                logged_by("l2", l2_poison, &poison_activity, &l2_marker),
            ],
        )],
    )
    .await;
    let mut lrs = TestLrs::start_in(dir, key, secret);
    let (status, imported) = lrs.import_roster(&common::roster::bulk_roster()).await;
    assert_eq!(status, 200, "{imported}");
    // Each learner also has a statement the store took (now: after any retention cutoff).
    for learner in ["l1", "l2"] {
        let response = lrs
            .post_statements(&statement_for(
                learner,
                "attempted",
                "https://drill.example.jp/m/1",
            ))
            .await;
        assert_eq!(response.status(), 200);
    }
    lrs.wait_applied().await;
    let data_dir = lrs.data_dir();
    let mut both = vec![
        (l1_poison.to_string(), "l1".to_owned()),
        (l2_poison.to_string(), "l2".to_owned()),
    ];
    both.sort();
    assert_eq!(quarantined(&lrs, &admin_key, &admin_secret).await, both);
    for needle in [&l1_marker, &l2_marker] {
        assert!(
            !files_holding(&data_dir, needle).is_empty(),
            "the marker is on disk before the purge (else this test proves nothing)"
        );
    }

    let response = lrs
        .api_as(Method::DELETE, "/learners/l1", &admin_key, &admin_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = lrs
        .purge_completed(&location, &admin_key, &admin_secret)
        .await;
    assert_eq!(job["counts"]["statements"], 1, "the stored one: {job}");
    assert_eq!(
        quarantined(&lrs, &admin_key, &admin_secret).await,
        [(l2_poison.to_string(), "l2".to_owned())]
    );
    assert_eq!(
        files_holding(&data_dir, &l1_marker),
        Vec::<String>::new(),
        "running"
    );
    assert!(
        !files_holding(&data_dir, &l2_marker).is_empty(),
        "l2's stays"
    );

    let (status, job) = send_json(
        lrs.api_as(Method::POST, "/admin/purges", &admin_key, &admin_secret)
            .json(&json!({"scope": "retention", "keep_school_years": 1})),
    )
    .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let job = lrs
        .purge_completed(
            &format!("/api/v1/admin/purges/{id}"),
            &admin_key,
            &admin_secret,
        )
        .await;
    assert_eq!(
        job["counts"]["statements"], 0,
        "the stored ones are recent: {job}"
    );
    assert_eq!(job["counts"]["other_rows"], 1, "the quarantined one: {job}");
    assert_eq!(quarantined(&lrs, &admin_key, &admin_secret).await, []);
    assert_eq!(
        files_holding(&data_dir, &l2_marker),
        Vec::<String>::new(),
        "running"
    );
    // The statements the store took stay (l2's: l1's went with l1).
    let (status, page) = lrs.get_json("/statements").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["actor"]["account"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["l2"], "{page}");

    assert!(lrs.terminate().success());
    for needle in [&l1_marker, &l2_marker] {
        assert_eq!(
            files_holding(&data_dir, needle),
            Vec::<String>::new(),
            "stopped"
        );
    }
}
