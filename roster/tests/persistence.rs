//! What a store persists: the plan's changes applied to a map keyed by (kind, sourcedId), read
//! back with `RosterState::rebuild`, behave as the state they came from; and the persisted JSON
//! form of records is fixed (golden file).

mod common;

use std::collections::BTreeMap;

use common::*;
use lrs_roster::{
    DayRange, IdentityConfig, IdentityIndex, ImportPlan, PersistedRecord, RecordChange, RecordKind,
    RosterState, RosterVersion,
};

/// A store in miniature: records by (kind, sourcedId), and the versions.
#[derive(Default)]
struct Store {
    records: BTreeMap<(RecordKind, String), PersistedRecord>,
    versions: Vec<RosterVersion>,
}

impl Store {
    fn persist(&mut self, plan: &ImportPlan) {
        for change in plan.changes() {
            let key = (change.kind(), change.sourced_id().as_str().to_owned());
            match change {
                RecordChange::Upsert { record } => {
                    self.records.insert(
                        key,
                        PersistedRecord {
                            record: record.clone(),
                            removal: None,
                        },
                    );
                }
                RecordChange::Remove { removal, .. } => {
                    self.records.get_mut(&key).expect("a held record").removal = Some(*removal);
                }
            }
        }
        self.versions.push(plan.version().clone());
    }

    /// Rebuilds through JSON, records in reverse order, as another instance would.
    fn rebuild(&self) -> RosterState {
        let json: Vec<String> = self
            .records
            .values()
            .rev()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let versions =
            serde_json::from_str(&serde_json::to_string(&self.versions).unwrap()).unwrap();
        RosterState::rebuild(
            versions,
            json.iter().map(|j| serde_json::from_str(j).unwrap()),
        )
    }
}

fn import(state: &mut RosterState, store: &mut Store, files: &Files, at: &str) {
    let plan = plan(state, files, at).unwrap();
    store.persist(&plan);
    state.apply(&plan).unwrap();
}

/// Everything observable about a user, by sourcedIds.
fn observe(state: &RosterState, user: &str) -> Vec<String> {
    let key = state.user_key(user).unwrap();
    let mut seen = Vec::new();
    for on in DayRange::new(day("2025-03-01"), day("2026-05-01")).days() {
        let a = state.attribute(key, on);
        let classes: Vec<&str> = a
            .classes()
            .iter()
            .map(|&c| state.class_sourced_id(c))
            .collect();
        let schools: Vec<&str> = a
            .schools()
            .iter()
            .map(|&s| state.org_sourced_id(s))
            .collect();
        let mut classes = classes;
        classes.sort();
        let mut schools = schools;
        schools.sort();
        seen.push(format!("{on} {classes:?} {schools:?} {:?}", a.grade()));
        seen.push(format!("{:?}", state.visibility(key, on)));
    }
    seen
}

#[test]
fn a_rebuilt_state_behaves_as_the_one_it_was_persisted_from() {
    let mut state = RosterState::new();
    let mut store = Store::default();
    import(&mut state, &mut store, &roster(), "2025-03-25T10:00:00Z");
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
    let mut removed = enrollment("e4", "l1", "m1", "s1", "student", "", "");
    removed[1] = ("status", "tobedeleted");
    removed[2] = ("dateLastModified", "2025-11-01T00:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&ended, &removed]))],
        "delta",
    );
    import(&mut state, &mut store, &files, "2025-11-02T00:00:00Z");

    let rebuilt = store.rebuild();
    assert_eq!(rebuilt.versions(), state.versions());
    for kind in RecordKind::ALL {
        assert_eq!(rebuilt.count(kind), state.count(kind), "{kind:?}");
    }
    for user in ["l1", "l2", "t1", "p1", "d1"] {
        assert_eq!(observe(&rebuilt, user), observe(&state, user), "{user}");
    }
    let config = IdentityConfig::default();
    let master = "0b7c8d2e-1f3a-4b5c-8d9e-0f1a2b3c4d5e";
    let actor = lrs_roster::ActorRef::Account {
        home_page: "https://eportal.example.jp",
        name: master,
    };
    let resolved = |s: &RosterState| {
        let index = IdentityIndex::new(&config, &[], s);
        index
            .resolve(s, actor)
            .map(|r| s.user_sourced_id(r.user).to_owned())
    };
    assert_eq!(resolved(&rebuilt), Some("l1".to_owned()));

    // The next import plans the same on both: fingerprints, dates and removals came back.
    let mut stale = removed.clone();
    stale[1] = ("status", "active");
    stale[2] = ("dateLastModified", "2025-10-31T00:00:00.000Z");
    let next = with_manifest(
        [
            (
                "enrollments.csv".to_owned(),
                csv(ENROLLMENTS, &[&ended, &stale]),
            ),
            ("users.csv".to_owned(), users()),
        ]
        .into_iter()
        .collect(),
        "delta",
    );
    let a = plan(&state, &next, "2025-11-03T00:00:00Z").unwrap();
    let b = plan(&rebuilt, &next, "2025-11-03T00:00:00Z").unwrap();
    assert_eq!(a, b);
    assert!(a.changes().is_empty(), "{:?}", a.changes());
    assert_eq!(a.version().summary.enrollments.unwrap().ignored, 1);
}

#[test]
fn the_persisted_form_of_records_is_fixed() {
    let mut state = RosterState::new();
    let mut store = Store::default();
    import(&mut state, &mut store, &roster(), "2025-03-25T10:00:00Z");
    let mut removed = enrollment("e4", "l1", "m1", "s1", "student", "", "");
    removed[1] = ("status", "tobedeleted");
    removed[2] = ("dateLastModified", "2025-11-01T00:00:00.000Z");
    let files = only(
        &[("enrollments.csv", csv(ENROLLMENTS, &[&removed]))],
        "delta",
    );
    import(&mut state, &mut store, &files, "2025-11-02T00:00:00Z");
    let sample: Vec<&PersistedRecord> = [
        (RecordKind::Org, "s1"),
        (RecordKind::AcademicSession, "y2025"),
        (RecordKind::Course, "c1"),
        (RecordKind::Class, "k1"),
        (RecordKind::User, "l1"),
        (RecordKind::Enrollment, "e4"),
        (RecordKind::Role, "r4"),
    ]
    .iter()
    .map(|(kind, id)| &store.records[&(*kind, id.to_string())])
    .collect();
    let actual = serde_json::to_string_pretty(&(sample, &store.versions)).unwrap() + "\n";
    let golden = include_str!("golden/records.json");
    assert_eq!(actual, golden, "the persisted form changed:\n{actual}");
}
