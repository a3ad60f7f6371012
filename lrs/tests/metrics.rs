//! `GET /metrics`: Prometheus text format on the running server (README "Metrics and logs").

mod common;

use std::time::Duration;

use common::TestLrs;
use common::documents::{Client, STATE, state_params};
use serde_json::{Value, json};

/// The value of the sample whose line starts with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line[series.len()..].trim().parse().ok())
}

/// `GET /metrics` as text.
async fn scrape(lrs: &TestLrs) -> String {
    lrs.client
        .get(lrs.endpoint.replace("/xapi", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn answered(n: u32) -> Value {
    json!({"actor": {"mbox": format!("mailto:learner{n}@example.jp")}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": format!("https://drill.example.jp/q/{n}")}, "timestamp": "2026-11-30T09:00:00+09:00"})
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_statements_through_ingest() {
    let lrs = TestLrs::start();
    let batch = json!([
        {"actor": {"mbox": "mailto:a@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://drill.example.jp/q/1"}},
        {"actor": {"mbox": "mailto:b@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://drill.example.jp/q/2"}},
        {"actor": {"mbox": "mailto:c@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://drill.example.jp/q/3"}}
    ]);
    assert_eq!(lrs.post_statements(&batch).await.status(), 200);
    assert_eq!(lrs.post_statements(&json!({"verb": 1})).await.status(), 400);
    // A GET waits until the acknowledged statements are applied.
    let (status, _) = lrs.get_json("/statements?limit=1").await;
    assert_eq!(status, 200);

    let metrics_url = lrs.endpoint.replace("/xapi", "/metrics");
    let response = lrs.client.get(&metrics_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let route = r#"route="/xapi/statements""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"lrs_http_requests_total{{method="POST",{route},status="200"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"lrs_http_requests_total{{method="POST",{route},status="400"}}"#)
        ),
        Some(1.0)
    );
    for status in ["200", "400"] {
        assert_eq!(
            sample(
                &text,
                &format!(
                    r#"lrs_http_request_duration_seconds_count{{method="POST",{route},status="{status}"}}"#
                )
            ),
            Some(1.0),
            "{status}"
        );
    }
    assert_eq!(sample(&text, "lrs_statements_accepted_total"), Some(3.0));
    assert_eq!(
        sample(&text, "lrs_statements_already_present_total"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "lrs_ingest_statements_written_total"),
        Some(3.0)
    );
    assert_eq!(sample(&text, "lrs_ingest_records_total"), Some(1.0));
    assert_eq!(sample(&text, "lrs_ingest_lag_records"), Some(0.0));
}

/// Every series name the Grafana dashboard (`deploy/grafana/lrs-dashboard.json`) charts.
fn dashboard_series() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/lrs-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).unwrap();
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            let mut rest = expr;
            while let Some(start) = rest.find("lrs_") {
                let name: String = rest[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[start + name.len()..];
                names.push(name);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[tokio::test]
async fn the_grafana_dashboard_charts_only_series_the_server_exposes() {
    let series = dashboard_series();
    assert!(series.len() >= 10, "{series:?}");
    let lrs = TestLrs::start();
    let statement = json!({"actor": {"mbox": "mailto:a@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://drill.example.jp/q/1"}});
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);
    let text = scrape(&lrs).await;
    for name in series {
        let exposed = text.lines().any(|line| {
            line.strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        });
        assert!(
            exposed,
            "the dashboard charts {name}, which /metrics lacks:\n{text}"
        );
    }
}

/// xAPI Communication §2.1.2: a statement id that exists with different content is answered 409;
/// statement writes answered 4xx are counted by the error kind, 409s once more as conflicts; every
/// accepted write adds its statement count to the batch-size histogram and (unless nothing was new)
/// one log append.
#[tokio::test]
async fn rejected_conflicted_batch_size_and_log_append_series_count_real_requests() {
    let lrs = TestLrs::start();
    let batch = json!([answered(1), answered(2), answered(3)]);
    assert_eq!(lrs.post_statements(&batch).await.status(), 200);
    let id = "a5f0cc92-4f1c-4f5e-8d3a-1e2b3c4d5e6f";
    let put = |body: Value| {
        lrs.request(
            reqwest::Method::PUT,
            &format!("/statements?statementId={id}"),
        )
        .json(&body)
        .send()
    };
    assert_eq!(put(answered(4)).await.unwrap().status(), 204);
    // Equivalent again: accepted (204) with nothing new to append.
    assert_eq!(put(answered(4)).await.unwrap().status(), 204);
    assert_eq!(put(answered(5)).await.unwrap().status(), 409);
    assert_eq!(lrs.post_statements(&json!({"verb": 1})).await.status(), 400);
    let stranger = lrs
        .request_as(
            reqwest::Method::POST,
            "/statements",
            "nobody",
            "wrong",
            "2.0.0",
        )
        .json(&answered(6))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);

    let text = scrape(&lrs).await;
    let rejected = |reason: &str| {
        sample(
            &text,
            &format!(r#"lrs_statements_rejected_total{{reason="{reason}"}}"#),
        )
    };
    assert_eq!(rejected("bad_request"), Some(1.0), "{text}");
    assert_eq!(rejected("conflict"), Some(1.0));
    assert_eq!(rejected("unauthorized"), Some(1.0));
    assert_eq!(rejected("forbidden"), Some(0.0));
    assert_eq!(sample(&text, "lrs_statements_conflicted_total"), Some(1.0));
    // Three accepted writes: 3 + 1 + 1 statements.
    assert_eq!(sample(&text, "lrs_statement_batch_size_count"), Some(3.0));
    assert_eq!(sample(&text, "lrs_statement_batch_size_sum"), Some(5.0));
    assert_eq!(
        sample(&text, r#"lrs_statement_batch_size_bucket{le="2"}"#),
        Some(2.0)
    );
    // Two records reached the log (the batch and the first PUT).
    assert_eq!(
        sample(&text, "lrs_log_append_duration_seconds_count"),
        Some(2.0)
    );
    assert!(sample(&text, "lrs_log_append_duration_seconds_sum").unwrap() > 0.0);
    assert_eq!(sample(&text, "lrs_statements_accepted_total"), Some(4.0));
    assert_eq!(
        sample(&text, "lrs_statements_already_present_total"),
        Some(1.0)
    );
}

/// Ingest times its store calls once per batch, the GET handlers theirs once per request; the
/// ingest lag in seconds is 0 once ingest has drained the log.
#[tokio::test]
async fn store_operation_histograms_and_ingest_lag_seconds_follow_ingest_and_reads() {
    let lrs = TestLrs::start();
    let batch = json!([answered(1), answered(2)]);
    let response = lrs.post_statements(&batch).await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();
    let (status, _) = lrs.get_json("/statements?limit=1").await;
    assert_eq!(status, 200);
    let (status, _) = lrs
        .get_json(&format!("/statements?statementId={}", ids[0]))
        .await;
    assert_eq!(status, 200);
    let documents = Client::new(&lrs, "2.0.0");
    let params = state_params("bookmark");
    let body = Some(("application/json", br#"{"page": 3}"#.to_vec()));
    let written = documents
        .send(reqwest::Method::PUT, STATE, &params, &[], body)
        .await;
    assert_eq!(written.status(), 204);
    let read = documents
        .send(reqwest::Method::GET, STATE, &params, &[], None)
        .await;
    assert_eq!(read.status(), 200);

    // Ingest finds the log drained within a poll or two.
    let mut text = scrape(&lrs).await;
    for _ in 0..50 {
        if sample(&text, "lrs_ingest_lag_seconds") == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = scrape(&lrs).await;
    }
    assert_eq!(sample(&text, "lrs_ingest_lag_seconds"), Some(0.0), "{text}");
    let count = |op: &str| {
        sample(
            &text,
            &format!(r#"lrs_store_operation_duration_seconds_count{{op="{op}"}}"#),
        )
    };
    let batches = sample(&text, "lrs_ingest_batches_total").unwrap();
    assert!(batches >= 1.0);
    // One watermark write and one first-wins lookup per batch; the batch held new statements.
    assert_eq!(count("record_watermarks"), Some(batches), "{text}");
    assert_eq!(count("existing_bodies"), Some(batches));
    assert_eq!(count("write_statements"), Some(batches));
    assert!(count("merge_activity_definitions").is_some());
    assert_eq!(count("query_statements"), Some(1.0));
    assert_eq!(count("get_statement"), Some(1.0));
    assert_eq!(count("write_document"), Some(1.0));
    assert_eq!(count("get_document"), Some(1.0));
    assert_eq!(count("list_documents"), Some(0.0));
    assert!(
        sample(
            &text,
            r#"lrs_store_operation_duration_seconds_sum{op="write_statements"}"#
        )
        .unwrap()
            > 0.0
    );
}

/// A write arriving while ingest is `log.max_ingest_lag_records` records behind is answered 503
/// with Retry-After, and counted as backpressure with its reason.
#[tokio::test]
async fn writes_refused_for_ingest_lag_are_counted_as_backpressure() {
    let lrs = TestLrs::start_with_env(&[], &[("LRS__LOG__MAX_INGEST_LAG_RECORDS", "1")]);
    // With a bound of one record, concurrent writes soon find the previous one unapplied.
    let mut refused = 0;
    for round in 0..50 {
        let bodies: Vec<Value> = (0..16).map(|i| answered(round * 16 + i)).collect();
        let writes = bodies.iter().map(|body| lrs.post_statements(body));
        for response in futures::future::join_all(writes).await {
            match response.status().as_u16() {
                200 => {}
                503 => {
                    assert!(response.headers().contains_key("retry-after"));
                    refused += 1;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        if refused > 0 {
            break;
        }
    }
    assert!(refused > 0, "no write was ever refused");
    let text = scrape(&lrs).await;
    assert_eq!(
        sample(&text, r#"lrs_backpressure_total{reason="ingest_lag"}"#),
        Some(refused as f64),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"lrs_backpressure_total{reason="log_full"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"lrs_http_requests_total{method="POST",route="/xapi/statements",status="503"}"#
        ),
        Some(refused as f64)
    );
}
