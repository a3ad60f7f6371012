//! Attribution by day: transfers reported late, the late April roster, the JST day boundary,
//! dates taken from terms, and the grade.

mod common;

use common::*;
use lrs_roster::{Calendar, RosterState};

fn grade_on(state: &RosterState, user: &str, on: &str) -> Option<String> {
    let key = state.user_key(user).unwrap();
    state.attribute(key, day(on)).grade().map(|g| g.to_string())
}

fn schools_on(state: &RosterState, user: &str, on: &str) -> Vec<String> {
    let key = state.user_key(user).unwrap();
    state
        .attribute(key, day(on))
        .schools()
        .iter()
        .map(|&s| state.org_sourced_id(s).to_owned())
        .collect()
}

#[test]
fn a_statement_late_in_the_utc_evening_counts_on_the_next_tokyo_day() {
    let mut state = RosterState::new();
    let mut files = roster();
    files.insert(
        "enrollments.csv".into(),
        csv(
            ENROLLMENTS,
            // No endDate: the class's term (2026年度) ends it.
            &[&enrollment(
                "e1",
                "l1",
                "k5",
                "s1",
                "student",
                "2026-10-06",
                "",
            )],
        ),
    );
    apply(&mut state, &files, "2026-10-01T00:00:00Z");
    let timestamp = at("2026-10-05T23:30:00Z").micros();
    let on = Calendar::default().day_of(timestamp);
    assert_eq!(on, day("2026-10-06"));
    let l1 = state.user_key("l1").unwrap();
    assert!(state.attribute(l1, on).is_enrolled());
    let utc = Calendar::new("UTC").unwrap().day_of(timestamp);
    assert!(!state.attribute(l1, utc).is_enrolled());
}

#[test]
fn a_transfer_reported_after_the_fact_moves_only_the_days_since_the_transfer() {
    let mut state = imported();
    assert_eq!(classes_on(&state, "l2", "2025-10-20"), ["k2"]);
    // On 2025-10-27 the school-affairs system reports that l2 moved from s2 (k2) to s1 (k1)
    // on 2025-10-15: the old enrollment gets an endDate, a new one begins.
    let mut ended = enrollment(
        "e2",
        "l2",
        "k2",
        "s2",
        "student",
        "2025-04-01",
        "2025-10-14",
    );
    ended[2] = ("dateLastModified", "2025-10-27T01:00:00.000Z");
    let mut begun = enrollment(
        "e7",
        "l2",
        "k1",
        "s1",
        "student",
        "2025-10-15",
        "2026-03-31",
    );
    begun[2] = ("dateLastModified", "2025-10-27T01:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&ended, &begun]))],
        "delta",
    );
    let changed = apply(&mut state, &files, "2025-10-27T02:00:00Z");
    assert_eq!(
        reattributed(&state, &changed),
        vec![("l2".into(), vec!["[2025-10-15, 2026-04-01)".into()])]
    );
    assert_eq!(classes_on(&state, "l2", "2025-10-14"), ["k2"]);
    assert_eq!(schools_on(&state, "l2", "2025-10-14"), ["s2"]);
    assert_eq!(classes_on(&state, "l2", "2025-10-15"), ["k1"]);
    assert_eq!(schools_on(&state, "l2", "2025-10-15"), ["s1"]);
    // Nobody else moved.
    assert_eq!(classes_on(&state, "l1", "2025-10-20"), ["k1", "m1"]);
}

#[test]
fn a_transfer_reported_as_a_removal_ends_the_old_class_on_the_removal_day() {
    let mut state = imported();
    let mut removed = enrollment("e2", "l2", "k2", "s2", "student", "", "");
    removed[1] = ("status", "tobedeleted");
    // Removed at 2025-10-15 09:00 JST.
    removed[2] = ("dateLastModified", "2025-10-15T00:00:00.000Z");
    let mut begun = enrollment(
        "e7",
        "l2",
        "k1",
        "s1",
        "student",
        "2025-10-15",
        "2026-03-31",
    );
    begun[2] = ("dateLastModified", "2025-10-15T00:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&removed, &begun]))],
        "delta",
    );
    let changed = apply(&mut state, &files, "2025-10-20T00:00:00Z");
    assert_eq!(
        reattributed(&state, &changed),
        vec![("l2".into(), vec!["[2025-10-15, 2026-04-01)".into()])]
    );
    assert_eq!(classes_on(&state, "l2", "2025-10-14"), ["k2"]);
    assert_eq!(classes_on(&state, "l2", "2025-10-15"), ["k1"]);
}

