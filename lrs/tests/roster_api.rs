//! `POST /api/v1/roster` and `POST /api/v1/roster/aliases` through the real binary (issue 11
//! §1–§2): imports land whole as numbered versions, bad input is a 400 naming the file, line and
//! column with nothing written, the `roster` scope (or `all`) is needed, and `lrs roster …`
//! uploads files.

mod common;

use std::process::Command;

use common::roster::{
    Files, bulk_roster, bulk_roster_with, credential, csv, default_enrollments, default_users,
    enrollments, manifest, transfer_delta, users, zip,
};
use common::{BIN, TestLrs};
use serde_json::{Value, json};

fn counts(mode: &str, rows: u64, added: u64, removed: u64, unchanged: u64) -> Value {
    json!({"mode": mode, "rows": rows, "added": added, "updated": 0,
           "unchanged": unchanged, "removed": removed, "ignored": 0})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_zip_imports_whole_and_answers_its_version_with_counts_per_file() {
    let lrs = TestLrs::start();
    let (status, version) = lrs.import_roster(&bulk_roster()).await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["number"], 1);
    assert!(
        version["importedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{version}"
    );
    assert_eq!(
        version["summary"],
        json!({
            "orgs": counts("bulk", 3, 3, 0, 0),
            "academicSessions": counts("bulk", 1, 1, 0, 0),
            "courses": counts("bulk", 2, 2, 0, 0),
            "classes": counts("bulk", 2, 2, 0, 0),
            "users": counts("bulk", 5, 5, 0, 0),
            "enrollments": counts("bulk", 5, 5, 0, 0),
            "roles": counts("bulk", 5, 5, 0, 0),
        })
    );
    // The same roster again changes nothing, and is still a version.
    let (status, again) = lrs.import_roster(&bulk_roster()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["number"], 2);
    assert_eq!(again["summary"]["users"], counts("bulk", 5, 0, 0, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_import_makes_the_next_version_counting_only_its_files() {
    let lrs = TestLrs::start();
    assert_eq!(lrs.import_roster(&bulk_roster()).await.0, 200);
    let (status, version) = lrs.import_roster(&transfer_delta()).await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["number"], 2);
    assert_eq!(
        version["summary"],
        json!({"enrollments": counts("delta", 2, 1, 1, 0)})
    );
    // Applied: removing e3 again is a row for a record already removed (ignored).
    let (status, again) = lrs.import_roster(&transfer_delta()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["summary"]["enrollments"]["ignored"], 1, "{again}");
}

/// Each bad import, and the error it must answer: kind, file, line, column.
fn bad_imports() -> Vec<(&'static str, Vec<u8>, Value)> {
    let header_without_role = common::roster::ENROLLMENTS.replace(",role,", ",");
    let mut missing_file: Files = bulk_roster();
    missing_file.retain(|(name, _)| *name != "users.csv");
    let mut nested = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    nested
        .start_file(
            "roster/manifest.csv",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    std::io::Write::write_all(&mut nested, manifest(&[]).as_bytes()).unwrap();
    let nested = nested.finish().unwrap().into_inner();
    vec![
        (
            "a missing required column",
            zip(&bulk_roster_with(
                default_users(),
                csv(
                    &header_without_role,
                    &["e1,active,{M},k1,s1,l1,false,2025-04-01,2026-03-31"],
                ),
            )),
            json!({"kind": "missing_column", "file": "enrollments.csv", "line": 1, "column": "role"}),
        ),
        (
            "a bad date",
            zip(&bulk_roster_with(
                default_users(),
                enrollments(&[
                    "e1,active,{M},k1,s1,l1,student,false,2025-04-01,2026-03-31",
                    "e2,active,{M},k2,s2,l2,student,false,2025/04/01,2026-03-31",
                ]),
            )),
            json!({"kind": "bad_date", "file": "enrollments.csv", "line": 3, "column": "beginDate"}),
        ),
        (
            "a duplicate sourcedId",
            zip(&bulk_roster_with(
                users(&[
                    "l1,active,{M},true,l1,,,,P4,,s1,",
                    "l2,active,{M},true,l2,,,,P4,,s2,",
                    "l1,active,{M},true,l1,,,,P4,,s1,",
                ]),
                default_enrollments(),
            )),
            json!({"kind": "duplicate_sourced_id", "file": "users.csv", "line": 4, "column": "sourcedId"}),
        ),
        (
            "an enrollment of an unknown class",
            zip(&bulk_roster_with(
                default_users(),
                enrollments(&["e1,active,{M},k9,s1,l1,student,false,2025-04-01,2026-03-31"]),
            )),
            json!({"kind": "unknown_reference", "file": "enrollments.csv", "line": 2, "column": "classSourcedId"}),
        ),
        (
            "an enrollment of an unknown user",
            zip(&bulk_roster_with(
                default_users(),
                enrollments(&["e1,active,{M},k1,s1,x9,student,false,2025-04-01,2026-03-31"]),
            )),
            json!({"kind": "unknown_reference", "file": "enrollments.csv", "line": 2, "column": "userSourcedId"}),
        ),
        (
            "a value outside its vocabulary",
            zip(&bulk_roster_with(
                default_users(),
                enrollments(&["e1,active,{M},k1,s1,l1,pupil,false,2025-04-01,2026-03-31"]),
            )),
            json!({"kind": "bad_value", "file": "enrollments.csv", "line": 2, "column": "role"}),
        ),
        (
            "a file the manifest lists but the zip lacks",
            zip(&missing_file),
            json!({"kind": "missing_file", "file": "users.csv"}),
        ),
        (
            "the files under a folder",
            nested,
            json!({"kind": "missing_file", "file": "manifest.csv"}),
        ),
        (
            "a body that is not a zip",
            b"sourcedId,status\n".to_vec(),
            json!({"kind": "not_a_zip", "file": "zip"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_import_is_a_400_naming_the_file_line_and_column_and_writes_nothing() {
    let lrs = TestLrs::start();
    assert_eq!(lrs.import_roster(&bulk_roster()).await.0, 200);
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    for (case, body, expected) in bad_imports() {
        let (status, error) = lrs.import_roster_as(body, &key, &secret).await;
        assert_eq!(status, 400, "{case}: {error}");
        assert_eq!(error["error"], "bad_request", "{case}: {error}");
        for field in ["kind", "file", "line", "column"] {
            assert_eq!(error[field], expected[field], "{case}: {field} of {error}");
        }
        assert!(error["rule"].as_str().is_some(), "{case}: {error}");
        let file = expected["file"].as_str().unwrap();
        assert!(
            error["message"].as_str().unwrap().starts_with(file),
            "{case}: {error}"
        );
    }
    // Nothing was written: the next import is version 2, and the transfer it carries applies to
    // the first import's enrollments.
    let (status, version) = lrs.import_roster(&transfer_delta()).await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["number"], 2);
    assert_eq!(version["summary"]["enrollments"]["removed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_needs_the_zip_content_type_and_a_body_within_the_roster_limit() {
    let lrs = TestLrs::start_with_env(&[], &[("LRS__STUDYLOG__MAX_ROSTER_BYTES", "2000")]);
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    let response = lrs
        .api_as(reqwest::Method::POST, "/roster", &key, &secret)
        .header("Content-Type", "text/csv")
        .body(zip(&bulk_roster()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["path"], "header:Content-Type", "{error}");

    let big = zip(&bulk_roster());
    assert!(big.len() > 2000);
    let response = lrs
        .api_as(reqwest::Method::POST, "/roster", &key, &secret)
        .header("Content-Type", "application/zip")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_upload_as_a_roster_version_and_bad_aliases_name_the_line_and_column() {
    let lrs = TestLrs::start();
    assert_eq!(lrs.import_roster(&bulk_roster()).await.0, 200);
    let (status, upload) = lrs
        .upload_aliases(
            "homePage,name,userSourcedId\nhttps://drill.example.jp,drill-77,l2\nhttps://drill.example.jp,drill-78,l3\n",
        )
        .await;
    assert_eq!(status, 200, "{upload}");
    assert_eq!(upload["number"], 2);
    assert_eq!(upload["summary"], json!({}));
    assert_eq!(upload["aliases"], 2);

    for (csv, line, column, kind) in [
        (
            "homePage,name,userSourcedId\nhttps://drill.example.jp,drill-79,nobody\n",
            json!(2),
            "userSourcedId",
            "unknown_reference",
        ),
        (
            "homePage,name\nhttps://drill.example.jp,drill-79\n",
            json!(1),
            "userSourcedId",
            "missing_column",
        ),
        (
            "homePage,name,userSourcedId\nhttps://drill.example.jp,drill-79,l1\nhttps://drill.example.jp,drill-79,l2\n",
            json!(3),
            "name",
            "duplicate_sourced_id",
        ),
    ] {
        let (status, error) = lrs.upload_aliases(csv).await;
        assert_eq!(status, 400, "{csv}: {error}");
        assert_eq!(error["file"], "aliases.csv", "{error}");
        assert_eq!(error["line"], line, "{error}");
        assert_eq!(error["column"], column, "{error}");
        assert_eq!(error["kind"], kind, "{error}");
    }
    // Nothing written: the next upload is version 3.
    let (status, upload) = lrs
        .upload_aliases("homePage,name,userSourcedId\nhttps://drill.example.jp,drill-80,l1\n")
        .await;
    assert_eq!(status, 200, "{upload}");
    assert_eq!(upload["number"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_needs_the_roster_scope_or_all_and_admin_is_not_enough() {
    let lrs = TestLrs::start();
    let dir = lrs.data_dir();
    for (scopes, expected) in [
        ("statements/write", 403),
        ("aggregates", 403),
        ("admin", 403),
        ("all/read", 403),
        ("roster", 200),
        ("all", 200),
    ] {
        let (key, secret) = credential(&dir, &["--tenant", "board-a", "--scopes", scopes]);
        let (status, body) = lrs
            .import_roster_as(zip(&bulk_roster()), &key, &secret)
            .await;
        assert_eq!(status, expected, "{scopes}: {body}");
        let (status, body) = common::send_json(
            lrs.api_as(reqwest::Method::POST, "/roster/aliases", &key, &secret)
                .header("Content-Type", "text/csv")
                .body("homePage,name,userSourcedId\nhttps://drill.example.jp,d1,l1\n"),
        )
        .await;
        assert_eq!(status, expected, "{scopes} (aliases): {body}");
    }
    let (key, secret) = credential(&dir, &["--all-tenants", "--scopes", "aggregates"]);
    let (status, _) = lrs
        .import_roster_as(zip(&bulk_roster()), &key, &secret)
        .await;
    assert_eq!(status, 403, "a prefecture credential imports nothing");
    let (status, _) = lrs
        .import_roster_as(zip(&bulk_roster()), "nobody", "wrong")
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_uploads_a_roster_and_aliases_and_fails_with_the_error_body() {
    let lrs = TestLrs::start();
    let dir = lrs.data_dir();
    let (key, secret) = credential(&dir, &["--tenant", "board-a", "--scopes", "roster"]);
    let files = tempfile::tempdir().unwrap();
    let roster = files.path().join("roster.zip");
    std::fs::write(&roster, zip(&bulk_roster())).unwrap();
    let root = lrs.root();
    let cli = |command: &str, file: &std::path::Path| {
        let out = Command::new(BIN)
            .args(["roster", command, "--endpoint", &root, "--key", &key])
            .env("LRS_SECRET", &secret)
            .arg(file)
            .output()
            .expect("running lrs roster");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = cli("import", &roster);
    assert!(ok, "{stderr}");
    let version: Value = serde_json::from_str(&stdout).expect("the version as JSON");
    assert_eq!(version["number"], 1);
    assert_eq!(version["summary"]["users"]["added"], 5);

    let aliases = files.path().join("aliases.csv");
    std::fs::write(
        &aliases,
        "homePage,name,userSourcedId\nhttps://drill.example.jp,drill-77,l2\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = cli("aliases", &aliases);
    assert!(ok, "{stderr}");
    let upload: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (upload["number"].as_u64(), upload["aliases"].as_u64()),
        (Some(2), Some(1))
    );

    let bad = files.path().join("bad.zip");
    std::fs::write(
        &bad,
        zip(&bulk_roster_with(
            default_users(),
            enrollments(&["e1,active,{M},k9,s1,l1,student,false,2025-04-01,2026-03-31"]),
        )),
    )
    .unwrap();
    let (ok, stdout, stderr) = cli("import", &bad);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("400"), "{stderr}");
    assert!(stderr.contains("\"column\":\"classSourcedId\""), "{stderr}");
    let (ok, _, stderr) = cli("import", &files.path().join("absent.zip"));
    assert!(!ok);
    assert!(stderr.contains("absent.zip"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_imports_of_one_tenant_land_as_distinct_versions_or_a_409() {
    let lrs = TestLrs::start();
    assert_eq!(lrs.import_roster(&bulk_roster()).await.0, 200);
    let roster = bulk_roster();
    let answers = futures::future::join_all((0..6).map(|_| lrs.import_roster(&roster))).await;
    let mut numbers = Vec::new();
    for (status, body) in answers {
        match status.as_u16() {
            200 => numbers.push(body["number"].as_u64().unwrap()),
            409 => assert_eq!(body["error"], "conflict", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    numbers.sort();
    let expected: Vec<u64> = (2..2 + numbers.len() as u64).collect();
    assert_eq!(
        numbers, expected,
        "every import that landed made the next version"
    );
    // The roster is whole: one more import is the next version again.
    let (status, body) = lrs.import_roster(&transfer_delta()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["number"], 2 + expected.len() as u64);
}
