//! `GET /metrics`: Prometheus text format on the running server (README "Metrics").

mod common;

use common::TestLrs;
use serde_json::json;

/// The value of the sample whose line starts with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line[series.len()..].trim().parse().ok())
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
    assert_eq!(
        sample(
            &text,
            &format!(r#"lrs_http_request_duration_seconds_count{{method="POST",{route}}}"#)
        ),
        Some(2.0)
    );
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
    let text = lrs
        .client
        .get(lrs.endpoint.replace("/xapi", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
