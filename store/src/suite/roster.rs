//! Suite: roster versions (numbered, all or nothing), records (upserts, removals that keep the
//! data), aliases, tenancy.

use bytes::Bytes;

use super::SuiteStore;
use crate::{
    ALIAS_KIND, RosterChangeRow, RosterRecordRow, RosterVersionRow, StoreErrorKind, TRANSFER_KIND,
};

/// Version `number`, imported at a time derived from it, with a JSON body naming it.
pub(super) fn version(number: u32) -> RosterVersionRow {
    RosterVersionRow {
        number,
        imported_at: 1_760_000_000_000_000 + i64::from(number) * 1_000_000,
        body: Bytes::from(format!(
            r#"{{"version":{number},"files":{{"users.csv":3}}}}"#
        )),
    }
}

fn upsert(kind: u8, sourced_id: &str, data: &str) -> RosterChangeRow {
    RosterChangeRow::Upsert {
        kind,
        sourced_id: sourced_id.into(),
        record: Bytes::from(format!(r#"{{"sourcedId":"{sourced_id}","data":"{data}"}}"#)),
    }
}

fn remove(kind: u8, sourced_id: &str, on: &str) -> RosterChangeRow {
    RosterChangeRow::Remove {
        kind,
        sourced_id: sourced_id.into(),
        removal: Bytes::from(format!(r#"{{"removedOn":"{on}"}}"#)),
    }
}

fn held(kind: u8, sourced_id: &str, data: &str, removed_on: Option<&str>) -> RosterRecordRow {
    RosterRecordRow {
        kind,
        sourced_id: sourced_id.into(),
        record: Bytes::from(format!(r#"{{"sourcedId":"{sourced_id}","data":"{data}"}}"#)),
        removal: removed_on.map(|on| Bytes::from(format!(r#"{{"removedOn":"{on}"}}"#))),
    }
}

async fn records_of<S: SuiteStore>(store: &S, tenant: &str) -> Vec<RosterRecordRow> {
    let mut got = store.roster_records(tenant).await.unwrap();
    got.sort_by(|a, b| (a.kind, &a.sourced_id).cmp(&(b.kind, &b.sourced_id)));
    got
}

fn sorted(mut records: Vec<RosterRecordRow>) -> Vec<RosterRecordRow> {
    records.sort_by(|a, b| (a.kind, &a.sourced_id).cmp(&(b.kind, &b.sourced_id)));
    records
}

pub async fn roster_versions_are_numbered_from_one_and_read_oldest_first<S: SuiteStore>(store: &S) {
    let tenant = "suite-roster-versions";
    assert!(store.roster_versions(tenant).await.unwrap().is_empty());
    assert!(store.roster_records(tenant).await.unwrap().is_empty());
    for number in 1..=12 {
        store
            .commit_roster(
                tenant,
                &version(number),
                &[upsert(4, &format!("user-{number}"), "v")],
            )
            .await
            .unwrap();
    }
    let versions = store.roster_versions(tenant).await.unwrap();
    assert_eq!(versions, (1..=12).map(version).collect::<Vec<_>>());
    assert_eq!(records_of(store, tenant).await.len(), 12);
}

pub async fn a_taken_or_skipped_version_number_fails_and_writes_nothing<S: SuiteStore>(store: &S) {
    let tenant = "suite-roster-precondition";
    store
        .commit_roster(tenant, &version(1), &[upsert(4, "user-1", "first")])
        .await
        .unwrap();
    let before = records_of(store, tenant).await;
    for (number, why) in [(1, "taken"), (3, "skipped"), (0, "not a version")] {
        let err = store
            .commit_roster(
                tenant,
                &version(number),
                &[
                    upsert(4, "user-1", "overwritten"),
                    upsert(4, "user-2", "new"),
                    remove(4, "user-1", "2025-10-01"),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            StoreErrorKind::PreconditionFailed,
            "{why}: {err}"
        );
        assert_eq!(
            records_of(store, tenant).await,
            before,
            "{why}: no record written"
        );
        assert_eq!(
            store.roster_versions(tenant).await.unwrap(),
            [version(1)],
            "{why}: no version written"
        );
    }
    store
        .commit_roster(tenant, &version(2), &[upsert(4, "user-2", "second")])
        .await
        .unwrap();
    assert_eq!(
        store.roster_versions(tenant).await.unwrap(),
        [version(1), version(2)]
    );
}

pub async fn concurrent_imports_of_one_version_number_let_exactly_one_win<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-roster-race";
    let import = |n: u32| {
        let mut row = version(1);
        row.imported_at += i64::from(n);
        async move {
            let result = store
                .commit_roster(tenant, &row, &[upsert(4, "user-1", &format!("import-{n}"))])
                .await;
            (row, n, result)
        }
    };
    let results = tokio::join!(import(1), import(2), import(3), import(4));
    let results = [results.0, results.1, results.2, results.3];
    let winners: Vec<_> = results.iter().filter(|r| r.2.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{:?}", results.map(|r| r.2));
    for (_, _, result) in &results {
        if let Err(e) = result {
            assert_eq!(e.kind(), StoreErrorKind::PreconditionFailed, "{e}");
        }
    }
    let (winner, n, _) = winners[0];
    assert_eq!(
        store.roster_versions(tenant).await.unwrap(),
        std::slice::from_ref(winner)
    );
    assert_eq!(
        records_of(store, tenant).await,
        [held(4, "user-1", &format!("import-{n}"), None)],
        "the losers wrote nothing"
    );
}

pub async fn roster_records_are_upserted_and_removals_keep_their_data<S: SuiteStore>(store: &S) {
    let tenant = "suite-roster-records";
    store
        .commit_roster(
            tenant,
            &version(1),
            &[
                upsert(0, "org-1", "board"),
                upsert(4, "user-1", "a"),
                upsert(4, "user-2", "b"),
                upsert(5, "enrollment-1", "user-1 in class-1"),
                upsert(5, "enrollment-2", "user-2 in class-1"),
            ],
        )
        .await
        .unwrap();
    store
        .commit_roster(
            tenant,
            &version(2),
            &[
                upsert(4, "user-1", "a, moved"),
                remove(4, "user-2", "2025-10-01"),
                // Removing a record never held writes nothing.
                remove(4, "user-9", "2025-10-01"),
                // Written and removed by one import: the new data, removed.
                upsert(5, "enrollment-3", "user-1 in class-2"),
                remove(5, "enrollment-3", "2025-10-02"),
                // Removed, then written again by one import: the new data, not removed.
                remove(5, "enrollment-1", "2025-10-02"),
                upsert(5, "enrollment-1", "user-1 in class-1 again"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        records_of(store, tenant).await,
        sorted(vec![
            held(0, "org-1", "board", None),
            held(4, "user-1", "a, moved", None),
            held(4, "user-2", "b", Some("2025-10-01")),
            held(5, "enrollment-1", "user-1 in class-1 again", None),
            held(5, "enrollment-2", "user-2 in class-1", None),
            held(5, "enrollment-3", "user-1 in class-2", Some("2025-10-02")),
        ])
    );
    // Written again: the removal is cleared.
    store
        .commit_roster(tenant, &version(3), &[upsert(4, "user-2", "b, back")])
        .await
        .unwrap();
    let records = records_of(store, tenant).await;
    assert!(
        records.contains(&held(4, "user-2", "b, back", None)),
        "{records:?}"
    );
    assert_eq!(records.len(), 6);
}

pub async fn aliases_are_records_of_the_alias_kind<S: SuiteStore>(store: &S) {
    let tenant = "suite-roster-aliases";
    // An alias is keyed by homePage NUL name; its record is the user's sourcedId.
    let alias = |home_page: &str, name: &str, user: &str| RosterChangeRow::Upsert {
        kind: ALIAS_KIND,
        sourced_id: format!("{home_page}\0{name}"),
        record: Bytes::from(user.to_owned()),
    };
    store
        .commit_roster(
            tenant,
            &version(1),
            &[
                upsert(4, "user-1", "a"),
                alias("https://drill.example.jp", "学習者-0001", "user-1"),
                alias("https://drill.example.jp", "学習者-0002", "user-2"),
            ],
        )
        .await
        .unwrap();
    store
        .commit_roster(
            tenant,
            &version(2),
            &[alias("https://drill.example.jp", "学習者-0002", "user-1")],
        )
        .await
        .unwrap();
    let aliases: Vec<(String, Bytes)> = records_of(store, tenant)
        .await
        .into_iter()
        .filter(|r| r.kind == ALIAS_KIND)
        .map(|r| {
            assert_eq!(r.removal, None);
            (r.sourced_id, r.record)
        })
        .collect();
    assert_eq!(
        aliases,
        [
            (
                "https://drill.example.jp\0学習者-0001".to_owned(),
                Bytes::from_static(b"user-1")
            ),
            (
                "https://drill.example.jp\0学習者-0002".to_owned(),
                Bytes::from_static(b"user-1")
            ),
        ]
    );
}

/// Issue 14 §2: a learner's transfer is a record of [`TRANSFER_KIND`] keyed by the user's
/// sourcedId, the same key as their user record: the kind keeps them apart.
pub async fn transfers_are_records_of_the_transfer_kind_beside_the_users<S: SuiteStore>(store: &S) {
    let tenant = "suite-roster-transfers";
    let transfer = |day: &str| RosterChangeRow::Upsert {
        kind: TRANSFER_KIND,
        sourced_id: "user-1".to_owned(),
        record: Bytes::from(format!(r#"{{"day":"{day}","sourceTenant":"board-a"}}"#)),
    };
    store
        .commit_roster(
            tenant,
            &version(1),
            &[upsert(4, "user-1", "a"), transfer("2026-11-01")],
        )
        .await
        .unwrap();
    store
        .commit_roster(tenant, &version(2), &[transfer("2026-11-02")])
        .await
        .unwrap();
    let records = records_of(store, tenant).await;
    assert!(
        records.contains(&held(4, "user-1", "a", None)),
        "{records:?}"
    );
    let transfers: Vec<&RosterRecordRow> =
        records.iter().filter(|r| r.kind == TRANSFER_KIND).collect();
    assert_eq!(transfers.len(), 1, "{records:?}");
    assert_eq!(transfers[0].sourced_id, "user-1");
    assert_eq!(
        transfers[0].record,
        Bytes::from_static(br#"{"day":"2026-11-02","sourceTenant":"board-a"}"#)
    );
    assert_eq!(records.len(), 2);
}

pub async fn tenants_never_see_each_others_rosters<S: SuiteStore>(store: &S) {
    // "suite-roster-iso" is a prefix of "suite-roster-iso-2".
    let (one, two) = ("suite-roster-iso", "suite-roster-iso-2");
    store
        .commit_roster(one, &version(1), &[upsert(4, "user-1", "one")])
        .await
        .unwrap();
    // Each tenant numbers its own versions.
    store
        .commit_roster(two, &version(1), &[upsert(4, "user-1", "two")])
        .await
        .unwrap();
    store
        .commit_roster(
            two,
            &version(2),
            &[
                upsert(4, "user-2", "two"),
                remove(4, "user-1", "2025-10-01"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.roster_versions(one).await.unwrap(), [version(1)]);
    assert_eq!(
        store.roster_versions(two).await.unwrap(),
        [version(1), version(2)]
    );
    assert_eq!(
        records_of(store, one).await,
        [held(4, "user-1", "one", None)]
    );
    assert_eq!(
        records_of(store, two).await,
        [
            held(4, "user-1", "two", Some("2025-10-01")),
            held(4, "user-2", "two", None)
        ]
    );
    assert!(
        store
            .roster_versions("suite-roster-nobody")
            .await
            .unwrap()
            .is_empty()
    );
}
