//! Durability: what was acknowledged survives `kill -9` and a graceful stop, exactly once.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestLrs, statement_for};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Posts batches from `writers` tasks until `stop_after` batches are acknowledged, then runs
/// `interrupt` while the writers are still sending; returns every acknowledged id.
async fn post_until_interrupted(
    lrs: &mut TestLrs,
    writers: usize,
    stop_after: usize,
    interrupt: impl FnOnce(&mut TestLrs),
) -> Vec<String> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let batches = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = lrs.client.clone();
        let url = lrs.url("/statements");
        let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
        let acked = acked.clone();
        let batches = batches.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0.. {
                let batch: Vec<Value> = (0..10)
                    .map(|i| {
                        let mut s = statement_for(
                            &format!("w{w}-{round}-{i}"),
                            "answered",
                            "https://drill.example.jp/items/c",
                        );
                        // Half the statements carry client ids, as Japanese tools send them.
                        if i % 2 == 0 {
                            s["id"] = json!(Uuid::new_v4().to_string());
                        }
                        s
                    })
                    .collect();
                let sent = client
                    .post(&url)
                    .basic_auth(&key, Some(&secret))
                    .header("X-Experience-API-Version", "1.0.3")
                    .json(&batch)
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != 200 {
                    return;
                }
                let Ok(ids) = response.json::<Vec<String>>().await else {
                    return;
                };
                acked.lock().await.extend(ids);
                batches.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while batches.load(Ordering::SeqCst) < stop_after {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    interrupt(lrs);
    for task in tasks {
        let _ = task.await;
    }
    acked.lock().await.clone()
}

fn assert_exactly_once(acked: &[String], found: &[Value]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in found {
        *counts.entry(s["id"].as_str().unwrap()).or_default() += 1;
    }
    assert!(
        counts.values().all(|&c| c == 1),
        "no statement is visible twice"
    );
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| !counts.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged statements lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        missing.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_statement_survives_kill_9_exactly_once() {
    let mut lrs = TestLrs::start();
    let acked = post_until_interrupted(&mut lrs, 8, 150, |lrs| lrs.kill9()).await;
    assert!(
        acked.len() >= 1500,
        "the stream was running when the server was killed"
    );
    lrs.restart();
    let found = lrs.get_all("/statements").await;
    assert_exactly_once(&acked, &found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_drains_and_loses_nothing() {
    let mut lrs = TestLrs::start();
    let mut status = None;
    let acked = post_until_interrupted(&mut lrs, 4, 50, |lrs| status = Some(lrs.terminate())).await;
    assert!(status.unwrap().success(), "lrs exits 0 on SIGTERM");
    lrs.restart();
    let found = lrs.get_all("/statements").await;
    assert_exactly_once(&acked, &found);
}
