//! Bulk and delta imports: what each writes, removes and ignores, versions, and all-or-nothing.

mod common;

use common::*;
use lrs_roster::{
    Calendar, FileMode, ParseOptions, RecordChange, RecordKind, RosterErrorKind, RosterRecord,
    RosterState, parse_zip,
};

fn counts(plan: &lrs_roster::ImportPlan, kind: RecordKind) -> (u64, u64, u64, u64, u64) {
    let file = plan.version().summary.file(kind).unwrap();
    (
        file.added,
        file.updated,
        file.unchanged,
        file.removed,
        file.ignored,
    )
}

#[test]
fn a_first_bulk_import_adds_every_row_and_answers_counts_per_file() {
    let state = RosterState::new();
    let plan = plan(&state, &roster(), "2025-03-25T10:00:00Z").unwrap();
    assert_eq!(plan.version().number, 1);
    assert_eq!(plan.base_version(), 0);
    assert_eq!(plan.changes().len(), 3 + 2 + 3 + 4 + 5 + 4 + 5);
    let json = serde_json::to_value(plan.version()).unwrap();
    assert_eq!(json["number"], 1);
    assert_eq!(json["importedAt"], "2025-03-25T10:00:00.000000Z");
    assert_eq!(
        json["summary"]["enrollments"],
        serde_json::json!({"mode": "bulk", "rows": 4, "added": 4, "updated": 0,
            "unchanged": 0, "removed": 0, "ignored": 0})
    );
    assert_eq!(json["summary"]["users"]["added"], 5);
    // Changes come referenced kinds first, so a store can write them in order.
    let kinds: Vec<RecordKind> = plan.changes().iter().map(RecordChange::kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
}

#[test]
fn reimporting_the_same_bulk_roster_changes_nothing_but_makes_a_version() {
    let mut state = imported();
    let plan = plan(&state, &roster(), "2025-03-26T10:00:00Z").unwrap();
    assert!(plan.changes().is_empty(), "{:?}", plan.changes());
    assert_eq!(counts(&plan, RecordKind::Enrollment), (0, 0, 4, 0, 0));
    assert!(state.apply(&plan).unwrap().is_empty());
    assert_eq!(state.version(), 2);
    assert_eq!(state.versions().len(), 2);
}

#[test]
fn a_bulk_file_removes_what_it_leaves_out_as_of_the_import_day() {
    let mut state = imported();
    // l2's enrollment is left out of a bulk enrollments file imported on 2025-06-10 (JST).
    let files = only(
        &[(
            "enrollments.csv",
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
            ),
        )],
        "bulk",
    );
    let plan = plan(&state, &files, "2025-06-09T16:00:00Z").unwrap();
    assert_eq!(counts(&plan, RecordKind::Enrollment), (0, 0, 3, 1, 0));
    let RecordChange::Remove {
        kind,
        sourced_id,
        removal,
    } = &plan.changes()[0]
    else {
        panic!("{:?}", plan.changes());
    };
    assert_eq!((*kind, sourced_id.as_str()), (RecordKind::Enrollment, "e2"));
    assert_eq!(
        removal.on,
        day("2025-06-10"),
        "16:00Z is the next day in Tokyo"
    );
    let changed = state.apply(&plan).unwrap();
    assert_eq!(
        reattributed(&state, &changed),
        vec![("l2".into(), vec!["[2025-06-10, 2026-04-01)".into()])]
    );
    assert_eq!(classes_on(&state, "l2", "2025-06-09"), ["k2"]);
    assert!(classes_on(&state, "l2", "2025-06-10").is_empty());
    // Other kinds were absent from the manifest: untouched.
    assert_eq!(state.count(RecordKind::User), 5);
    assert_eq!(state.count(RecordKind::Enrollment), 3);
}

