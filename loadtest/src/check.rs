//! `--verify` against a live LRS: reads every acknowledged id back and tallies it (`verify`).
//!
//! First it pages through `GET /statements?since=…&until=…` (xAPI Communication §2.1.3) over
//! the run's window, following `more`, and counts the ids on the pages — one request per page
//! instead of one per statement. Ids paging did not show (another clock, a window too narrow, an
//! LRS that applies writes asynchronously) are then looked up one by one with
//! `GET ?statementId=`, again and again until found or until `wait` has passed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::driver::Target;
use crate::read::{IdOnly, Page};
use crate::verify::{Ledger, Outcome, Tally};

/// Where and how long to look.
#[derive(Clone, Debug)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// How long to keep looking up ids not found yet.
    pub wait: Duration,
}

/// Parallel single-statement lookups.
const LOOKUP_CONNECTIONS: usize = 16;
const PAGE_LIMIT: &str = "500";

fn get(
    client: &reqwest::Client,
    target: &Target,
    version: &str,
    url: reqwest::Url,
) -> reqwest::RequestBuilder {
    client
        .get(url)
        .basic_auth(&target.key, Some(&target.secret))
        .header("X-Experience-API-Version", version)
}

/// Pages through the window; returns false if a page could not be read (the rest is left to
/// the lookups).
async fn page_through(
    client: &reqwest::Client,
    target: &Target,
    version: &str,
    window: &Window,
    tally: &mut Tally<'_>,
) -> bool {
    let mut url = target.statements.clone();
    url.query_pairs_mut()
        .append_pair(
            "since",
            &window.since.to_rfc3339_opts(SecondsFormat::Millis, true),
        )
        .append_pair(
            "until",
            &window.until.to_rfc3339_opts(SecondsFormat::Millis, true),
        )
        .append_pair("format", "ids")
        .append_pair("limit", PAGE_LIMIT);
    let mut next = Some(url);
    while let Some(url) = next.take() {
        let response = match get(client, target, version, url.clone()).send().await {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                eprintln!(
                    "verify: {url} answered {}; looking ids up one by one",
                    response.status()
                );
                return false;
            }
            Err(e) => {
                eprintln!("verify: {url}: {e}; looking ids up one by one");
                return false;
            }
        };
        let Ok(body) = response.bytes().await else {
            return false;
        };
        let Ok(page) = serde_json::from_slice::<Page<IdOnly>>(&body) else {
            eprintln!("verify: {url} did not return a StatementResult; looking ids up one by one");
            return false;
        };
        let ids: Vec<Uuid> = page.statements.iter().map(|s| s.id).collect();
        tally.page(&ids);
        next = page
            .more
            .filter(|m| !m.is_empty())
            .and_then(|m| target.resolve(&m));
    }
    true
}

/// Looks each id up once; returns (id, found).
async fn lookups(
    client: &reqwest::Client,
    target: &Target,
    version: &str,
    ids: Vec<Uuid>,
) -> Vec<(Uuid, bool)> {
    let queue = Arc::new(Mutex::new(ids));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..LOOKUP_CONNECTIONS {
        let (client, target, version, queue) = (
            client.clone(),
            target.clone(),
            version.to_owned(),
            queue.clone(),
        );
        tasks.spawn(async move {
            let mut results = Vec::new();
            loop {
                let Some(id) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let mut url = target.statements.clone();
                url.query_pairs_mut()
                    .append_pair("statementId", &id.to_string());
                let found = get(&client, &target, &version, url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                results.push((id, found));
            }
            results
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

/// Reads every id of `ledger` back from `target` and returns the verdict.
pub async fn check(
    client: &reqwest::Client,
    target: &Target,
    version: &str,
    ledger: &Ledger,
    window: &Window,
) -> Outcome {
    let mut tally = Tally::new(ledger);
    page_through(client, target, version, window, &mut tally).await;
    let deadline = Instant::now() + window.wait;
    let mut unseen = tally.unseen();
    while !unseen.is_empty() {
        if unseen.len() > 10_000 {
            eprintln!("verify: looking up {} ids one by one", unseen.len());
        }
        let mut still = Vec::new();
        for (id, found) in lookups(client, target, version, unseen).await {
            tally.lookup(id, found);
            if !found {
                still.push(id);
            }
        }
        if still.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        unseen = still;
    }
    tally.outcome()
}
