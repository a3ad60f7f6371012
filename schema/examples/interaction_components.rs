//! How long validating a statement with many interaction components takes.
//!
//! ```sh
//! cargo run --release -p lrs-schema --example interaction_components -- 100000
//! ```
//!
//! Builds one `choice` statement whose definition lists N choices (default 100 000) and times
//! `parse_statements` on it in both versions; a list over the component limit (10 000) is
//! refused, so this also shows how fast the limit answers.
//!
//! Measured on the shared 2-core CI machine (release, load average about 6), 2026-12-04:
//! 100 000 components took 55 s (1.0.3) and 39 s (2.0.0) while duplicate ids were found by
//! scanning the components already seen (issue 16 measured 13 s on a quiet machine). With a set,
//! and the limit lifted for the measurement, 100 000 took 0.2–0.9 s; with the limit, 100 000 are
//! refused in 0.2–0.3 s (mostly parsing the 5.8 MB body) and 10 000 validate in 8–38 ms.

use std::time::Instant;

use lrs_schema::{XapiVersion, parse_statements};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a component count"))
        .unwrap_or(100_000);
    let choices: Vec<serde_json::Value> = (0..count)
        .map(|i| serde_json::json!({"id": format!("choice-{i}"), "description": {"ja-JP": "選択肢"}}))
        .collect();
    let statement = serde_json::json!({
        "actor": {"mbox": "mailto:learner@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "https://drill.example.jp/items/1", "definition": {
            "interactionType": "choice",
            "correctResponsesPattern": ["choice-0"],
            "choices": choices
        }}
    });
    let body = serde_json::to_vec(&statement).unwrap();
    println!("{count} components, {} bytes", body.len());
    for version in [XapiVersion::V1_0_3, XapiVersion::V2_0_0] {
        let started = Instant::now();
        let outcome = parse_statements(&body, version);
        let elapsed = started.elapsed();
        match outcome {
            Ok(_) => println!("{version:?}: valid, {elapsed:.2?}"),
            Err(e) => println!("{version:?}: refused ({}), {elapsed:.2?}", e.rule()),
        }
    }
}
