//! A small OneRoster 1.2 CSV roster (Japan Profile columns) for the study-log API tests, zipped
//! in memory, and requests to the `/api/v1` endpoints.
//!
//! Board `b1` with schools `s1` and `s2`; homeroom classes `k1` (s1) and `k2` (s2), 4th grade,
//! 2025年度; learners `l1` and `l3` in k1, `l2` in k2; teachers `t1` (k1) and `t2` (k2).

use std::io::{Cursor, Write};

use serde_json::Value;

use super::TestLrs;

pub const MODIFIED: &str = "2025-03-20T09:00:00.000Z";

/// A roster's files, by name.
pub type Files = Vec<(&'static str, String)>;

/// `manifest.csv` listing each file with its mode (`bulk`, `delta`).
pub fn manifest(modes: &[(&str, &str)]) -> String {
    let mut text =
        String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n");
    for (file, mode) in modes {
        text.push_str(&format!("file.{file},{mode}\n"));
    }
    text
}

/// A CSV file: the header, then each row (`{M}` stands for [`MODIFIED`]).
pub fn csv(header: &str, rows: &[&str]) -> String {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(&row.replace("{M}", MODIFIED));
        text.push('\n');
    }
    text
}

pub const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate";
pub const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,email,grades,userMasterIdentifier,primaryOrgSourcedId,metadata.jp.kanaGivenName";

pub fn users(rows: &[&str]) -> String {
    csv(USERS, rows)
}

pub fn enrollments(rows: &[&str]) -> String {
    csv(ENROLLMENTS, rows)
}

pub fn default_users() -> String {
    users(&[
        "l1,active,{M},true,l1,太郎,青葉,,P4,,s1,タロウ",
        "l2,active,{M},true,l2,花子,青葉,,P4,,s2,ハナコ",
        "l3,active,{M},true,l3,次郎,青葉,,P4,,s1,ジロウ",
        "t1,active,{M},true,t1,一郎,山田,t1@example.jp,,,s1,",
        "t2,active,{M},true,t2,二郎,山田,,,,s2,",
    ])
}

pub fn default_enrollments() -> String {
    enrollments(&[
        "e1,active,{M},k1,s1,l1,student,false,2025-04-01,2026-03-31",
        "e2,active,{M},k2,s2,l2,student,false,2025-04-01,2026-03-31",
        "e3,active,{M},k1,s1,l3,student,false,2025-04-01,2026-03-31",
        "e4,active,{M},k1,s1,t1,teacher,false,2025-04-01,2026-03-31",
        "e5,active,{M},k2,s2,t2,teacher,false,2025-04-01,2026-03-31",
    ])
}

/// The whole roster, every file `bulk`.
pub fn bulk_roster() -> Files {
    bulk_roster_with(default_users(), default_enrollments())
}

/// The whole roster with other users and enrollments files.
pub fn bulk_roster_with(users: String, enrollments: String) -> Files {
    let stems = [
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "users",
        "enrollments",
        "roles",
    ];
    let modes: Vec<(&str, &str)> = stems.iter().map(|s| (*s, "bulk")).collect();
    vec![
        ("manifest.csv", manifest(&modes)),
        (
            "orgs.csv",
            csv(
                "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
                &[
                    "b1,active,{M},青葉市教育委員会,district,131001,",
                    "s1,active,{M},青葉市立第一小学校,school,B113210000010,b1",
                    "s2,active,{M},青葉市立第二小学校,school,B113210000029,b1",
                ],
            ),
        ),
        (
            "academicSessions.csv",
            csv(
                "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
                &["y2025,active,{M},2025年度,schoolYear,2025-04-01,2026-03-31,,2025"],
            ),
        ),
        (
            "courses.csv",
            csv(
                "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId",
                &[
                    "c1,active,{M},y2025,4年 学級活動,,P4,s1",
                    "c2,active,{M},y2025,4年 学級活動,,P4,s2",
                ],
            ),
        ),
        (
            "classes.csv",
            csv(
                "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,metadata.jp.specialNeeds",
                &[
                    "k1,active,{M},4年1組,P4,c1,4-1,homeroom,,s1,y2025,false",
                    "k2,active,{M},4年1組,P4,c2,4-1,homeroom,,s2,y2025,false",
                ],
            ),
        ),
        ("users.csv", users),
        ("enrollments.csv", enrollments),
        (
            "roles.csv",
            csv(
                "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId",
                &[
                    "r1,active,{M},l1,primary,student,,,s1",
                    "r2,active,{M},l2,primary,student,,,s2",
                    "r3,active,{M},l3,primary,student,,,s1",
                    "r4,active,{M},t1,primary,teacher,,,s1",
                    "r5,active,{M},t2,primary,teacher,,,s2",
                ],
            ),
        ),
    ]
}

