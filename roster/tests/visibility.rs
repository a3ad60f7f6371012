//! Access by roster role: what each role may see on a day, and the checks the query side uses.

mod common;

use std::collections::BTreeSet;

use common::*;
use lrs_roster::{RosterState, SourcedId, Subject, Visibility};

fn visibility(state: &RosterState, user: &str, on: &str) -> Visibility {
    state.visibility(state.user_key(user).unwrap(), day(on))
}

fn ids(set: Option<&BTreeSet<SourcedId>>) -> Vec<&str> {
    set.unwrap().iter().map(SourcedId::as_str).collect()
}

#[test]
fn a_teacher_sees_their_classes_and_those_classes_learners() {
    let state = imported();
    let teacher = visibility(&state, "t1", "2025-10-01");
    assert!(!teacher.is_whole_tenant());
    assert_eq!(ids(teacher.classes()), ["k1"]);
    assert_eq!(ids(teacher.learners()), ["l1", "t1"]);
    assert!(ids(teacher.schools()).is_empty());
    assert!(teacher.allows_class("k1"));
    assert!(
        !teacher.allows_class("m1"),
        "l1's other class is not theirs"
    );
    assert!(!teacher.allows_class("k2"));
    assert!(teacher.allows_learner("l1"));
    assert!(!teacher.allows_learner("l2"));
    assert!(!teacher.allows_school("s1"), "a class is not its school");
    // Outside the enrollment's dates: only themself.
    let after = visibility(&state, "t1", "2026-04-10");
    assert!(after.classes().unwrap().is_empty());
    assert_eq!(ids(after.learners()), ["t1"]);
}

#[test]
fn a_principal_sees_their_school_its_classes_and_its_learners() {
    let state = imported();
    let principal = visibility(&state, "p1", "2025-10-01");
    assert_eq!(ids(principal.schools()), ["s1"]);
    assert_eq!(ids(principal.classes()), ["k1", "k5", "m1"]);
    assert_eq!(ids(principal.learners()), ["l1", "p1"]);
    assert!(principal.allows_school("s1"));
    assert!(!principal.allows_school("s2"));
    assert!(!principal.allows_class("k2"));
    assert!(!principal.allows_learner("l2"));
}

#[test]
fn a_site_administrator_of_the_board_sees_every_school_under_it() {
    let mut state = imported();
    let roles = format!(
        "{}{}\n",
        roles(),
        csv(ROLES, &[&role("r6", "p1", "siteAdministrator", "b1")])
            .lines()
            .nth(1)
            .unwrap()
    );
    apply(
        &mut state,
        &only(&[("roles.csv", roles)], "bulk"),
        "2025-05-01T00:00:00Z",
    );
    let admin = visibility(&state, "p1", "2025-10-01");
    assert_eq!(ids(admin.schools()), ["b1", "s1", "s2"]);
    assert_eq!(ids(admin.learners()), ["l1", "l2", "p1"]);
}

#[test]
fn a_district_administrator_sees_the_whole_tenant() {
    let state = imported();
    let admin = visibility(&state, "d1", "2025-10-01");
    assert!(admin.is_whole_tenant());
    assert!(admin.allows_school("s2"));
    assert!(admin.allows_learner("someone-the-roster-does-not-know"));
    assert_eq!(admin.classes(), None);
}

#[test]
fn a_student_sees_only_themself() {
    let state = imported();
    let student = visibility(&state, "l1", "2025-10-01");
    assert_eq!(ids(student.learners()), ["l1"]);
    assert!(student.classes().unwrap().is_empty());
    assert!(!student.allows_class("k1"));
    assert!(!student.allows_learner("l2"));
}

#[test]
fn a_disabled_or_removed_user_sees_nothing() {
    let mut state = imported();
    let disabled = users().replacen(
        "\"p1\",\"active\",\"2025-03-20T09:00:00.000Z\",\"true\"",
        "\"p1\",\"active\",\"2025-03-20T09:00:00.000Z\",\"false\"",
        1,
    );
    apply(
        &mut state,
        &only(&[("users.csv", disabled)], "bulk"),
        "2025-05-01T00:00:00Z",
    );
    assert_eq!(
        visibility(&state, "p1", "2025-10-01"),
        Visibility::nothing()
    );
    let mut removed = role("r5", "d1", "districtAdministrator", "b1");
    removed[1] = ("status", "tobedeleted");
    removed[2] = ("dateLastModified", "2025-09-01T00:00:00.000Z");
    apply(
        &mut state,
        &only(&[("roles.csv", csv(ROLES, &[&removed]))], "delta"),
        "2025-09-02T00:00:00Z",
    );
    assert!(visibility(&state, "d1", "2025-08-31").is_whole_tenant());
    assert!(!visibility(&state, "d1", "2025-09-01").is_whole_tenant());
}

#[test]
fn roles_count_only_between_their_dates() {
    let mut state = imported();
    let mut dated = role("r4", "p1", "principal", "s1");
    dated[2] = ("dateLastModified", "2025-06-01T00:00:00.000Z");
    dated.push(("beginDate", "2025-04-01"));
    dated.push(("endDate", "2025-09-30"));
    apply(
        &mut state,
        &only(&[("roles.csv", csv(ROLES, &[&dated]))], "delta"),
        "2025-06-02T00:00:00Z",
    );
    assert_eq!(
        ids(visibility(&state, "p1", "2025-09-30").schools()),
        ["s1"]
    );
    assert!(ids(visibility(&state, "p1", "2025-10-01").schools()).is_empty());
}

#[test]
fn listings_keep_only_what_is_visible() {
    let state = imported();
    let teacher = visibility(&state, "t1", "2025-10-01");
    let mut rows = vec![("k1", 12), ("k2", 7), ("m1", 3)];
    teacher.retain(&mut rows, |(class, _)| Subject::Class(class));
    assert_eq!(rows, [("k1", 12)]);
    let mut learners = vec!["l1", "l2", "unknown-actor"];
    Visibility::whole_tenant().retain(&mut learners, |l| Subject::Learner(l));
    assert_eq!(learners.len(), 3);
    teacher.retain(&mut learners, |l| Subject::Learner(l));
    assert_eq!(learners, ["l1"]);
}
