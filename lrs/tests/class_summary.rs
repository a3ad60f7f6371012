//! `GET /api/v1/classes/{sourcedId}/summary.csv` through the real binary (issue 14 §5): per
//! learner of the class, statements, learning time and correct rate per subject, checked against
//! a tally this test makes from the statements it posts; CP932 output with unencodable
//! characters replaced visibly and counted; access as the aggregates API decides.

mod common;

use std::collections::BTreeMap;

use common::TestLrs;
use common::roster::{bulk_roster, credential};
use common::studylog::{Who, at, sent};
use serde_json::json;

const PERIOD: &str = "since=2025-10-01&until=2025-11-01";

/// A subject CP932 cannot write: 𠮷 (U+20BB7) is outside JIS X 0208 and the CP932 extensions.
const ODD_SUBJECT: &str = "𠮷算";

/// Posts statements of l1 and l3 (class k1) and l2 (class k2) in October 2025; answers the
/// expected summary of k1: learner → subject → (statements, seconds, answered, correct).
async fn posted(lrs: &TestLrs) -> BTreeMap<String, BTreeMap<String, [u64; 4]>> {
    let mut statements = Vec::new();
    let mut expected: BTreeMap<String, BTreeMap<String, [u64; 4]>> = BTreeMap::new();
    expected.entry("l1".into()).or_default();
    expected.entry("l3".into()).or_default();
    for n in 0..60u32 {
        let learner = ["l1", "l3", "l1", "l2"][(n % 4) as usize];
        let mut s = sent(n, Who::learner(learner), at(2025, 10, 1 + n % 28, 1, 0));
        if n % 11 == 0 {
            s.subject = Some(ODD_SUBJECT.into());
        }
        if n % 13 == 0 {
            s.subject = None;
        }
        statements.push(s.json());
        if learner == "l2" {
            continue;
        }
        let subject = s.subject.clone().unwrap_or_default();
        let cell = expected
            .entry(learner.into())
            .or_default()
            .entry(subject)
            .or_default();
        cell[0] += 1;
        cell[1] += u64::from(s.duration_seconds.unwrap_or(0));
        cell[2] += u64::from(s.success.is_some());
        cell[3] += u64::from(s.success == Some(true));
    }
    // Outside the period: counts nowhere.
    statements.push(sent(99, Who::learner("l1"), at(2025, 11, 2, 1, 0)).json());
    let response = lrs.post_statements(&json!(statements)).await;
    assert_eq!(response.status(), 200);
    lrs.wait_applied().await;
    expected
}

/// The CSV the tally says the LRS must answer (the module documentation of
/// `lrs_api::class_summary` gives the format).
fn expected_csv(expected: &BTreeMap<String, BTreeMap<String, [u64; 4]>>) -> String {
    let mut subjects: Vec<&str> = expected
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect();
    subjects.sort();
    subjects.dedup();
    let columns = |c: [u64; 4]| {
        let rate = if c[2] == 0 {
            String::new()
        } else {
            format!("{:.1}", c[3] as f64 * 100.0 / c[2] as f64)
        };
        format!("{},{:.1},{rate}", c[0], c[1] as f64 / 60.0)
    };
    let mut out = String::from("userSourcedId");
    for s in subjects.iter().copied().chain(["合計"]) {
        out += &format!(",{s} 件数,{s} 学習時間(分),{s} 正答率(%)");
    }
    out += "\r\n";
    for (learner, cells) in expected {
        out += learner;
        let mut total = [0u64; 4];
        for cell in cells.values() {
            for i in 0..4 {
                total[i] += cell[i];
            }
        }
        for s in &subjects {
            out += ",";
            out += &columns(cells.get(*s).copied().unwrap_or_default());
        }
        out += ",";
        out += &columns(total);
        out += "\r\n";
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_summary_is_one_row_per_learner_per_subject_in_utf8_or_cp932() {
    let lrs = TestLrs::start();
    let (status, body) = lrs.import_roster(&bulk_roster()).await;
    assert_eq!(status, 200, "{body}");
    let expected = posted(&lrs).await;
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());

    let path = format!("/classes/k1/summary.csv?{PERIOD}");
    let response = lrs
        .api_as(reqwest::Method::GET, &path, &key, &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(response.headers()["x-lrs-replaced-characters"], "0");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("class-summary-k1.csv")
    );
    let utf8 = response.text().await.unwrap();
    assert_eq!(utf8, expected_csv(&expected));

    let response = lrs
        .api_as(
            reqwest::Method::GET,
            &format!("{path}&encoding=cp932"),
            &key,
            &secret,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    let replaced: usize = response.headers()["x-lrs-replaced-characters"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!had_errors);
    assert_eq!(text, utf8.replace('𠮷', "〓"));
    assert_eq!(replaced, utf8.matches('𠮷').count());
    assert_eq!(replaced, 3, "the odd subject's three column names");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_summary_is_refused_to_other_teachers_unknown_classes_and_bad_parameters() {
    let lrs = TestLrs::start();
    let (status, body) = lrs.import_roster(&bulk_roster()).await;
    assert_eq!(status, 200, "{body}");
    let dir = lrs.data_dir();
    let teacher = |user: &str| {
        credential(
            &dir,
            &[
                "--tenant",
                "board-a",
                "--scopes",
                "aggregates",
                "--user",
                user,
            ],
        )
    };
    let (t1, t2) = (teacher("t1"), teacher("t2"));
    let (own, admin) = (lrs.key.clone(), lrs.secret.clone());
    for ((key, secret), path, expected) in [
        (&t1, format!("/classes/k1/summary.csv?{PERIOD}"), 200),
        (&t2, format!("/classes/k1/summary.csv?{PERIOD}"), 403),
        (
            &(own.clone(), admin.clone()),
            format!("/classes/k9/summary.csv?{PERIOD}"),
            404,
        ),
        (
            &(own.clone(), admin.clone()),
            format!("/classes/k1/summary.csv?{PERIOD}&encoding=latin1"),
            400,
        ),
        (
            &(own.clone(), admin.clone()),
            "/classes/k1/summary.csv?colour=red".to_owned(),
            400,
        ),
    ] {
        let response = lrs
            .api_as(reqwest::Method::GET, &path, key, secret)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{path}");
    }
}
