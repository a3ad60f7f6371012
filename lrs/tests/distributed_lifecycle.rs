//! A learner's data over its life on the distributed deployment (issue 14): api, ingest and
//! query as three processes over a Kafka-protocol broker (tansu) and PostgreSQL. The export and
//! the class summary are read from the query role; the learner purge and the retention purge
//! are asked of the api role, and their effect is checked on the query role's answers, in the
//! export, in the aggregates (against a recomputation from what is left) and in the PostgreSQL
//! tables themselves.
//!
//! Needs the cargo features `kafka` and `postgres`, `LRS_TEST_TANSU` and `LRS_TEST_POSTGRES`
//! (`.ci/run` sets both); without them each test says it was skipped (a failure under `CI`).
#![cfg(all(feature = "kafka", feature = "postgres"))]

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use common::create_credential;
use common::deployment::{Broker, Deployment, infrastructure};
use common::studylog::{Sent, Target, Who, at, roster_v2, sent};

/// The learner purged, in class 1-1 for the whole school year (`roster_v2`), and the identifier
/// the roster also knows them by (`userMasterIdentifier`).
const LEARNER: &str = "s2";
const LEARNER_MASTER: &str = "umi-s2";
const CLASS: &str = "1-1";
const PERIOD: &str = "since=2026-10-01&until=2026-11-01";

/// 120 statements of October 2026: every roster learner, the purged one under both of their
/// identifiers.
fn october() -> Vec<Sent> {
    let learners = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"];
    (0..120u32)
        .map(|n| {
            let name = learners[n as usize % learners.len()];
            let who = if name == LEARNER && n % 3 == 0 {
                Who::learner(LEARNER_MASTER)
            } else {
                Who::learner(name)
            };
            sent(
                40_000 + n,
                who,
                at(2026, 10, 1 + n % 28, 1, 0) + i64::from(n),
            )
        })
        .collect()
}

fn is_learners(s: &Sent) -> bool {
    s.who == Who::learner(LEARNER) || s.who == Who::learner(LEARNER_MASTER)
}

fn target(deployment: &Deployment) -> Target<'_> {
    Target {
        client: &deployment.client,
        write_root: deployment.api.root(),
        read_root: deployment.query.root(),
        key: &deployment.key,
        secret: &deployment.secret,
    }
}

