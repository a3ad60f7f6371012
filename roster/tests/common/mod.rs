//! A small roster in the Japan Profile's columns, zips of it, and shorthands.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use lrs_roster::{
    Calendar, Day, ImportPlan, ParseOptions, Reattributed, RosterError, RosterState, UtcTime,
    parse_zip,
};

pub const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId";
pub const ACADEMIC_SESSIONS: &str =
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear";
pub const COURSES: &str = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes";
pub const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods,metadata.jp.specialNeeds";
pub const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns,metadata.jp.kanaGivenName,metadata.jp.kanaFamilyName,metadata.jp.kanaMiddleName,metadata.jp.homeClass";
pub const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate,metadata.jp.ShussekiNo,metadata.jp.PublicFlg";
pub const ROLES: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId";

pub const MODIFIED: &str = "2025-03-20T09:00:00.000Z";

/// The files of an import, by name.
pub type Files = BTreeMap<String, String>;

/// A CSV file with every value quoted; each row names its values by column, the others blank.
pub fn csv(header: &str, rows: &[&[(&str, &str)]]) -> String {
    let columns: Vec<&str> = header.split(',').collect();
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let mut text = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for row in rows {
        for (name, _) in row.iter() {
            assert!(columns.contains(name), "no column {name} in {header}");
        }
        let values: Vec<String> = columns
            .iter()
            .map(|c| quote(row.iter().find(|(n, _)| n == c).map_or("", |(_, v)| v)))
            .collect();
        text.push_str(&values.join(","));
        text.push('\n');
    }
    text
}

/// A manifest listing each file with its mode (`bulk`, `delta`, `absent`).
pub fn manifest(modes: &[(&str, &str)]) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("manifest.version".into(), "1.0".into()),
        ("oneroster.version".into(), "1.2".into()),
    ];
    rows.extend(
        modes
            .iter()
            .map(|(f, m)| (format!("file.{f}"), m.to_string())),
    );
    let mut text = String::from("\"propertyName\",\"value\"\n");
    for (p, v) in rows {
        text.push_str(&format!("\"{p}\",\"{v}\"\n"));
    }
    text
}

/// Every file as `mode`, from the files present.
pub fn with_manifest(mut files: Files, mode: &str) -> Files {
    let stems: Vec<String> = files
        .keys()
        .filter(|name| *name != "manifest.csv")
        .map(|name| name.trim_end_matches(".csv").to_owned())
        .collect();
    let modes: Vec<(&str, &str)> = stems.iter().map(|s| (s.as_str(), mode)).collect();
    files.insert("manifest.csv".into(), manifest(&modes));
    files
}

pub fn zip(files: &Files) -> Vec<u8> {
    zip_with(files, zip::CompressionMethod::Stored)
}

pub fn zip_with(files: &Files, method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, text) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

pub fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

pub fn at(text: &str) -> UtcTime {
    UtcTime::parse(text).unwrap()
}

/// Parses and plans `files` (zipped) on `state`, imported at `imported_at`.
pub fn plan(
    state: &RosterState,
    files: &Files,
    imported_at: &str,
) -> Result<ImportPlan, RosterError> {
    let import = parse_zip(&zip(files), &ParseOptions::default())?;
    state.plan(import, at(imported_at), &Calendar::default())
}

/// Plans and applies, panicking on an error.
pub fn apply(state: &mut RosterState, files: &Files, imported_at: &str) -> Vec<Reattributed> {
    let plan = plan(state, files, imported_at).unwrap_or_else(|e| panic!("{e}"));
    state.apply(&plan).unwrap()
}

