//! A learner's import into another board (issue 14 §2), against the real `lrs` binary: board A
//! (tenant `board-a`) exports learner s8 with `GET /api/v1/learners/s8/export`, board B (tenant
//! `board-b`, where the same child is `n8`) imports the zip with `POST
//! /api/v1/learners/import?userSourcedId=n8`, and the test reads B back with statement GETs,
//! documents, aggregates and B's own export.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};
use std::path::Path;

use common::TestLrs;
use common::attachments::{attachment_for, request_body, sha256_hex};
use common::studylog::{
    EPORTAL, Roster, Sent, TOOL_HOME, Target, Who, at, roster_v1, roster_v2, sent,
};
use reqwest::Method;
use serde_json::{Value, json};

const S8_MAIL: &str = "mailto:s8@example.jp";
/// The default `learner_import.source_extension`.
const MARKER: &str = "https://example.invalid/lrs/xapi/extensions/transferred-from";
/// The transfer day the tests ask for, and its start in UTC seconds (00:00 JST).
const TRANSFER_DATE: &str = "2026-11-01";

fn transfer_start() -> i64 {
    at(2026, 10, 31, 15, 0)
}

fn agent(who: &Who) -> Value {
    match who {
        Who::Account { home_page, name } => {
            json!({"objectType": "Agent", "account": {"homePage": home_page, "name": name}})
        }
        Who::Mbox(mbox) => json!({"objectType": "Agent", "mbox": mbox}),
    }
}

/// What board A holds of s8.
struct BoardA {
    /// Every statement of s8 as sent (the voiding one included).
    s8: Vec<Sent>,
    voided: String,
    voiding: String,
    attachment: Vec<u8>,
    state_body: String,
    profile_body: String,
}