/// l3 moves from k1 (s1) to k2 (s2) on 2025-10-20: a delta of the enrollments alone.
pub fn transfer_delta() -> Files {
    vec![
        ("manifest.csv", manifest(&[("enrollments", "delta")])),
        (
            "enrollments.csv",
            enrollments(&[
                "e3,tobedeleted,2025-10-20T00:00:00.000+09:00,k1,s1,l3,student,false,2025-04-01,2026-03-31",
                "e6,active,2025-10-20T00:00:00.000+09:00,k2,s2,l3,student,false,2025-10-20,2026-03-31",
            ]),
        ),
    ]
}

/// The files as a zip archive (stored entries, at the root).
pub fn zip(files: &Files) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

impl TestLrs {
    /// The server's root URL (where `/api/v1` lives), e.g. `http://127.0.0.1:41234`.
    pub fn root(&self) -> String {
        self.endpoint
            .strip_suffix("/xapi")
            .expect("the xAPI endpoint ends with /xapi")
            .to_owned()
    }

    /// A request to `/api/v1{path}` with the credential `key`/`secret` (no xAPI version header).
    pub fn api_as(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        secret: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/api/v1{path}", self.root()))
            .basic_auth(key, Some(secret))
    }

    /// POSTs a roster zip with the credential `key`/`secret`.
    pub async fn import_roster_as(
        &self,
        zip: Vec<u8>,
        key: &str,
        secret: &str,
    ) -> (reqwest::StatusCode, Value) {
        super::send_json(
            self.api_as(reqwest::Method::POST, "/roster", key, secret)
                .header("Content-Type", "application/zip")
                .body(zip),
        )
        .await
    }

    /// POSTs a roster zip with the server's own credential (scope `all`).
    pub async fn import_roster(&self, files: &Files) -> (reqwest::StatusCode, Value) {
        let (key, secret) = (self.key.clone(), self.secret.clone());
        self.import_roster_as(zip(files), &key, &secret).await
    }

    /// POSTs an alias CSV with the server's own credential.
    pub async fn upload_aliases(&self, csv: &str) -> (reqwest::StatusCode, Value) {
        let (key, secret) = (self.key.clone(), self.secret.clone());
        super::send_json(
            self.api_as(reqwest::Method::POST, "/roster/aliases", &key, &secret)
                .header("Content-Type", "text/csv; charset=utf-8")
                .body(csv.to_owned()),
        )
        .await
    }

    /// `GET /api/v1{path_and_query}` as JSON with the credential `key`/`secret`.
    pub async fn api_get_as(
        &self,
        path_and_query: &str,
        key: &str,
        secret: &str,
    ) -> (reqwest::StatusCode, Value) {
        super::send_json(self.api_as(reqwest::Method::GET, path_and_query, key, secret)).await
    }
}

/// Creates a credential with `lrs credentials create --data-dir DIR ARGS…`; returns (key,
/// secret).
pub fn credential(data_dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(super::BIN)
        .args(["credentials", "create", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .output()
        .expect("running lrs credentials create");
    assert!(
        out.status.success(),
        "credentials create {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let (key, secret) = line.trim().split_once(' ').expect("KEY SECRET");
    (key.to_owned(), secret.to_owned())
}