#[test]
fn the_late_april_roster_attributes_the_weeks_before_it_arrived() {
    let mut state = imported();
    // Statements from 2026-04-06 on arrive before the new year's roster: l1 counts nowhere.
    assert!(classes_on(&state, "l1", "2026-04-06").is_empty());
    assert_eq!(grade_on(&state, "l1", "2026-04-06").as_deref(), Some("P4"));
    // The 2026年度 roster is imported on 2026-04-20: l1 is in k5 (P5) since 04-01, and the
    // 2025年度 enrollments, left out, are removed as of 04-20 but had already ended on 03-31.
    let mut files = roster();
    files.insert(
        "enrollments.csv".into(),
        csv(
            ENROLLMENTS,
            &[&enrollment(
                "e51",
                "l1",
                "k5",
                "s1",
                "student",
                "2026-04-01",
                "2027-03-31",
            )],
        ),
    );
    files.insert("users.csv".into(), users().replace("\"P4\"", "\"P5\""));
    let changed = apply(&mut state, &files, "2026-04-20T01:00:00Z");
    // The new year is attributed from April 1. The users' grades moved from P4 to P5, so the
    // days on which no homeroom gives a grade (before 2025年度, and from 2026-04-01 for l2)
    // changed too.
    let since_april = vec![
        "[0001-01-01, 2025-04-01)".to_owned(),
        "[2026-04-01, 9999-12-31)".to_owned(),
    ];
    assert_eq!(
        reattributed(&state, &changed),
        vec![
            ("l1".into(), since_april.clone()),
            ("l2".into(), since_april)
        ]
    );
    assert_eq!(classes_on(&state, "l1", "2026-04-06"), ["k5"]);
    assert_eq!(grade_on(&state, "l1", "2026-04-06").as_deref(), Some("P5"));
    // The past did not move: 2025年度 is still k1, P4.
    assert_eq!(classes_on(&state, "l1", "2025-10-01"), ["k1", "m1"]);
    assert_eq!(grade_on(&state, "l1", "2025-10-01").as_deref(), Some("P4"));
}

#[test]
fn missing_dates_come_from_the_class_terms() {
    let mut state = RosterState::new();
    let mut files = roster();
    files.insert(
        "enrollments.csv".into(),
        csv(
            ENROLLMENTS,
            &[
                &enrollment("e1", "l1", "k1", "s1", "student", "", ""),
                &enrollment("e2", "l2", "k2", "s2", "student", "2025-06-01", ""),
            ],
        ),
    );
    apply(&mut state, &files, "2025-03-25T10:00:00Z");
    // k1's term is 2025年度: 2025-04-01 to 2026-03-31.
    assert!(classes_on(&state, "l1", "2025-03-31").is_empty());
    assert_eq!(classes_on(&state, "l1", "2025-04-01"), ["k1"]);
    assert_eq!(classes_on(&state, "l1", "2026-03-31"), ["k1"]);
    assert!(classes_on(&state, "l1", "2026-04-01").is_empty());
    assert!(classes_on(&state, "l2", "2025-05-31").is_empty());
    assert_eq!(classes_on(&state, "l2", "2026-03-31"), ["k2"]);
    // A term that moves moves them (and is reported as such).
    let sessions = sessions().replace("\"2026-03-31\"", "\"2026-03-20\"");
    let changed = apply(
        &mut state,
        &only(&[("academicSessions.csv", sessions)], "bulk"),
        "2025-05-01T00:00:00Z",
    );
    assert_eq!(
        reattributed(&state, &changed),
        vec![
            ("l1".into(), vec!["[2026-03-21, 2026-04-01)".into()]),
            ("l2".into(), vec!["[2026-03-21, 2026-04-01)".into()])
        ]
    );
}

