//! A learner's export (issue 14 §1), against the real `lrs` binary: `GET
//! /api/v1/learners/{userSourcedId}/export` and the learner's own `/dashboard/me/export`.
//!
//! The scenario: learner s8 writes statements under three identities (their e-portal account,
//! the tool account the alias table maps to them, and their roster email as `mbox`), voids one,
//! sends one with an attachment, and has State and Agent Profile documents; learner s1 has data
//! of their own, which must not appear. The test unzips the answer and checks it against what
//! it sent and what the statement GET answers, and every SHA-256 of the manifest against the
//! bytes it holds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use common::TestLrs;
use common::attachments::{attachment_for, request_body, sha256_hex};
use common::disk_bytes::{files_holding, marker};
use common::roster::credential;
use common::studylog::{EPORTAL, TOOL_HOME, Target, Who, at, roster_v2, sent};
use reqwest::Method;
use serde_json::{Value, json};

const S8_MAIL: &str = "mailto:s8@example.jp";
/// Text only s1's data holds.
const OTHER_MARKER: &str = "OTHER-LEARNER-3c9d";

/// What the scenario wrote for s8, to check the export against.
struct Written {
    /// Every statement id of s8 (voided, voiding and the attachment's included).
    s8_ids: BTreeSet<String>,
    s1_ids: BTreeSet<String>,
    voided: String,
    voiding: String,
    attachment: Vec<u8>,
    other_attachment: Vec<u8>,
    /// (activityId, registration, stateId) → body of s8's State documents.
    states: BTreeMap<(String, Option<String>, String), String>,
    /// profileId → body of s8's Agent Profile documents.
    profiles: BTreeMap<String, String>,
}

fn agent(who: &Who) -> Value {
    match who {
        Who::Account { home_page, name } => {
            json!({"objectType": "Agent", "account": {"homePage": home_page, "name": name}})
        }
        Who::Mbox(mbox) => json!({"objectType": "Agent", "mbox": mbox}),
    }
}

