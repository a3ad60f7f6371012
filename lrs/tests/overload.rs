//! Overload: beyond the ingest lag bound, writes get 503 + Retry-After; memory stays bounded and
//! nothing acknowledged is lost.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{TestLrs, statement_for};
use serde_json::Value;

// xAPI 1.0.3 Communication §2.1.2 (and RFC 9110 §15.6.4): an LRS that cannot accept a write now
// answers 503 with Retry-After, and a refused request stores nothing.
#[tokio::test]
async fn writes_beyond_the_ingest_lag_bound_in_bytes_get_503_with_retry_after_and_none_is_lost() {
    // A one-byte bound: while any acknowledged statement is not yet applied, writes are refused.
    let lrs = TestLrs::start_with_env(&[], &[("LRS__LOG__MAX_INGEST_LAG_BYTES", "1")]);
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let (client, url) = (lrs.client.clone(), lrs.url("/statements"));
        let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut refused = 0;
            for round in 0..10 {
                let batch: Vec<Value> = (0..50)
                    .map(|i| {
                        statement_for(
                            &format!("w{writer}-{round}-{i}"),
                            "answered",
                            "https://drill.example.jp/items/overload",
                        )
                    })
                    .collect();
                let response = client
                    .post(&url)
                    .basic_auth(&key, Some(&secret))
                    .header("X-Experience-API-Version", "2.0.0")
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                match response.status().as_u16() {
                    200 => acknowledged.extend(response.json::<Vec<String>>().await.unwrap()),
                    503 => {
                        assert!(
                            response.headers().get("Retry-After").is_some(),
                            "503 without Retry-After"
                        );
                        refused += 1;
                    }
                    other => panic!("unexpected status {other}"),
                }
            }
            (acknowledged, refused)
        }));
    }
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for task in tasks {
        let (ids, refusals) = task.await.unwrap();
        acknowledged.extend(ids);
        refused += refusals;
    }
    assert!(
        refused > 0,
        "160 concurrent batches never hit a 1-byte lag bound"
    );
    assert!(!acknowledged.is_empty(), "nothing was accepted at all");

    // Once ingest has caught up, writes are accepted again.
    let mut accepted_again = false;
    for _ in 0..100 {
        let response = lrs
            .post_statements(&statement_for(
                "after",
                "answered",
                "https://drill.example.jp/items/overload",
            ))
            .await;
        if response.status() == 200 {
            acknowledged.extend(response.json::<Vec<String>>().await.unwrap());
            accepted_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        accepted_again,
        "writes were still refused after the load stopped"
    );

    // Every acknowledged statement is stored exactly once, and no refused one is.
    let stored = lrs.get_all("/statements?limit=500").await;
    let stored_ids: Vec<&str> = stored.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = stored_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        stored_ids.len(),
        "a statement was stored twice"
    );
    let expected: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    assert_eq!(
        unique, expected,
        "stored statements differ from acknowledged ones"
    );
}