#[test]
fn a_delta_updates_removes_and_ignores_by_status_and_date_last_modified() {
    let mut state = imported();
    let newer = "2025-07-01T00:00:00.000Z";
    let older = "2025-01-01T00:00:00.000Z";
    let mut updated = enrollment(
        "e1",
        "l1",
        "k1",
        "s1",
        "student",
        "2025-04-01",
        "2025-07-20",
    );
    updated[2] = ("dateLastModified", newer);
    let mut stale = enrollment(
        "e2",
        "l2",
        "k1",
        "s1",
        "student",
        "2025-04-01",
        "2026-03-31",
    );
    stale[2] = ("dateLastModified", older);
    let mut deleted = enrollment("e4", "l1", "m1", "s1", "student", "", "");
    deleted[1] = ("status", "tobedeleted");
    deleted[2] = ("dateLastModified", "2025-07-10T03:00:00.000Z");
    let mut unknown = enrollment("e8", "l1", "m1", "s1", "student", "", "");
    unknown[1] = ("status", "tobedeleted");
    unknown[2] = ("dateLastModified", newer);
    let mut added = enrollment("e9", "l2", "m1", "s1", "student", "2025-09-01", "");
    added[2] = ("dateLastModified", newer);
    let files = only(
        &[(
            "enrollments.csv",
            csv(ENROLLMENTS, &[&updated, &stale, &deleted, &unknown, &added]),
        )],
        "delta",
    );
    let plan = plan(&state, &files, "2025-07-15T01:00:00Z").unwrap();
    assert_eq!(
        plan.version().summary.enrollments.unwrap().mode,
        FileMode::Delta
    );
    // added, updated, unchanged, removed, ignored
    assert_eq!(counts(&plan, RecordKind::Enrollment), (1, 1, 0, 1, 2));
    state.apply(&plan).unwrap();
    assert_eq!(classes_on(&state, "l1", "2025-07-09"), ["k1", "m1"]);
    assert_eq!(
        classes_on(&state, "l1", "2025-07-10"),
        ["k1"],
        "removed on its day"
    );
    assert_eq!(
        classes_on(&state, "l1", "2025-07-20"),
        ["k1"],
        "endDate is inclusive"
    );
    assert!(classes_on(&state, "l1", "2025-07-21").is_empty());
    assert_eq!(
        classes_on(&state, "l2", "2025-10-01"),
        ["k2", "m1"],
        "stale row ignored"
    );
    assert_eq!(state.count(RecordKind::Enrollment), 4);
}

#[test]
fn a_removed_record_comes_back_only_with_a_newer_row() {
    let mut state = imported();
    let mut deleted = enrollment("e4", "l1", "m1", "s1", "student", "", "");
    deleted[1] = ("status", "tobedeleted");
    deleted[2] = ("dateLastModified", "2025-07-10T03:00:00.000Z");
    apply(
        &mut state,
        &only(
            &[("enrollments.csv", csv(ENROLLMENTS, &[&deleted]))],
            "delta",
        ),
        "2025-07-11T00:00:00Z",
    );
    // Sent again with the date of before the removal: ignored.
    let mut resent = enrollment(
        "e4",
        "l1",
        "m1",
        "s1",
        "student",
        "2025-04-01",
        "2026-03-31",
    );
    resent[2] = ("dateLastModified", "2025-06-01T00:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&resent]))],
        "delta",
    );
    let stale = plan(&state, &files, "2025-07-12T00:00:00Z").unwrap();
    assert_eq!(counts(&stale, RecordKind::Enrollment), (0, 0, 0, 0, 1));
    // With a later date: back, and the removal is forgotten.
    resent[2] = ("dateLastModified", "2025-07-20T00:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&resent]))],
        "delta",
    );
    let back = plan(&state, &files, "2025-07-21T00:00:00Z").unwrap();
    assert_eq!(counts(&back, RecordKind::Enrollment), (1, 0, 0, 0, 0));
    state.apply(&back).unwrap();
    assert_eq!(classes_on(&state, "l1", "2025-08-01"), ["k1", "m1"]);
}