async fn put_document(lrs: &TestLrs, path: &str, params: &[(&str, String)], body: &str) {
    let response = lrs
        .request(Method::PUT, path)
        .query(params)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

async fn post_with_attachment(lrs: &TestLrs, statement: Value, data: &[u8]) {
    let response = lrs
        .send_multipart(
            Method::POST,
            "/statements",
            request_body(&json!([statement]), &[(data, "text/plain")]),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The roster (s8 with an email), then s8's and s1's statements and documents.
async fn scenario(lrs: &TestLrs) -> Written {
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
    let mut s8 = Vec::new();
    for n in 1..=12 {
        s8.push(sent(n, eportal.clone(), when + i64::from(n)));
    }
    for n in 13..=16 {
        s8.push(sent(n, alias.clone(), when + i64::from(n)));
    }
    for n in 17..=19 {
        s8.push(sent(n, mbox.clone(), when + i64::from(n)));
    }
    let voided = s8[0].id.clone();
    let mut voiding = sent(20, eportal.clone(), when + 20);
    voiding.voids = Some(voided.clone());
    let s1: Vec<_> = (101..=106)
        .map(|n| sent(n, Who::learner("s1"), when + i64::from(n)))
        .collect();
    Target::of(lrs).post_statements(&s8).await;
    Target::of(lrs).post_statements(&s1).await;
    Target::of(lrs)
        .post_statements(std::slice::from_ref(&voiding))
        .await;

    let attachment = "s8 の作文".as_bytes().to_vec();
    let other_attachment = format!("{OTHER_MARKER} s1 の作文").into_bytes();
    let mut with_attachment = sent(21, eportal.clone(), when + 21).json();
    with_attachment["attachments"] = json!([attachment_for(&attachment, "text/plain")]);
    post_with_attachment(lrs, with_attachment, &attachment).await;
    let mut other = sent(107, Who::learner("s1"), when + 107).json();
    other["attachments"] = json!([attachment_for(&other_attachment, "text/plain")]);
    post_with_attachment(lrs, other, &other_attachment).await;

    // Two of s8's identities in one statement (actor and object): exported once.
    let mut both = sent(22, eportal.clone(), when + 22).json();
    both["object"] = agent(&mbox);
    // xAPI Data §2.4.6: `platform` only with an Activity object.
    both["context"].as_object_mut().unwrap().remove("platform");
    let response = lrs.post_statements(&json!([both])).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let registration = "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b";
    let mut states = BTreeMap::new();
    for (who, activity, registration, state_id) in [
        (&eportal, "https://drill.example.jp/u/1", None, "bookmark"),
        (
            &eportal,
            "https://drill.example.jp/u/2",
            Some(registration),
            "progress",
        ),
        (&mbox, "https://ebook.example.jp/b/9", None, "page"),
    ] {
        let body = json!({"state": state_id, "activity": activity}).to_string();
        let mut params = vec![
            ("activityId", activity.to_owned()),
            ("agent", agent(who).to_string()),
            ("stateId", state_id.to_owned()),
        ];
        if let Some(r) = registration {
            params.push(("registration", r.to_owned()));
        }
        put_document(lrs, "/activities/state", &params, &body).await;
        states.insert(
            (
                activity.to_owned(),
                registration.map(str::to_owned),
                state_id.to_owned(),
            ),
            body,
        );
    }
    let mut profiles = BTreeMap::new();
    let body = json!({"font": "large"}).to_string();
    put_document(
        lrs,
        "/agents/profile",
        &[
            ("agent", agent(&alias).to_string()),
            ("profileId", "preferences".to_owned()),
        ],
        &body,
    )
    .await;
    profiles.insert("preferences".to_owned(), body);
    // s1's documents, on the same activity.
    let s1_agent = agent(&Who::learner("s1")).to_string();
    put_document(
        lrs,
        "/activities/state",
        &[
            ("activityId", "https://drill.example.jp/u/1".to_owned()),
            ("agent", s1_agent.clone()),
            ("stateId", "bookmark".to_owned()),
        ],
        &json!({"note": OTHER_MARKER}).to_string(),
    )
    .await;
    put_document(
        lrs,
        "/agents/profile",
        &[("agent", s1_agent), ("profileId", "preferences".to_owned())],
        &json!({"note": OTHER_MARKER}).to_string(),
    )
    .await;
    lrs.wait_applied().await;

    let mut s8_ids: BTreeSet<String> = s8.iter().map(|s| s.id.clone()).collect();
    s8_ids.insert(voiding.id.clone());
    s8_ids.insert(sent(21, eportal.clone(), 0).id);
    s8_ids.insert(sent(22, eportal, 0).id);
    let mut s1_ids: BTreeSet<String> = s1.iter().map(|s| s.id.clone()).collect();
    s1_ids.insert(sent(107, Who::learner("s1"), 0).id);
    Written {
        s8_ids,
        s1_ids,
        voided,
        voiding: voiding.id,
        attachment,
        other_attachment,
        states,
        profiles,
    }
}

/// An export's files, in zip order.
struct Unzipped {
    names: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
    manifest: Value,
}

fn unzip(bytes: &[u8]) -> Unzipped {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut names = Vec::new();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        let name = file.name().expect("a UTF-8 name").to_string();
        names.push(name.clone());
        files.insert(name, data);
    }
    let manifest = serde_json::from_slice(&files["manifest.json"]).expect("manifest.json");
    Unzipped {
        names,
        files,
        manifest,
    }
}

impl Unzipped {
    fn statements(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for (name, data) in &self.files {
            if name.starts_with("statements/") {
                let page: Vec<Value> = serde_json::from_slice(data).expect("a JSON array");
                out.extend(page);
            }
        }
        out
    }

    fn ids(&self) -> BTreeSet<String> {
        self.statements()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The export's GET; asserts a streamed (chunked) zip and returns its bytes.
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
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(
        response
            .headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked"),
        "the zip is streamed, not sent with a length"
    );
    assert!(response.content_length().is_none());
    response.bytes().await.unwrap().to_vec()
}

async fn status_of(lrs: &TestLrs, path: &str, key: &str, secret: &str) -> u16 {
    lrs.api_as(Method::GET, path, key, secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Checks the whole export of s8 against what was written.
async fn check_export(lrs: &TestLrs, written: &Written, zip: &Unzipped) {
    // manifest.json is the last file; every other file is listed with its hash and size.
    assert_eq!(zip.names.last().map(String::as_str), Some("manifest.json"));
    let manifest = &zip.manifest;
    let listed: BTreeMap<String, (String, u64)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                (
                    f["sha256"].as_str().unwrap().to_owned(),
                    f["bytes"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let held: BTreeSet<&String> = zip.files.keys().filter(|n| *n != "manifest.json").collect();
    assert_eq!(listed.keys().collect::<BTreeSet<_>>(), held);
    for (path, (sha256, bytes)) in &listed {
        let data = &zip.files[path];
        assert_eq!(&sha256_hex(data), sha256, "{path}");
        assert_eq!(*bytes, data.len() as u64, "{path}");
    }
    assert_eq!(manifest["format"], "lrs-learner-export");
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["source_tenant"], "board-a");
    assert_eq!(manifest["user_sourced_id"], "s8");
    let identities: BTreeSet<(String, String)> = manifest["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["identifier"].as_str().unwrap().to_owned(),
                i["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        identities,
        BTreeSet::from([
            (format!("account::{EPORTAL}::s8"), "sourcedId".to_owned()),
            (format!("account::{TOOL_HOME}::tool-s8"), "alias".to_owned()),
            (format!("mbox::{S8_MAIL}"), "mbox".to_owned()),
        ])
    );

    // Every statement of s8, none of s1, each as the statement GET answers it.
    let statements = zip.statements();
    assert_eq!(zip.ids(), written.s8_ids);
    assert_eq!(statements.len(), written.s8_ids.len(), "each once");
    assert!(zip.ids().is_disjoint(&written.s1_ids));
    let mut stored = Vec::new();
    for statement in &statements {
        let id = statement["id"].as_str().unwrap();
        let parameter = if id == written.voided {
            "voidedStatementId"
        } else {
            "statementId"
        };
        let (status, read) = lrs.get_json(&format!("/statements?{parameter}={id}")).await;
        assert_eq!(status, 200, "{id}: {read}");
        assert_eq!(statement["stored"], read["stored"], "{id}");
        assert_eq!(statement["authority"], read["authority"], "{id}");
        assert_eq!(statement["actor"], read["actor"], "{id}");
        stored.push(read["stored"].as_str().unwrap().to_owned());
    }
    let mut in_order = stored.clone();
    in_order.sort();
    assert_eq!(stored, in_order, "statements come in stored order");
    let counts = &manifest["counts"];
    assert_eq!(counts["statements"], written.s8_ids.len());
    assert_eq!(counts["voided_statements"], 1);
    assert_eq!(counts["voiding_statements"], 1);
    assert_eq!(counts["attachments"], 1);
    assert_eq!(counts["state_documents"], written.states.len());
    assert_eq!(counts["agent_profile_documents"], written.profiles.len());
    assert_eq!(manifest["time_range"]["first_stored"], json!(stored[0]));
    assert_eq!(
        manifest["time_range"]["last_stored"],
        json!(stored.last().unwrap())
    );
    assert!(zip.ids().contains(&written.voiding));

    // The attachment, under its hash; not s1's.
    let sha = sha256_hex(&written.attachment);
    assert_eq!(zip.files[&format!("attachments/{sha}")], written.attachment);
    let other = sha256_hex(&written.other_attachment);
    assert!(!zip.files.contains_key(&format!("attachments/{other}")));

    // The documents, with what re-creates them.
    let index: Vec<Value> =
        serde_json::from_slice(&zip.files["documents/state/index.json"]).unwrap();
    let states: BTreeMap<(String, Option<String>, String), String> = index
        .iter()
        .map(|d| {
            let body = &zip.files[d["file"].as_str().unwrap()];
            assert_eq!(d["contentType"], "application/json");
            assert!(d["etag"].as_str().is_some_and(|e| e.len() == 40));
            (
                (
                    d["activityId"].as_str().unwrap().to_owned(),
                    d["registration"].as_str().map(str::to_owned),
                    d["stateId"].as_str().unwrap().to_owned(),
                ),
                String::from_utf8(body.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(states, written.states);
    let index: Vec<Value> =
        serde_json::from_slice(&zip.files["documents/agent-profile/index.json"]).unwrap();
    let profiles: BTreeMap<String, String> = index
        .iter()
        .map(|d| {
            assert_eq!(
                d["agent"]["account"]["name"], "tool-s8",
                "the alias's profile"
            );
            let body = &zip.files[d["file"].as_str().unwrap()];
            (
                d["profileId"].as_str().unwrap().to_owned(),
                String::from_utf8(body.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(profiles, written.profiles);

    // Nothing of s1 anywhere in the zip.
    for (name, data) in &zip.files {
        assert!(
            !String::from_utf8_lossy(data).contains(OTHER_MARKER),
            "{name} holds s1's data"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_export_holds_every_identitys_statements_documents_and_attachments_and_nothing_else()
 {
    let lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let bytes = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    check_export(&lrs, &written, &unzip(&bytes)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_board_and_the_learner_themself_may_export_and_an_unknown_learner_is_404() {
    let lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let dir = lrs.data_dir();
    let bound = |user: &str| {
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
    let (own_key, own_secret) = bound("s8");
    let own = unzip(&export(&lrs, "s8", &own_key, &own_secret).await);
    assert_eq!(own.ids(), written.s8_ids, "the learner's own export");

    let path = "/learners/s8/export";
    let (teacher_key, teacher_secret) = bound("t1");
    assert_eq!(
        status_of(&lrs, path, &teacher_key, &teacher_secret).await,
        403,
        "a teacher is not the board"
    );
    let (other_key, other_secret) = bound("s1");
    assert_eq!(
        status_of(&lrs, path, &other_key, &other_secret).await,
        403,
        "another learner"
    );
    let (prefecture_key, prefecture_secret) =
        credential(&dir, &["--all-tenants", "--scopes", "aggregates"]);
    assert_eq!(
        status_of(&lrs, path, &prefecture_key, &prefecture_secret).await,
        403
    );
    let (writer_key, writer_secret) = credential(
        &dir,
        &["--tenant", "board-a", "--scopes", "statements/write"],
    );
    assert_eq!(
        status_of(&lrs, path, &writer_key, &writer_secret).await,
        403
    );
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    assert_eq!(
        status_of(&lrs, "/learners/nobody/export", &key, &secret).await,
        404
    );
    // A learner the roster knows, with nothing stored: an export with nothing in it.
    let empty = unzip(&export(&lrs, "s3", &key, &secret).await);
    assert_eq!(empty.manifest["counts"]["statements"], 0);
    assert_eq!(empty.manifest["identities"], json!([]));
    assert_eq!(empty.names, ["manifest.json"]);
    assert_eq!(
        status_of(&lrs, "/learners/nobody/export", &other_key, &other_secret).await,
        403,
        "a refused caller does not learn who exists"
    );
    let response = lrs
        .api_as(
            Method::GET,
            "/learners/s8/export?since=yesterday",
            &key,
            &secret,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("since"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_until_bound_the_statements_by_stored() {
    let lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    let all = unzip(&export(&lrs, "s8", &key, &secret).await).statements();
    // Cut between two stored values: the statements before, and those from it on.
    let stored: Vec<String> = all
        .iter()
        .map(|s| s["stored"].as_str().unwrap().to_owned())
        .collect();
    let cut = stored
        .iter()
        .find(|s| **s > stored[0])
        .expect("more than one request's stored")
        .clone();
    let before: BTreeSet<String> = all
        .iter()
        .filter(|s| s["stored"].as_str().unwrap() < cut.as_str())
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let encoded = cut.replace('+', "%2B");
    let first = export_query(&lrs, &format!("until={encoded}")).await;
    assert_eq!(first.ids(), before);
    assert_eq!(first.manifest["time_range"]["until"], json!(cut));
    let rest = export_query(&lrs, &format!("since={encoded}")).await;
    let mut both = first.ids();
    both.extend(rest.ids());
    assert_eq!(both, written.s8_ids);
    assert!(first.ids().is_disjoint(&rest.ids()));
}

async fn export_query(lrs: &TestLrs, query: &str) -> Unzipped {
    let response = lrs
        .api_as(
            Method::GET,
            &format!("/learners/s8/export?{query}"),
            &lrs.key,
            &lrs.secret,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    unzip(&response.bytes().await.unwrap())
}

/// Logs in at `/dashboard/login` with a credential; returns the session cookie.
async fn staff_session(lrs: &TestLrs, key: &str, secret: &str) -> String {
    common::staff_login(lrs.endpoint.trim_end_matches("/xapi"), key, secret).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learner_downloads_their_export_from_the_dashboard() {
    let lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let dir = lrs.data_dir();
    let (key, secret) = credential(
        &dir,
        &[
            "--tenant",
            "board-a",
            "--scopes",
            "aggregates",
            "--user",
            "s8",
        ],
    );
    let session = staff_session(&lrs, &key, &secret).await;
    let root = lrs.endpoint.trim_end_matches("/xapi").to_owned();
    // The learner view links to the download for its period.
    let page = lrs
        .client
        .get(format!("{root}/dashboard/me"))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = page
        .split("id=\"download\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the download link")
        .replace("&amp;", "&");
    assert!(href.starts_with("/dashboard/me/export?"), "{href}");
    let response = lrs
        .client
        .get(format!("{root}{href}"))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip = unzip(&response.bytes().await.unwrap());
    assert_eq!(
        zip.ids(),
        written.s8_ids,
        "today is inside the default period"
    );
    assert_eq!(zip.manifest["user_sourced_id"], "s8");

    // A board session has no learner of its own.
    let board = staff_session(&lrs, &lrs.key, &lrs.secret).await;
    let response = lrs
        .client
        .get(format!("{root}{href}"))
        .header("Cookie", &board)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

/// The same export from the PostgreSQL store (`LRS_TEST_POSTGRES`, see `ci/postgres.sh`;
/// skipped without it, except under `CI`).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_export_from_the_postgresql_store_holds_the_same() {
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
    let uri = common::postgres::fresh_schema(&connection, "export").await;
    let lrs = TestLrs::start_with_env(&[], &[("LRS__STORAGE__URI", uri.as_str())]);
    let written = scenario(&lrs).await;
    let bytes = export(&lrs, "s8", &lrs.key, &lrs.secret).await;
    check_export(&lrs, &written, &unzip(&bytes)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_of_several_pages_under_three_identities_comes_whole_in_stored_order() {
    let lrs = TestLrs::start();
    let mut roster = roster_v2();
    for user in &mut roster.users {
        if user.id == "s8" {
            user.email = Some("s8@example.jp".into());
        }
    }
    Target::of(&lrs).import(&roster).await;
    let identities = [
        Who::learner("s8"),
        Who::Account {
            home_page: TOOL_HOME.into(),
            name: "tool-s8".into(),
        },
        Who::Mbox(S8_MAIL.into()),
    ];
    // More than two scan pages (500) and two statement files (1,000), the identities
    // interleaved request by request, so the merge crosses page ends of every scan.
    let total = 1_234u32;
    let mut sent_ids = BTreeSet::new();
    for start in (1..=total).step_by(17) {
        let batch: Vec<Value> = (start..(start + 17).min(total + 1))
            .map(|n| {
                let who = identities[(n as usize / 17) % 3].clone();
                sent(n, who, at(2026, 10, 1, 0, 0) + i64::from(n)).json()
            })
            .collect();
        for statement in &batch {
            sent_ids.insert(statement["id"].as_str().unwrap().to_owned());
        }
        let response = lrs.post_statements(&Value::Array(batch)).await;
        assert_eq!(response.status(), 200);
    }
    lrs.wait_applied().await;
    let zip = unzip(&export(&lrs, "s8", &lrs.key, &lrs.secret).await);
    let statements = zip.statements();
    assert_eq!(statements.len(), total as usize);
    assert_eq!(zip.ids(), sent_ids);
    let stored: Vec<&str> = statements
        .iter()
        .map(|s| s["stored"].as_str().unwrap())
        .collect();
    assert!(stored.windows(2).all(|w| w[0] <= w[1]), "stored order");
    let files: Vec<&String> = zip
        .names
        .iter()
        .filter(|n| n.starts_with("statements/"))
        .collect();
    assert_eq!(files, ["statements/000001.json", "statements/000002.json"]);
    assert_eq!(zip.manifest["counts"]["statement_files"], 2);
}

/// Export MB/s against a baseline measured in the same run: the same learner's statements read
/// with the statement GET (`/xapi/statements?agent=…`, pages of 500, following `more`). Ignored
/// (it takes a while); `EXPORT_BENCH_STATEMENTS` sets the history's length (default 20,000),
/// `EXPORT_BENCH_POSTGRES=1` runs it on the PostgreSQL store of `LRS_TEST_POSTGRES`:
/// `cargo test -p lrs --test export -- --ignored --nocapture benchmark`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn benchmark_export_against_the_statement_get_of_the_same_statements() {
    let count: u32 = std::env::var("EXPORT_BENCH_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // `EXPORT_BENCH_POSTGRES=1` (with `LRS_TEST_POSTGRES`): the PostgreSQL store.
    let mut env = Vec::new();
    if std::env::var_os("EXPORT_BENCH_POSTGRES").is_some() {
        let connection = std::env::var("LRS_TEST_POSTGRES").expect("LRS_TEST_POSTGRES");
        let uri = common::postgres::fresh_schema(&connection, "export_bench").await;
        env.push(("LRS__STORAGE__URI", uri));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrs = TestLrs::start_with_env(&[], &env);
    Target::of(&lrs).import(&roster_v2()).await;
    let learner = Who::learner("s8");
    let statements: Vec<_> = (1..=count)
        .map(|n| sent(n, learner.clone(), at(2026, 10, 1, 0, 0) + i64::from(n)))
        .collect();
    for chunk in statements.chunks(500) {
        let body = Value::Array(chunk.iter().map(|s| s.json()).collect());
        let response = lrs.post_statements(&body).await;
        assert_eq!(response.status(), 200);
    }
    lrs.wait_applied().await;
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());

    // Baseline and export alternately, three times each (GET, export, GET, …), so neither gets
    // a warmer cache than the other; the machine may be shared, so the median ratio is what counts.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (get_bytes, get_seconds) = statement_get(&lrs, &learner, count).await;
        let pid = lrs.child.id();
        let rss_before = rss_kib(pid);
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            tokio::spawn(async move {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(rss_kib(pid));
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                peak
            })
        };
        let started = std::time::Instant::now();
        let zip_bytes = export(&lrs, "s8", &key, &secret).await;
        let export_seconds = started.elapsed().as_secs_f64();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let rss_peak = sampler.await.unwrap();
        let zip = unzip(&zip_bytes);
        assert_eq!(zip.manifest["counts"]["statements"], count);
        let json_bytes: usize = zip
            .files
            .iter()
            .filter(|(name, _)| name.starts_with("statements/"))
            .map(|(_, data)| data.len())
            .sum();
        let mb = |bytes: usize, seconds: f64| bytes as f64 / 1e6 / seconds;
        println!(
            "statements: {count}\n\
             baseline statement GET: {get_seconds:.2} s, {:.1} MB JSON, {:.2} MB/s, {:.0} statements/s\n\
             export: {export_seconds:.2} s, {:.1} MB statement JSON ({:.1} MB zip), {:.2} MB/s of JSON ({:.2} MB/s of zip), {:.0} statements/s\n\
             server RSS: {rss_before} KiB before the export, peak {rss_peak} KiB during it",
            get_bytes as f64 / 1e6,
            mb(get_bytes, get_seconds),
            count as f64 / get_seconds,
            json_bytes as f64 / 1e6,
            zip_bytes.len() as f64 / 1e6,
            mb(json_bytes, export_seconds),
            mb(zip_bytes.len(), export_seconds),
            count as f64 / export_seconds,
        );
        rounds.push(mb(json_bytes, export_seconds) / mb(get_bytes, get_seconds));
    }
    println!("export / GET (MB/s of statement JSON), per round: {rounds:.2?}");
    rounds.sort_by(f64::total_cmp);
    println!("median: {:.2}", rounds[rounds.len() / 2]);
}

/// The resident set of a process, KiB (0 when unreadable).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Reads every statement of `learner` with the statement GET (pages of 500); (bytes, seconds).
/// Only the client's work the export's client does too is timed: the bodies are kept as bytes
/// (the `more` link found by a byte search) and parsed for the count after the clock stops.
async fn statement_get(lrs: &TestLrs, learner: &Who, count: u32) -> (usize, f64) {
    const MORE: &[u8] = b"\"more\":\"";
    let started = std::time::Instant::now();
    let mut bodies = Vec::new();
    let base_path = reqwest::Url::parse(&lrs.endpoint)
        .unwrap()
        .path()
        .to_owned();
    let mut next = Some(format!(
        "/statements?limit=500&ascending=true&agent={}",
        url_encode(&agent(learner).to_string())
    ));
    while let Some(path) = next {
        let response = lrs.request(Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.unwrap();
        next = body
            .windows(MORE.len())
            .rposition(|w| w == MORE)
            .map(|at| &body[at + MORE.len()..])
            .and_then(|rest| rest.split(|b| *b == b'"').next())
            .filter(|more| !more.is_empty())
            .map(|more| {
                std::str::from_utf8(more)
                    .unwrap()
                    .strip_prefix(&base_path)
                    .unwrap()
                    .to_owned()
            });
        bodies.push(body);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut read = 0;
    for body in &bodies {
        let page: Value = serde_json::from_slice(body).unwrap();
        read += page["statements"].as_array().unwrap().len();
    }
    assert_eq!(read, count as usize);
    (bodies.iter().map(|b| b.len()).sum(), seconds)
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_learners_marker_is_in_no_file_and_every_other_learners_data_stays() {
    let mut lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let (mine, theirs) = (marker(), marker());
    // Statements of two of s8's identities and a State document carry s8's marker; one of s1's
    // carries s1's.
    let when = at(2026, 10, 15, 2, 0);
    let marked: Vec<Value> = (0..6u32)
        .map(|n| {
            let who = if n % 2 == 0 {
                Who::learner("s8")
            } else {
                Who::Mbox(S8_MAIL.into())
            };
            let mut s = sent(300 + n, who, when + i64::from(n)).json();
            s["result"] = json!({"response": format!("answer {mine}")});
            s
        })
        .collect();
    let mut other = sent(400, Who::learner("s1"), when).json();
    other["result"] = json!({"response": format!("answer {theirs}")});
    for body in [json!(marked), json!([other])] {
        let response = lrs.post_statements(&body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    put_document(
        &lrs,
        "/activities/state",
        &[
            ("activityId", "https://drill.example.jp/u/3".to_owned()),
            ("agent", agent(&Who::learner("s8")).to_string()),
            ("stateId", "notes".to_owned()),
        ],
        &json!({"note": mine}).to_string(),
    )
    .await;
    lrs.wait_applied().await;
    let dir = lrs.data_dir();
    for needle in [&mine, &theirs] {
        assert!(
            !files_holding(&dir, needle).is_empty(),
            "the marker is on disk before the purge (else this test proves nothing)"
        );
    }

    let (admin_key, admin_secret) = common::create_credential(&dir, "board-a", "admin");
    let delete = |learner: &str, key: &str, secret: &str| {
        lrs.api_as(Method::DELETE, &format!("/learners/{learner}"), key, secret)
            .send()
    };
    assert_eq!(
        delete("nobody", &admin_key, &admin_secret)
            .await
            .unwrap()
            .status(),
        404
    );
    let (reader_key, reader_secret) = common::create_credential(&dir, "board-a", "aggregates");
    assert_eq!(
        delete("s8", &reader_key, &reader_secret)
            .await
            .unwrap()
            .status(),
        403,
        "a credential without the admin scope may not purge"
    );
    let response = delete("s8", &admin_key, &admin_secret).await.unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = lrs
        .purge_completed(&location, &admin_key, &admin_secret)
        .await;
    assert_eq!(
        job["counts"]["statements"],
        written.s8_ids.len() + marked.len(),
        "{job}"
    );
    assert_eq!(
        job["counts"]["documents"],
        written.states.len() + written.profiles.len() + 1,
        "{job}"
    );
    assert!(!job.to_string().contains("s8"), "no personal data: {job}");

    assert_eq!(files_holding(&dir, &mine), Vec::<String>::new(), "running");
    assert!(!files_holding(&dir, &theirs).is_empty());
    // Their export is empty now; s1's is whole.
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    let s8 = unzip(&export(&lrs, "s8", &key, &secret).await);
    assert_eq!(s8.manifest["counts"]["statements"], 0, "{}", s8.manifest);
    assert_eq!(
        s8.manifest["counts"]["state_documents"], 0,
        "{}",
        s8.manifest
    );
    assert_eq!(
        s8.manifest["counts"]["agent_profile_documents"], 0,
        "{}",
        s8.manifest
    );
    let s1 = unzip(&export(&lrs, "s1", &key, &secret).await);
    assert_eq!(
        s1.manifest["counts"]["statements"],
        written.s1_ids.len() + 1,
        "{}",
        s1.manifest
    );
    // The roster still lists them: the roster belongs to the school-affairs system.
    assert_eq!(
        status_of(&lrs, "/learners/s8/export", &key, &secret).await,
        200
    );

    lrs.terminate();
    assert_eq!(files_holding(&dir, &mine), Vec::<String>::new(), "stopped");
    assert!(!files_holding(&dir, &theirs).is_empty());
}

/// sha1 hex of `text` (an `mbox_sha1sum`).
fn sha1_hex(text: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The learner purge enumerates after ingest has caught up: statements acknowledged a moment
/// before the DELETE, under an identity of the learner the LRS had never seen before (so not
/// yet in the study log's dictionary when the request came), are purged too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_posted_just_before_the_learners_purge_are_purged_too() {
    let lrs = TestLrs::start();
    let written = scenario(&lrs).await;
    let late = marker();
    let (admin_key, admin_secret) = common::create_credential(&lrs.data_dir(), "board-a", "admin");
    // s8's roster email as mbox_sha1sum: an identity no statement used yet.
    let hashed = json!({"objectType": "Agent", "mbox_sha1sum": sha1_hex(S8_MAIL)});
    let when = at(2026, 10, 16, 2, 0);
    let mut posted = 0;
    for request in 0..3u32 {
        let batch: Vec<Value> = (0..400u32)
            .map(|n| {
                let n = 1_000 + request * 400 + n;
                let mut s = sent(n, Who::learner("s8"), when + i64::from(n)).json();
                s["actor"] = hashed.clone();
                s["result"] = json!({"response": format!("late {late}")});
                s
            })
            .collect();
        posted += batch.len();
        let response = lrs.post_statements(&json!(batch)).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    // At once: no wait for ingest.
    let response = lrs
        .api_as(Method::DELETE, "/learners/s8", &admin_key, &admin_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    // For the record: records still not applied after the answer were not when it was asked
    // (the case this test is about; 1,200 statements just posted make it likely, not certain).
    let ready = lrs.endpoint.replace("/xapi", "/ready");
    let lag: Value = lrs
        .client
        .get(&ready)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    eprintln!(
        "ingest lag right after the purge was asked: {} records",
        lag["ingest_lag_records"]
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["scope"], "learner", "{accepted}");
    assert!(
        !accepted.to_string().contains("s8"),
        "no personal data, even while it runs: {accepted}"
    );
    let job = lrs
        .purge_completed(&location, &admin_key, &admin_secret)
        .await;
    assert_eq!(
        job["counts"]["statements"],
        written.s8_ids.len() + posted,
        "{job}"
    );
    // e-portal account, tool alias, mbox, mbox_sha1sum.
    assert_eq!(job["identity_count"], 4, "{job}");
    assert!(!job.to_string().contains("s8"), "no personal data: {job}");
    assert!(!job.to_string().contains("mbox"), "no identifiers: {job}");
    assert_eq!(files_holding(&lrs.data_dir(), &late), Vec::<String>::new());
    let (status, page) = common::send_json(
        lrs.request(Method::GET, "/statements")
            .query(&[("agent", hashed.to_string())]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["statements"], json!([]), "{page}");
    let s1 = unzip(&export(&lrs, "s1", &lrs.key, &lrs.secret).await);
    assert_eq!(
        s1.manifest["counts"]["statements"],
        written.s1_ids.len(),
        "{}",
        s1.manifest
    );
}

/// Beyond the statements' content, the learner's identifiers leave the disk too: their email
/// address, and their `mbox` as statements, documents' keys and the study log's dictionary spell
/// it (`mailto:…`), in the store, its journal and the log. Only the roster record keeps the
/// SHA-1 of the address (by design: the roster belongs to the school-affairs system, and keeps
/// the hash, never the address), so that is checked to stay; the `mbox_sha1sum` statements are
/// counted among the purged ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_learners_email_is_in_no_file_and_only_the_roster_keeps_its_hash() {
    let mut lrs = TestLrs::start();
    let local = marker();
    let mbox = format!("mailto:{local}@example.jp");
    let hashed = sha1_hex(&mbox);
    let mut roster = roster_v2();
    for user in &mut roster.users {
        if user.id == "s8" {
            user.email = Some(format!("{local}@example.jp"));
        }
    }
    Target::of(&lrs).import(&roster).await;
    let when = at(2026, 10, 14, 2, 0);
    let statements: Vec<Value> = (0..9u32)
        .map(|n| {
            let mut s = sent(500 + n, Who::learner("s8"), when + i64::from(n)).json();
            match n % 3 {
                0 => s["actor"] = json!({"objectType": "Agent", "mbox": mbox}),
                1 => s["actor"] = json!({"objectType": "Agent", "mbox_sha1sum": hashed}),
                _ => {}
            }
            s
        })
        .collect();
    let response = lrs.post_statements(&json!(statements)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let others: Vec<Value> = (0..3u32)
        .map(|n| sent(600 + n, Who::learner("s1"), when + i64::from(n)).json())
        .collect();
    let response = lrs.post_statements(&json!(others)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    put_document(
        &lrs,
        "/agents/profile",
        &[
            ("agent", json!({"mbox": mbox}).to_string()),
            ("profileId", "preferences".to_owned()),
        ],
        &json!({"font": "large"}).to_string(),
    )
    .await;
    lrs.wait_applied().await;
    let dir = lrs.data_dir();
    for needle in [&mbox, &hashed, &local] {
        assert!(
            !files_holding(&dir, needle).is_empty(),
            "{needle} is on disk before the purge (else this test proves nothing)"
        );
    }

    let (admin_key, admin_secret) = common::create_credential(&dir, "board-a", "admin");
    let response = lrs
        .api_as(Method::DELETE, "/learners/s8", &admin_key, &admin_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = lrs
        .purge_completed(&location, &admin_key, &admin_secret)
        .await;
    assert_eq!(job["counts"]["statements"], statements.len(), "{job}");
    assert_eq!(job["counts"]["documents"], 1, "{job}");
    assert_eq!(job["identity_count"], 3, "{job}");
    assert!(
        job["counts"]["other_rows"].as_u64().unwrap() >= 3,
        "the identities' dictionary entries: {job}"
    );
    assert!(!job.to_string().contains(&local), "{job}");

    for (state, running) in [("running", true), ("stopped", false)] {
        if !running {
            lrs.terminate();
        }
        // As statements, documents and the dictionary spell it, and the address itself: gone.
        for needle in [&mbox, &local] {
            assert_eq!(
                files_holding(&dir, needle),
                Vec::<String>::new(),
                "{needle} ({state})"
            );
        }
        assert!(
            !files_holding(&dir, &hashed).is_empty(),
            "the roster record keeps the SHA-1 of the address ({state})"
        );
    }
}