/// Board A: the roster (s8 with an email and a tool alias), s8's statements under three
/// identities, a voided one, one with an attachment, a State and an Agent Profile document;
/// s1's statements besides.
async fn board_a(lrs: &TestLrs) -> BoardA {
    let mut roster = roster_v2();
    for user in &mut roster.users {
        if user.id == "s8" {
            user.email = Some("s8@example.jp".into());
        }
    }
    Target::of(lrs).import(&roster).await;
    let eportal = Who::learner("s8");
    let alias = Who::Account {
        home_page: TOOL_HOME.into(),
        name: "tool-s8".into(),
    };
    let mbox = Who::Mbox(S8_MAIL.into());
    let when = at(2026, 10, 14, 2, 0);
    let mut s8: Vec<Sent> = Vec::new();
    for n in 1..=10 {
        s8.push(sent(n, eportal.clone(), when + i64::from(n)));
    }
    for n in 11..=13 {
        s8.push(sent(n, alias.clone(), when + i64::from(n)));
    }
    for n in 14..=15 {
        s8.push(sent(n, mbox.clone(), when + i64::from(n)));
    }
    let voided = s8[0].id.clone();
    let mut voiding = sent(16, eportal.clone(), when + 16);
    voiding.voids = Some(voided.clone());
    let s1: Vec<Sent> = (101..=104)
        .map(|n| sent(n, Who::learner("s1"), when + i64::from(n)))
        .collect();
    Target::of(lrs).post_statements(&s8).await;
    Target::of(lrs).post_statements(&s1).await;
    Target::of(lrs)
        .post_statements(std::slice::from_ref(&voiding))
        .await;
    s8.push(voiding.clone());

    let attachment = "s8 の作文 (転校前)".as_bytes().to_vec();
    let with_attachment = sent(17, eportal.clone(), when + 17);
    let mut statement = with_attachment.json();
    statement["attachments"] = json!([attachment_for(&attachment, "text/plain")]);
    let response = lrs
        .send_multipart(
            Method::POST,
            "/statements",
            request_body(&json!([statement]), &[(&attachment, "text/plain")]),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    s8.push(with_attachment);

    let state_body = json!({"bookmark": "p.12"}).to_string();
    let profile_body = json!({"font": "large"}).to_string();
    for (path, params, body) in [
        (
            "/activities/state",
            vec![
                ("activityId", "https://drill.example.jp/u/1".to_owned()),
                ("agent", agent(&eportal).to_string()),
                ("stateId", "bookmark".to_owned()),
            ],
            &state_body,
        ),
        (
            "/agents/profile",
            vec![
                ("agent", agent(&alias).to_string()),
                ("profileId", "preferences".to_owned()),
            ],
            &profile_body,
        ),
    ] {
        let response = lrs
            .request(Method::PUT, path)
            .query(&params)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    lrs.wait_applied().await;
    BoardA {
        s8,
        voided,
        voiding: voiding.id,
        attachment,
        state_body,
        profile_body,
    }
}

/// Board B's roster: the fixed one, where the child is `n8` (same class 1-2, all year), with
/// the same email; no aliases.
fn board_b_roster() -> Roster {
    let mut roster = roster_v1();
    roster.board = "board-131024".into();
    for user in &mut roster.users {
        if user.id == "s8" {
            user.id = "n8".into();
            user.master = Some("umi-n8".into());
            user.email = Some("s8@example.jp".into());
        }
    }
    for enrollment in &mut roster.enrollments {
        if enrollment.user == "s8" {
            enrollment.user = "n8".into();
        }
    }
    roster
}

/// Board B in the same server: its credential (scope `all`) and its roster.
struct BoardB {
    key: String,
    secret: String,
}

impl BoardB {
    async fn start(lrs: &TestLrs) -> BoardB {
        let (key, secret) = common::create_credential(&lrs.data_dir(), "board-b", "all");
        let b = BoardB { key, secret };
        b.target(lrs).import(&board_b_roster()).await;
        b
    }

    fn target<'a>(&'a self, lrs: &'a TestLrs) -> Target<'a> {
        Target {
            key: &self.key,
            secret: &self.secret,
            ..Target::of(lrs)
        }
    }

    async fn get(&self, lrs: &TestLrs, path: &str) -> (u16, Value) {
        let response = lrs
            .request_as(Method::GET, path, &self.key, &self.secret, "2.0.0")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn export(lrs: &TestLrs, learner: &str, key: &str, secret: &str) -> Vec<u8> {
    let response = lrs
        .api_as(
            Method::GET,
            &format!("/learners/{learner}/export"),
            key,
            secret,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// `POST /api/v1/learners/import?{query}` with `body` as `application/zip`.
async fn import(
    lrs: &TestLrs,
    query: &str,
    body: Vec<u8>,
    key: &str,
    secret: &str,
) -> (u16, Value) {
    let response = lrs
        .api_as(
            Method::POST,
            &format!("/learners/import?{query}"),
            key,
            secret,
        )
        .header("Content-Type", "application/zip")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A zip's files by name, in zip order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().to_string(), data)
        })
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn manifest(files: &[(String, Vec<u8>)]) -> Value {
    let (_, bytes) = files.iter().find(|(n, _)| n == "manifest.json").unwrap();
    serde_json::from_slice(bytes).unwrap()
}

fn set_manifest(files: &mut [(String, Vec<u8>)], manifest: &Value) {
    for (name, data) in files.iter_mut() {
        if name == "manifest.json" {
            *data = serde_json::to_vec_pretty(manifest).unwrap();
        }
    }
}

/// The bundle's statements.
fn statements(files: &[(String, Vec<u8>)]) -> Vec<Value> {
    files
        .iter()
        .filter(|(n, _)| n.starts_with("statements/"))
        .flat_map(|(_, d)| serde_json::from_slice::<Vec<Value>>(d).unwrap())
        .collect()
}

fn ids(statements: &[Value]) -> BTreeSet<String> {
    statements
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Rows of `GET /api/v1/aggregates` keyed by the `group_by` dimension's value.
async fn rows(
    target: &Target<'_>,
    dimension: &str,
    since: i64,
    until: i64,
) -> BTreeMap<String, Value> {
    let answer = target.aggregates(&[dimension], since, until, &[]).await;
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut row = row.clone();
            let key = row
                .as_object_mut()
                .unwrap()
                .remove(dimension)
                .unwrap()
                .to_string();
            (key, row)
        })
        .collect()
}

/// Bytes of every file under the log directory: what a refused import must leave as it is.
fn log_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
    }
    walk(&dir.join("log"))
}

/// The whole round trip on one server (its store chosen by the caller).
async fn round_trip(lrs: &TestLrs) {
    let a = board_a(lrs).await;
    let b = BoardB::start(lrs).await;
    let bundle = export(lrs, "s8", &lrs.key, &lrs.secret).await;
    let files = unzip(&bundle);
    let exported = statements(&files);
    assert_eq!(exported.len(), a.s8.len());

    let (status, summary) = import(
        lrs,
        &format!("userSourcedId=n8&transferDate={TRANSFER_DATE}"),
        bundle.clone(),
        &b.key,
        &b.secret,
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["source_tenant"], "board-a");
    assert_eq!(summary["source_user_sourced_id"], "s8");
    assert_eq!(summary["user_sourced_id"], "n8");
    assert_eq!(summary["transfer_day"], TRANSFER_DATE);
    assert_eq!(
        summary["statements"],
        json!({"new": a.s8.len(), "already_present": 0})
    );
    assert_eq!(
        summary["state_documents"],
        json!({"new": 1, "already_present": 0})
    );
    assert_eq!(
        summary["agent_profile_documents"],
        json!({"new": 1, "already_present": 0})
    );
    assert_eq!(
        summary["attachments"],
        json!({"new": 1, "already_present": 0})
    );
    let mapped: BTreeMap<String, (String, bool)> = summary["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["identifier"].as_str().unwrap().to_owned(),
                (
                    i["mapped_by"].as_str().unwrap().to_owned(),
                    i["alias_added"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        mapped,
        BTreeMap::from([
            (
                format!("account::{EPORTAL}::s8"),
                ("alias".to_owned(), true)
            ),
            (
                format!("account::{TOOL_HOME}::tool-s8"),
                ("alias".to_owned(), true)
            ),
            (format!("mbox::{S8_MAIL}"), ("mbox".to_owned(), false)),
        ])
    );
    // B's roster had one version (its import): the import made the second.
    assert_eq!(summary["roster_version"], 2);

    // Every statement, under its own id, marked with the source board; `stored` is B's, the
    // source's kept in the marker.
    for source in &exported {
        let id = source["id"].as_str().unwrap();
        let parameter = if id == a.voided {
            "voidedStatementId"
        } else {
            "statementId"
        };
        let (status, read) = b.get(lrs, &format!("/statements?{parameter}={id}")).await;
        assert_eq!(status, 200, "{id}: {read}");
        assert_eq!(read["id"], source["id"]);
        assert_eq!(read["actor"], source["actor"]);
        assert_eq!(read["verb"]["id"], source["verb"]["id"]);
        assert_eq!(read["timestamp"], source["timestamp"]);
        let marker = &read["context"]["extensions"][MARKER];
        assert_eq!(marker["sourceTenant"], "board-a", "{read}");
        assert_eq!(marker["stored"], source["stored"]);
        assert_eq!(marker["authority"], source["authority"]);
        assert_ne!(read["stored"], source["stored"], "B sets its own stored");
    }
    // The voided statement stays voided, the voiding statement still voids it.
    let (status, _) = b
        .get(lrs, &format!("/statements?statementId={}", a.voided))
        .await;
    assert_eq!(status, 404);
    let (status, voiding) = b
        .get(lrs, &format!("/statements?statementId={}", a.voiding))
        .await;
    assert_eq!(status, 200);
    assert_eq!(voiding["object"]["id"], a.voided.as_str());
    // Documents, under the same agents.
    let response = lrs
        .request_as(Method::GET, "/activities/state", &b.key, &b.secret, "2.0.0")
        .query(&[
            ("activityId", "https://drill.example.jp/u/1".to_owned()),
            ("agent", agent(&Who::learner("s8")).to_string()),
            ("stateId", "bookmark".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let state = response.text().await.unwrap();
    assert_eq!(state, a.state_body);

    // B's export of n8 holds exactly the imported statements, documents and the attachment.
    let b_export = unzip(&export(lrs, "n8", &b.key, &b.secret).await);
    assert_eq!(ids(&statements(&b_export)), ids(&exported));
    let b_manifest = manifest(&b_export);
    assert_eq!(b_manifest["counts"]["state_documents"], 1);
    assert_eq!(b_manifest["counts"]["agent_profile_documents"], 1);
    let sha = sha256_hex(&a.attachment);
    let held: BTreeMap<&str, &Vec<u8>> = b_export.iter().map(|(n, d)| (n.as_str(), d)).collect();
    assert_eq!(held[format!("attachments/{sha}").as_str()], &a.attachment);
    let profile = b_export
        .iter()
        .find(|(n, _)| n.starts_with("documents/agent-profile/0"))
        .unwrap();
    assert_eq!(
        String::from_utf8(profile.1.clone()).unwrap(),
        a.profile_body
    );

    // The learner's views count them: n8's row in B is s8's row in A, metric for metric.
    let october = (at(2026, 9, 30, 15, 0), at(2026, 10, 31, 15, 0));
    let in_a = rows(&Target::of(lrs), "learner", october.0, october.1).await;
    let in_b = rows(&b.target(lrs), "learner", october.0, october.1).await;
    assert!(in_a["\"s8\""]["statements"].as_u64().unwrap() > 0);
    assert_eq!(in_b["\"n8\""], in_a["\"s8\""]);

    // A re-import changes nothing and says so.
    let (status, again) = import(
        lrs,
        &format!("userSourcedId=n8&transferDate={TRANSFER_DATE}"),
        bundle,
        &b.key,
        &b.secret,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["statements"],
        json!({"new": 0, "already_present": a.s8.len()})
    );
    assert_eq!(
        again["state_documents"],
        json!({"new": 0, "already_present": 1})
    );
    assert_eq!(
        again["agent_profile_documents"],
        json!({"new": 0, "already_present": 1})
    );
    assert_eq!(
        again["attachments"],
        json!({"new": 0, "already_present": 1})
    );
    assert_eq!(again["roster_version"], Value::Null, "no roster version");
    let b_again = unzip(&export(lrs, "n8", &b.key, &b.secret).await);
    assert_eq!(statements(&b_again).len(), exported.len(), "no second copy");
    for (before, after) in statements(&b_export)
        .iter()
        .zip(statements(&b_again).iter())
    {
        assert_eq!(before, after, "the same GET answers");
    }
    let in_b_again = rows(&b.target(lrs), "learner", october.0, october.1).await;
    assert_eq!(in_b_again, in_b);
}

/// A bundle an import was reading when the process stopped is deleted when it starts again: a
/// learner's whole history would otherwise stay in the data dir, out of any purge's reach.
#[test]
fn a_spooled_bundle_a_crash_left_is_deleted_when_the_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("import-spool");
    std::fs::create_dir_all(&spool).unwrap();
    let marker = common::disk_bytes::marker();
    std::fs::write(spool.join(".tmpK3x9Qa"), format!("a bundle of {marker}")).unwrap();
    assert_eq!(
        common::disk_bytes::files_holding(dir.path(), &marker).len(),
        1
    );
    let (mut child, _endpoint) = common::spawn_server(dir.path(), &[]);
    let left = common::disk_bytes::files_holding(dir.path(), &marker);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(left, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_learner_keeps_their_statement_ids_is_marked_and_a_reimport_changes_nothing() {
    let lrs = TestLrs::start();
    round_trip(&lrs).await;
}

/// Attribution by date: with the transfer on 2026-11-01, B's class 1-2 (n8's all year in B's
/// roster) counts n8's statements from that day only; the learner's own row counts all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_from_before_the_transfer_is_not_counted_under_the_receiving_class() {
    let lrs = TestLrs::start();
    let a = board_a(&lrs).await;
    let b = BoardB::start(&lrs).await;
    let bundle = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    let (status, summary) = import(
        &lrs,
        &format!("userSourcedId=n8&transferDate={TRANSFER_DATE}"),
        bundle,
        &b.key,
        &b.secret,
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    // n8's own statements in B: one before the transfer day (a tool that synced late), two after.
    let native = vec![
        sent(201, Who::learner("n8"), at(2026, 10, 20, 1, 0)),
        sent(202, Who::learner("n8"), at(2026, 11, 5, 1, 0)),
        sent(203, Who::learner("n8"), at(2026, 11, 10, 1, 0)),
    ];
    b.target(&lrs).post_statements(&native).await;
    lrs.wait_applied().await;

    // Expected, from what was sent: statements with a study fact (not voided, not voiding).
    let counted: Vec<&Sent> =
        a.s8.iter()
            .filter(|s| s.voids.is_none() && s.id != a.voided)
            .chain(native.iter())
            .collect();
    let (since, until) = (at(2026, 9, 30, 15, 0), at(2026, 11, 30, 15, 0));
    let after_transfer = counted.iter().filter(|s| s.at >= transfer_start()).count();
    assert!(after_transfer < counted.len(), "some history before it");
    let by_class = rows(&b.target(&lrs), "class", since, until).await;
    assert_eq!(
        by_class
            .get("\"1-2\"")
            .map_or(0, |row| row["statements"].as_u64().unwrap()),
        after_transfer as u64,
        "{by_class:?}"
    );
    let by_learner = rows(&b.target(&lrs), "learner", since, until).await;
    assert_eq!(
        by_learner["\"n8\""]["statements"].as_u64().unwrap(),
        counted.len() as u64
    );
    // Unattributed days are the board's (no class): the rest.
    assert_eq!(
        by_class
            .get("null")
            .map_or(0, |row| row["statements"].as_u64().unwrap()),
        (counted.len() - after_transfer) as u64,
        "{by_class:?}"
    );
}

/// Every bad bundle is a 400 naming the problem and the file, and leaves B as it was: the log
/// does not grow, no statement, alias or roster version is written (the good import after them
/// makes B's second roster version and finds every statement new).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_bundle_is_refused_whole_naming_the_file_and_nothing_is_imported() {
    let lrs = TestLrs::start();
    let a = board_a(&lrs).await;
    let b = BoardB::start(&lrs).await;
    let bundle = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    let files = unzip(&bundle);
    lrs.wait_applied().await;
    let log_before = log_bytes(&lrs.data_dir());
    let first_statements = files
        .iter()
        .position(|(n, _)| n == "statements/000001.json")
        .unwrap();

    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    cases.push(("not a zip", b"PK not really a zip".to_vec(), "not a zip"));
    let no_manifest: Vec<_> = files
        .iter()
        .filter(|(n, _)| n != "manifest.json")
        .cloned()
        .collect();
    cases.push(("no manifest", zip_of(&no_manifest), "manifest.json"));
    // One statement changed, the manifest left as it was.
    let mut tampered = files.clone();
    let mut page: Vec<Value> = serde_json::from_slice(&tampered[first_statements].1).unwrap();
    page[1]["result"] = json!({"score": {"scaled": 1.0}, "success": true});
    tampered[first_statements].1 = serde_json::to_vec(&page).unwrap();
    cases.push(("hash mismatch", zip_of(&tampered), "statements/000001.json"));
    // Another learner's statement, with the manifest's hash and size made to match.
    let mut foreign = files.clone();
    let mut page: Vec<Value> = serde_json::from_slice(&foreign[first_statements].1).unwrap();
    page[2]["actor"] = agent(&Who::learner("s1"));
    foreign[first_statements].1 = serde_json::to_vec(&page).unwrap();
    let mut m = manifest(&foreign);
    for entry in m["files"].as_array_mut().unwrap() {
        if entry["path"] == "statements/000001.json" {
            entry["sha256"] = json!(sha256_hex(&foreign[first_statements].1));
            entry["bytes"] = json!(foreign[first_statements].1.len());
        }
    }
    set_manifest(&mut foreign, &m);
    cases.push((
        "another learner's statement",
        zip_of(&foreign),
        "statements/000001.json",
    ));
    // A listed file left out; a file not listed added.
    let absent: Vec<_> = files
        .iter()
        .filter(|(n, _)| !n.starts_with("attachments/"))
        .cloned()
        .collect();
    cases.push(("a listed file absent", zip_of(&absent), "attachments/"));
    let mut unlisted = files.clone();
    unlisted.insert(0, ("notes.txt".into(), b"extra".to_vec()));
    cases.push(("a file not listed", zip_of(&unlisted), "notes.txt"));
    // A count that is not what the bundle holds.
    let mut miscounted = files.clone();
    let mut m = manifest(&miscounted);
    m["counts"]["statements"] = json!(a.s8.len() + 1);
    set_manifest(&mut miscounted, &m);
    cases.push(("a wrong count", zip_of(&miscounted), "manifest.json"));

    for (what, body, file) in cases {
        let (status, answer) = import(&lrs, "userSourcedId=n8", body, &b.key, &b.secret).await;
        assert_eq!(status, 400, "{what}: {answer}");
        let text = answer.to_string();
        assert!(text.contains(file), "{what} names {file}: {answer}");
        assert!(text.contains("nothing was imported"), "{what}: {answer}");
    }
    // A learner the receiving roster does not know; callers who are not the board.
    let (status, answer) =
        import(&lrs, "userSourcedId=s8", bundle.clone(), &b.key, &b.secret).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer.to_string().contains("s8"));
    let (reader_key, reader_secret) =
        common::create_credential(&lrs.data_dir(), "board-b", "aggregates");
    let (status, _) = import(
        &lrs,
        "userSourcedId=n8",
        bundle.clone(),
        &reader_key,
        &reader_secret,
    )
    .await;
    assert_eq!(status, 403, "the aggregates scope does not import");
    let (teacher_key, teacher_secret) = common::roster::credential(
        &lrs.data_dir(),
        &["--tenant", "board-b", "--scopes", "all", "--user", "t1"],
    );
    let (status, _) = import(
        &lrs,
        "userSourcedId=n8",
        bundle.clone(),
        &teacher_key,
        &teacher_secret,
    )
    .await;
    assert_eq!(status, 403, "a teacher is not the board");
    let (status, _) = import(
        &lrs,
        "userSourcedId=n8",
        bundle.clone(),
        &lrs.key,
        &lrs.secret,
    )
    .await;
    assert_eq!(status, 404, "board A's roster has no n8");

    lrs.wait_applied().await;
    assert_eq!(
        log_bytes(&lrs.data_dir()),
        log_before,
        "the log is unchanged"
    );
    let (status, page) = b.get(&lrs, "/statements").await;
    assert_eq!(status, 200);
    assert_eq!(page["statements"], json!([]), "no statement in B");
    for id in ids(&statements(&files)) {
        let (status, _) = b
            .get(&lrs, &format!("/statements?voidedStatementId={id}"))
            .await;
        assert_eq!(status, 404);
    }

    let (status, summary) =
        import(&lrs, "userSourcedId=n8", bundle.clone(), &b.key, &b.secret).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["roster_version"], 2, "no version before this one");
    assert_eq!(summary["statements"]["new"], a.s8.len());
    assert!(log_bytes(&lrs.data_dir()) > log_before);
    // Without transferDate the transfer day is the import's (Tokyo) day.
    let today = common::studylog::civil_from_days(common::lti::tokyo_today());
    assert_eq!(summary["transfer_day"], common::studylog::date_text(today));

    // The same child's bundle for another user of B: their identities are n8's now.
    lrs.wait_applied().await;
    let log_before = log_bytes(&lrs.data_dir());
    let (status, answer) = import(&lrs, "userSourcedId=s3", bundle, &b.key, &b.secret).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is user \"n8\"'s in this board"),
        "{answer}"
    );
    assert!(message.contains("nothing was imported"), "{answer}");
    assert_eq!(log_bytes(&lrs.data_dir()), log_before);
}

/// A bundle beyond `learner_import.max_body_bytes` is a 413 (announced or not), nothing
/// imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_beyond_the_import_body_limit_is_a_413() {
    let lrs = TestLrs::start_with_env(&[], &[("LRS__LEARNER_IMPORT__MAX_BODY_BYTES", "4096")]);
    board_a(&lrs).await;
    let b = BoardB::start(&lrs).await;
    let bundle = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    assert!(bundle.len() > 4096);
    let (status, answer) =
        import(&lrs, "userSourcedId=n8", bundle.clone(), &b.key, &b.secret).await;
    assert_eq!(status, 413, "{answer}");
    // Chunked, without a Content-Length: stopped while it arrives.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bundle.chunks(1024).map(|c| Ok(c.to_vec())).collect();
    let response = lrs
        .api_as(
            Method::POST,
            "/learners/import?userSourcedId=n8",
            &b.key,
            &b.secret,
        )
        .header("Content-Type", "application/zip")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let (status, page) = b.get(&lrs, "/statements").await;
    assert_eq!(status, 200);
    assert_eq!(page["statements"], json!([]));
}

/// The round trip on the PostgreSQL store (`LRS_TEST_POSTGRES`, see `ci/postgres.sh`; skipped
/// without it, except under `CI`).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_into_the_postgresql_store_keeps_ids_marks_and_is_idempotent() {
    let Some(connection) = std::env::var("LRS_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "LRS_TEST_POSTGRES must be set under CI"
        );
        eprintln!("skipped: set LRS_TEST_POSTGRES to a PostgreSQL connection string");
        return;
    };
    let uri = common::postgres::fresh_schema(&connection, "import").await;
    let lrs = TestLrs::start_with_env(&[], &[("LRS__STORAGE__URI", uri.as_str())]);
    round_trip(&lrs).await;
}