#[test]
fn the_grade_is_the_homerooms_and_falls_back_to_the_users() {
    let state = imported();
    assert_eq!(grade_on(&state, "l1", "2025-10-01").as_deref(), Some("P4"));
    // Not enrolled: the user's first grade.
    assert_eq!(grade_on(&state, "l1", "2024-10-01").as_deref(), Some("P4"));
    // A user without grades and no homeroom has none.
    assert_eq!(grade_on(&state, "t1", "2025-10-01"), None);
}

#[test]
fn on_a_day_with_two_homerooms_the_primary_enrollment_gives_the_grade() {
    let mut state = RosterState::new();
    let mut files = roster();
    let mut primary = enrollment("e5", "l1", "k5", "s1", "student", "2025-04-01", "");
    primary[7] = ("primary", "true");
    files.insert(
        "enrollments.csv".into(),
        csv(
            ENROLLMENTS,
            &[
                &enrollment("e1", "l1", "k1", "s1", "student", "2025-04-01", ""),
                &primary,
                &enrollment("e2", "l2", "k1", "s1", "student", "2025-04-01", ""),
                &enrollment("e6", "l2", "k5", "s1", "student", "2025-05-01", ""),
            ],
        ),
    );
    files.insert("users.csv".into(), users().replace("\"P4\"", "\"\""));
    apply(&mut state, &files, "2025-03-25T10:00:00Z");
    assert_eq!(classes_on(&state, "l1", "2025-06-01"), ["k1", "k5"]);
    assert_eq!(grade_on(&state, "l1", "2025-06-01").as_deref(), Some("P5"));
    // No primary: the one begun last.
    assert_eq!(grade_on(&state, "l2", "2025-04-15").as_deref(), Some("P4"));
    assert_eq!(grade_on(&state, "l2", "2025-06-01").as_deref(), Some("P5"));
}

#[test]
fn teaching_a_class_is_not_being_attributed_to_it() {
    let state = imported();
    assert!(classes_on(&state, "t1", "2025-10-01").is_empty());
}

#[test]
fn the_timeline_agrees_with_attribute_day_by_day() {
    let state = imported();
    for user in ["l1", "l2", "t1", "p1"] {
        let key = state.user_key(user).unwrap();
        let timeline = state.timeline(key);
        for on in lrs_roster::DayRange::new(day("2025-03-01"), day("2026-05-01")).days() {
            assert_eq!(timeline.at(on), &state.attribute(key, on), "{user} {on}");
        }
        let segments = timeline.segments();
        assert_eq!(segments.first().unwrap().days.start, lrs_roster::Day::MIN);
        assert_eq!(segments.last().unwrap().days.end, lrs_roster::Day::MAX);
    }
}

/// Issue 14 §2: a learner imported from another board counts in the enrollments running on the
/// transfer day from that day only; an enrollment that ended before it (an earlier stay) keeps
/// its days.
#[test]
fn a_learner_who_joined_by_a_transfer_counts_in_their_classes_from_the_transfer_day() {
    let mut state = imported();
    assert_eq!(classes_on(&state, "l2", "2025-10-20"), ["k2"]);
    assert!(state.set_transfer("l2", day("2025-11-01")));
    let l2 = state.user_key("l2").unwrap();
    assert_eq!(state.transfer_day(l2), Some(day("2025-11-01")));
    assert!(classes_on(&state, "l2", "2025-10-31").is_empty());
    assert_eq!(classes_on(&state, "l2", "2025-11-01"), ["k2"]);
    assert_eq!(classes_on(&state, "l2", "2026-03-31"), ["k2"]);
    // A transfer after the enrollment ended leaves it whole.
    let mut later = imported();
    assert!(later.set_transfer("l2", day("2026-06-01")));
    assert_eq!(classes_on(&later, "l2", "2025-10-20"), ["k2"]);
    assert!(!later.set_transfer("nobody", day("2026-06-01")));
}