#[test]
fn a_refused_import_changes_nothing() {
    let mut state = imported();
    let before = state.version();
    let mut files = roster();
    files.insert(
        "enrollments.csv".into(),
        csv(
            ENROLLMENTS,
            &[
                &enrollment(
                    "e1",
                    "l1",
                    "k2",
                    "s2",
                    "student",
                    "2025-04-01",
                    "2026-03-31",
                ),
                &enrollment(
                    "e2",
                    "l2",
                    "k9",
                    "s2",
                    "student",
                    "2025-04-01",
                    "2026-03-31",
                ),
            ],
        ),
    );
    let error = plan(&state, &files, "2025-06-01T00:00:00Z").unwrap_err();
    assert_eq!(error.kind(), RosterErrorKind::UnknownReference);
    assert_eq!(state.version(), before);
    assert_eq!(classes_on(&state, "l1", "2025-06-01"), ["k1", "m1"]);
    // And a plan made on an older version is refused by apply.
    let first = plan(&state, &roster(), "2025-06-01T00:00:00Z").unwrap();
    let second = plan(&state, &roster(), "2025-06-02T00:00:00Z").unwrap();
    state.apply(&first).unwrap();
    let error = state.apply(&second).unwrap_err();
    assert_eq!(error.kind(), RosterErrorKind::StalePlan);
    assert_eq!(state.version(), before + 1);
}

#[test]
fn names_are_kept_only_when_asked_and_emails_never() {
    let zipped = zip(&roster());
    let user = |options: &ParseOptions| {
        let import = parse_zip(&zipped, options).unwrap();
        let plan = RosterState::new()
            .plan(import, at("2025-03-25T10:00:00Z"), &Calendar::default())
            .unwrap();
        plan.changes()
            .iter()
            .find_map(|change| match change {
                RecordChange::Upsert {
                    record: RosterRecord::User(user),
                } if user.sourced_id.as_str() == "l1" => Some(user.clone()),
                _ => None,
            })
            .unwrap()
    };
    let without = user(&ParseOptions::default());
    assert_eq!(without.names, None);
    let json = serde_json::to_string(&without).unwrap();
    assert!(!json.contains('@') && !json.contains("太郎"), "{json}");
    assert!(without.mbox_sha1.is_some());
    let with = user(&ParseOptions {
        keep_person_names: true,
        ..ParseOptions::default()
    });
    let names = with.names.unwrap();
    assert_eq!(names.given_name.as_deref(), Some("太郎"));
    assert_eq!(names.kana_given_name.as_deref(), Some("タロウ"));
}

#[test]
fn removing_a_class_or_a_user_ends_their_enrollments_on_that_day() {
    let mut state = imported();
    let mut class = classes().lines().nth(3).unwrap().to_owned(); // m1
    class = class.replacen("\"active\"", "\"tobedeleted\"", 1);
    class = class.replacen(MODIFIED, "2025-09-01T00:00:00.000Z", 1);
    let files = only(&[("classes.csv", format!("{CLASSES}\n{class}\n"))], "delta");
    let changed = apply(&mut state, &files, "2025-09-02T00:00:00Z");
    assert_eq!(
        reattributed(&state, &changed),
        vec![("l1".into(), vec!["[2025-09-01, 2026-04-01)".into()])]
    );
    assert_eq!(classes_on(&state, "l1", "2025-09-01"), ["k1"]);

    let users: String = users()
        .lines()
        .filter(|line| !line.starts_with("\"l2\""))
        .map(|line| format!("{line}\n"))
        .collect();
    // m1 is gone, so its enrollment e4 must leave the bulk file too.
    let enrollments: String = enrollments()
        .lines()
        .filter(|line| !line.starts_with("\"e2\"") && !line.starts_with("\"e4\""))
        .map(|line| format!("{line}\n"))
        .collect();
    let files = only(
        &[("users.csv", users), ("enrollments.csv", enrollments)],
        "bulk",
    );
    let changed = apply(&mut state, &files, "2025-10-01T00:00:00Z");
    assert_eq!(
        reattributed(&state, &changed),
        vec![("l2".into(), vec!["[2025-10-01, 2026-04-01)".into()])]
    );
    let l2 = state.user_key("l2").unwrap();
    assert_eq!(state.user_removed_on(l2), Some(day("2025-10-01")));
}