/// Import throughput against a baseline measured in the same run: the same statements POSTed
/// (`/xapi/statements`, batches of 500) to a fresh tenant. Each round POSTs them to tenant
/// `post-N`, then imports board A's export of them into tenant `import-N` (roster imported
/// first, not timed); both times run until ingest has applied everything (`/ready`). Ignored (it
/// takes a while); `IMPORT_BENCH_STATEMENTS` sets the history's length (default 50,000):
/// `cargo test --release -p lrs --test import -- --ignored --nocapture benchmark`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn benchmark_import_against_the_post_of_the_same_statements() {
    let count: u32 = std::env::var("IMPORT_BENCH_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let lrs = TestLrs::start();
    Target::of(&lrs).import(&roster_v2()).await;
    let learner = Who::learner("s8");
    let bodies: Vec<Value> = (1..=count)
        .map(|n| sent(n, learner.clone(), at(2026, 10, 1, 0, 0) + i64::from(n)).json())
        .collect();
    let batches: Vec<Value> = bodies
        .chunks(500)
        .map(|chunk| Value::Array(chunk.to_vec()))
        .collect();
    let post_all = |key: String, secret: String| {
        let lrs = &lrs;
        let batches = &batches;
        async move {
            let started = std::time::Instant::now();
            for batch in batches {
                let response = lrs
                    .request_as(Method::POST, "/statements", &key, &secret, "2.0.0")
                    .json(batch)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
            lrs.wait_applied().await;
            started.elapsed().as_secs_f64()
        }
    };
    post_all(lrs.key.clone(), lrs.secret.clone()).await;
    let bundle = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    println!(
        "statements: {count}, bundle: {:.1} MB",
        bundle.len() as f64 / 1e6
    );
    let mut rounds = Vec::new();
    for round in 1..=3 {
        let (key, secret) =
            common::create_credential(&lrs.data_dir(), &format!("post-{round}"), "all");
        let post_seconds = post_all(key, secret).await;
        let tenant = format!("import-{round}");
        let (key, secret) = common::create_credential(&lrs.data_dir(), &tenant, "all");
        let b = BoardB { key, secret };
        b.target(&lrs).import(&board_b_roster()).await;
        let started = std::time::Instant::now();
        let (status, summary) =
            import(&lrs, "userSourcedId=n8", bundle.clone(), &b.key, &b.secret).await;
        assert_eq!(status, 200, "{summary}");
        lrs.wait_applied().await;
        let import_seconds = started.elapsed().as_secs_f64();
        assert_eq!(summary["statements"]["new"], count);
        let (post_rate, import_rate) = (
            f64::from(count) / post_seconds,
            f64::from(count) / import_seconds,
        );
        println!(
            "round {round}: POST {post_seconds:.2} s ({post_rate:.0} statements/s), import {import_seconds:.2} s ({import_rate:.0} statements/s), import / POST {:.2}",
            import_rate / post_rate
        );
        rounds.push(import_rate / post_rate);
    }
    rounds.sort_by(f64::total_cmp);
    println!("median import / POST: {:.2}", rounds[1]);
}