/// The statement ids of a learner's export zip.
async fn exported_ids(deployment: &Deployment) -> BTreeSet<String> {
    let response = deployment
        .request(
            &deployment.query,
            Method::GET,
            &format!("/api/v1/learners/{LEARNER}/export"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut ids = BTreeSet::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        if !file.name().unwrap().starts_with("statements/") {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let statements: Vec<Value> = serde_json::from_str(&text).unwrap();
        ids.extend(
            statements
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned()),
        );
    }
    ids
}

/// The class summary's `合計 件数` per learner.
async fn summary_counts(deployment: &Deployment) -> Vec<(String, String)> {
    let response = deployment
        .request(
            &deployment.query,
            Method::GET,
            &format!("/api/v1/classes/{CLASS}/summary.csv?{PERIOD}"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let total = headers
        .iter()
        .position(|h| h == "合計 件数")
        .unwrap_or_else(|| panic!("a 合計 件数 column: {headers:?}"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[total].to_owned())
        })
        .collect()
}

/// What the summary must say: every learner of the class, with the count of their statements.
fn expected_counts(sent: &[Sent], enrolled: &[&str]) -> Vec<(String, String)> {
    enrolled
        .iter()
        .map(|user| {
            let n = sent
                .iter()
                .filter(|s| {
                    s.who == Who::learner(user) || s.who == Who::learner(&format!("umi-{user}"))
                })
                .count();
            ((*user).to_owned(), n.to_string())
        })
        .collect()
}

/// Polls a purge job on the api role until it is complete.
async fn completed(deployment: &Deployment, location: &str, admin: (&str, &str)) -> Value {
    for _ in 0..1_200 {
        let response = deployment
            .request(&deployment.api, Method::GET, location, Some(admin))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let job: Value = response.json().await.unwrap();
        if job["state"] == "complete" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the purge {location} did not complete in 120 s");
}

/// Every statement id the query role returns (`format=ids`, following `more`).
async fn queried_ids(deployment: &Deployment) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut next = "/statements?limit=500&format=ids".to_owned();
    loop {
        let response = deployment
            .request(&deployment.query, Method::GET, &next, None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        for s in page["statements"].as_array().unwrap() {
            ids.insert(s["id"].as_str().unwrap().to_owned());
        }
        match page["more"].as_str() {
            Some(more) if !more.is_empty() => {
                next = more.strip_prefix("/xapi").unwrap().to_owned();
            }
            _ => return ids,
        }
    }
}

/// Rows of `table` (`statements`, `facts`) of these ids in the deployment's schema.
async fn rows_of(client: &tokio_postgres::Client, table: &str, ids: &[uuid::Uuid]) -> i64 {
    client
        .query_one(
            &format!("SELECT count(*) FROM {table} WHERE id = ANY($1)"),
            &[&ids],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_export_summary_and_purge_on_the_distributed_deployment_match_what_was_posted() {
    let test =
        "a_learners_export_summary_and_purge_on_the_distributed_deployment_match_what_was_posted";
    let Some((tansu, postgres)) = infrastructure(test) else {
        return;
    };
    let started = std::time::Instant::now();
    let broker = Broker::start(&tansu);
    let deployment = Deployment::start(&broker, &postgres, &[]).await;
    let target = target(&deployment);
    let roster = roster_v2();
    target.import(&roster).await;
    let all = october();
    target.post_statements(&all).await;
    deployment.wait_until_applied(Duration::from_secs(60)).await;

    // The export (query role) holds exactly the learner's statements, under both identities.
    let theirs: BTreeSet<String> = all
        .iter()
        .filter(|s| is_learners(s))
        .map(|s| s.id.clone())
        .collect();
    assert!(theirs.len() > 10);
    assert_eq!(exported_ids(&deployment).await, theirs);
    // The class summary counts what each enrolled learner sent; the aggregates equal the
    // recomputation.
    let enrolled: Vec<&str> = roster
        .enrollments
        .iter()
        .filter(|e| e.class == CLASS && !e.teacher)
        .map(|e| e.user.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // s7 leaves 1-1 on October 11: only their earlier statements count there.
    let in_class = |sent: &[Sent]| -> Vec<Sent> {
        sent.iter()
            .filter(|s| s.who != Who::learner("s7") || s.at < at(2026, 10, 11, 0, 0) - 9 * 3_600)
            .cloned()
            .collect()
    };
    assert_eq!(
        summary_counts(&deployment).await,
        expected_counts(&in_class(&all), &enrolled)
    );
    target.check_every_question(&roster, &all).await;

    // The purge, asked of the api role.
    let (admin_key, admin_secret) =
        create_credential(deployment.dir.path(), &deployment.tenant, "admin");
    let admin = (admin_key.as_str(), admin_secret.as_str());
    let response = deployment
        .request(
            &deployment.api,
            Method::DELETE,
            &format!("/api/v1/learners/{LEARNER}"),
            Some(admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = completed(&deployment, &location, admin).await;
    assert_eq!(job["counts"]["statements"], theirs.len(), "{job}");
    assert_eq!(job["identity_count"], 2, "{job}");
    assert!(!job.to_string().contains(LEARNER), "{job}");

    // Gone from the query role's GETs, from the export, from the tables; the others stay.
    let left: Vec<Sent> = all.iter().filter(|s| !is_learners(s)).cloned().collect();
    let expected: BTreeSet<String> = left.iter().map(|s| s.id.clone()).collect();
    assert_eq!(queried_ids(&deployment).await, expected);
    assert_eq!(exported_ids(&deployment).await, BTreeSet::new());
    let client = deployment.postgres().await;
    let purged: Vec<uuid::Uuid> = theirs.iter().map(|id| id.parse().unwrap()).collect();
    assert_eq!(rows_of(&client, "statements", &purged).await, 0);
    assert_eq!(rows_of(&client, "facts", &purged).await, 0);
    let kept: Vec<uuid::Uuid> = expected.iter().map(|id| id.parse().unwrap()).collect();
    assert_eq!(
        rows_of(&client, "statements", &kept).await,
        kept.len() as i64
    );
    let terms: i64 = client
        .query_one(
            "SELECT count(*) FROM terms \
             WHERE convert_from(term, 'UTF8') LIKE $1 OR convert_from(term, 'UTF8') LIKE $2",
            &[&format!("%::{LEARNER}"), &format!("%::{LEARNER_MASTER}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(terms, 0, "the learner's identifiers left the dictionary");
    // The class summary and the aggregates change to what is left.
    assert_eq!(
        summary_counts(&deployment).await,
        expected_counts(&in_class(&left), &enrolled)
    );
    target.check_every_question(&roster, &left).await;
    eprintln!("{test}: passed in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_purge_on_the_distributed_deployment_leaves_only_the_kept_school_years() {
    let test = "a_retention_purge_on_the_distributed_deployment_leaves_only_the_kept_school_years";
    let Some((tansu, postgres)) = infrastructure(test) else {
        return;
    };
    let started = std::time::Instant::now();
    let broker = Broker::start(&tansu);
    // The first api process stamps `stored` two years back (the test hook): its statements
    // are of an earlier school year.
    let two_years_ago = [("LRS__TESTING__STORED_OFFSET_SECONDS", "-63072000")];
    let mut deployment = Deployment::start(&broker, &postgres, &two_years_ago).await;
    let roster = roster_v2();
    target(&deployment).import(&roster).await;
    let all = october();
    let (old, new) = all.split_at(all.len() / 2);
    target(&deployment).post_statements(old).await;
    deployment.wait_until_applied(Duration::from_secs(60)).await;
    deployment.api = Deployment::spawn(deployment.dir.path(), &deployment.env, "api", &[]);
    target(&deployment).post_statements(new).await;
    deployment.wait_until_applied(Duration::from_secs(60)).await;
    assert_eq!(
        queried_ids(&deployment).await,
        all.iter().map(|s| s.id.clone()).collect()
    );

    let (admin_key, admin_secret) =
        create_credential(deployment.dir.path(), &deployment.tenant, "admin");
    let admin = (admin_key.as_str(), admin_secret.as_str());
    let response = deployment
        .request(
            &deployment.api,
            Method::POST,
            "/api/v1/admin/purges",
            Some(admin),
        )
        .json(&serde_json::json!({"scope": "retention", "keep_school_years": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = completed(&deployment, &location, admin).await;
    assert_eq!(job["counts"]["statements"], old.len(), "{job}");

    let kept: BTreeSet<String> = new.iter().map(|s| s.id.clone()).collect();
    assert_eq!(queried_ids(&deployment).await, kept);
    let client = deployment.postgres().await;
    let purged: Vec<uuid::Uuid> = old.iter().map(|s| s.id.parse().unwrap()).collect();
    assert_eq!(rows_of(&client, "statements", &purged).await, 0);
    assert_eq!(rows_of(&client, "facts", &purged).await, 0);
    // The aggregates (by `timestamp`, all in October) now count the kept statements only.
    target(&deployment).check_every_question(&roster, new).await;
    eprintln!("{test}: passed in {:?}", started.elapsed());
}