/// The classes (sourcedIds) `user` counts in on `day`.
pub fn classes_on(state: &RosterState, user: &str, on: &str) -> Vec<String> {
    let key = state.user_key(user).unwrap();
    state
        .attribute(key, day(on))
        .classes()
        .iter()
        .map(|&c| state.class_sourced_id(c).to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A user's re-attributed days as `(sourcedId, [start, end))` strings.
pub fn reattributed(state: &RosterState, changes: &[Reattributed]) -> Vec<(String, Vec<String>)> {
    changes
        .iter()
        .map(|r| {
            (
                state.user_sourced_id(r.user).to_owned(),
                r.days.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect()
}

pub fn orgs() -> String {
    csv(
        ORGS,
        &[
            &[
                ("sourcedId", "b1"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("name", "青葉市教育委員会"),
                ("type", "district"),
                ("identifier", "131001"),
            ],
            &[
                ("sourcedId", "s1"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("name", "青葉市立第一小学校"),
                ("type", "school"),
                ("identifier", "B113210000010"),
                ("parentSourcedId", "b1"),
            ],
            &[
                ("sourcedId", "s2"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("name", "青葉市立第二小学校"),
                ("type", "school"),
                ("identifier", "B113210000029"),
                ("parentSourcedId", "b1"),
            ],
        ],
    )
}

pub fn sessions() -> String {
    csv(
        ACADEMIC_SESSIONS,
        &[
            &[
                ("sourcedId", "y2025"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "2025年度"),
                ("type", "schoolYear"),
                ("startDate", "2025-04-01"),
                ("endDate", "2026-03-31"),
                ("schoolYear", "2025"),
            ],
            &[
                ("sourcedId", "y2026"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "2026年度"),
                ("type", "schoolYear"),
                ("startDate", "2026-04-01"),
                ("endDate", "2027-03-31"),
                ("schoolYear", "2026"),
            ],
        ],
    )
}

pub fn courses() -> String {
    csv(
        COURSES,
        &[
            &[
                ("sourcedId", "c1"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("schoolYearSourcedId", "y2025"),
                ("title", "4年 学級活動"),
                ("grades", "P4"),
                ("orgSourcedId", "s1"),
            ],
            &[
                ("sourcedId", "c2"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("schoolYearSourcedId", "y2025"),
                ("title", "4年 学級活動"),
                ("grades", "P4"),
                ("orgSourcedId", "s2"),
            ],
            &[
                ("sourcedId", "c5"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("schoolYearSourcedId", "y2026"),
                ("title", "5年 学級活動"),
                ("grades", "P5"),
                ("orgSourcedId", "s1"),
            ],
        ],
    )
}

/// k1 (s1, homeroom P4), k2 (s2, homeroom P4), m1 (s1, scheduled 算数), k5 (s1, homeroom P5,
/// 2026年度).
pub fn classes() -> String {
    csv(
        CLASSES,
        &[
            &[
                ("sourcedId", "k1"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "4年1組"),
                ("grades", "P4"),
                ("courseSourcedId", "c1"),
                ("classCode", "4-1"),
                ("classType", "homeroom"),
                ("schoolSourcedId", "s1"),
                ("termSourcedIds", "y2025"),
            ],
            &[
                ("sourcedId", "k2"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "4年1組"),
                ("grades", "P4"),
                ("courseSourcedId", "c2"),
                ("classCode", "4-1"),
                ("classType", "homeroom"),
                ("schoolSourcedId", "s2"),
                ("termSourcedIds", "y2025"),
            ],
            &[
                ("sourcedId", "m1"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "4年 算数"),
                ("grades", "P4"),
                ("courseSourcedId", "c1"),
                ("classType", "scheduled"),
                ("schoolSourcedId", "s1"),
                ("termSourcedIds", "y2025"),
            ],
            &[
                ("sourcedId", "k5"),
                ("status", "active"),
                ("dateLastModified", MODIFIED),
                ("title", "5年1組"),
                ("grades", "P5"),
                ("courseSourcedId", "c5"),
                ("classCode", "5-1"),
                ("classType", "homeroom"),
                ("schoolSourcedId", "s1"),
                ("termSourcedIds", "y2026"),
            ],
        ],
    )
}

pub fn users() -> String {
    let user = |id: &'static str,
                grades: &'static str,
                email: &'static str|
     -> Vec<(&'static str, &'static str)> {
        vec![
            ("sourcedId", id),
            ("status", "active"),
            ("dateLastModified", MODIFIED),
            ("enabledUser", "true"),
            ("username", id),
            ("givenName", "太郎"),
            ("familyName", "青葉"),
            ("email", email),
            ("grades", grades),
            ("primaryOrgSourcedId", "s1"),
            ("metadata.jp.kanaGivenName", "タロウ"),
        ]
    };
    let mut l1 = user("l1", "P4", "Taro.Aoba@Example.JP");
    l1.push((
        "userMasterIdentifier",
        "0b7c8d2e-1f3a-4b5c-8d9e-0f1a2b3c4d5e",
    ));
    let l2 = user("l2", "P4", "");
    let t1 = user("t1", "", "t1@example.jp");
    let p1 = user("p1", "", "");
    let d1 = user("d1", "", "");
    csv(USERS, &[&l1, &l2, &t1, &p1, &d1])
}

pub fn enrollment<'a>(
    id: &'a str,
    user: &'a str,
    class: &'a str,
    school: &'a str,
    role: &'a str,
    begin: &'a str,
    end: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("sourcedId", id),
        ("status", "active"),
        ("dateLastModified", MODIFIED),
        ("classSourcedId", class),
        ("schoolSourcedId", school),
        ("userSourcedId", user),
        ("role", role),
        ("primary", "false"),
        ("beginDate", begin),
        ("endDate", end),
    ]
}

/// l1 in k1 and m1, l2 in k2, t1 teaching k1, all for 2025年度.
pub fn enrollments() -> String {
    csv(
        ENROLLMENTS,
        &[
            &enrollment(
                "e1",
                "l1",
                "k1",
                "s1",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment(
                "e2",
                "l2",
                "k2",
                "s2",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment(
                "e3",
                "t1",
                "k1",
                "s1",
                "teacher",
                "2025-04-01",
                "2026-03-31",
            ),
            &enrollment(
                "e4",
                "l1",
                "m1",
                "s1",
                "student",
                "2025-04-01",
                "2026-03-31",
            ),
        ],
    )
}

pub fn role<'a>(
    id: &'a str,
    user: &'a str,
    role: &'a str,
    org: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("sourcedId", id),
        ("status", "active"),
        ("dateLastModified", MODIFIED),
        ("userSourcedId", user),
        ("roleType", "primary"),
        ("role", role),
        ("orgSourcedId", org),
    ]
}

pub fn roles() -> String {
    csv(
        ROLES,
        &[
            &role("r1", "l1", "student", "s1"),
            &role("r2", "l2", "student", "s2"),
            &role("r3", "t1", "teacher", "s1"),
            &role("r4", "p1", "principal", "s1"),
            &role("r5", "d1", "districtAdministrator", "b1"),
        ],
    )
}

/// The whole 2025年度 roster, every file bulk.
pub fn roster() -> Files {
    let files: Files = [
        ("orgs.csv", orgs()),
        ("academicSessions.csv", sessions()),
        ("courses.csv", courses()),
        ("classes.csv", classes()),
        ("users.csv", users()),
        ("enrollments.csv", enrollments()),
        ("roles.csv", roles()),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_owned(), t))
    .collect();
    with_manifest(files, "bulk")
}

/// A roster state holding [`roster`], imported on 2025-03-25.
pub fn imported() -> RosterState {
    let mut state = RosterState::new();
    apply(&mut state, &roster(), "2025-03-25T10:00:00Z");
    state
}

/// Files with only `files` replaced, in `mode`, the others absent.
pub fn only(files: &[(&str, String)], mode: &str) -> Files {
    let files: Files = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    with_manifest(files, mode)
}
