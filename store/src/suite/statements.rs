//! Suite: statement rows, access paths, bounds, cursors, tenancy, voiding, watermarks.

use bytes::Bytes;
use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use super::SuiteStore;
use super::fixtures::*;
use super::model::model_scan;
use crate::{AccessPath, IndexScan, Micros, Position, StatementRow, Watermark};

pub async fn a_written_statement_reads_back_with_its_body_keys_and_stored<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-read-back";
    let mut full = row(
        tenant,
        1_760_404_365_123_456,
        1,
        keys(1, 1, &[1, 2], &[1, 3]),
    );
    full.keys.registration = Some(Uuid::from_u128(0xfeed));
    full.keys.related_agents.push(Key16::of("agent-9"));
    // A large body exercises compression of the value.
    full.body = Bytes::from(format!(
        r#"{{"id":"{}","result":{{"response":"{}"}}}}"#,
        full.id,
        "月の満ち欠け".repeat(5_000)
    ));
    let bare = row(tenant, 7, 2, IndexKeys::default());
    store
        .write_statements(&[full.clone(), bare.clone()])
        .await
        .unwrap();

    let unknown = Uuid::from_u128(3);
    let got = store
        .get_statements(tenant, &[full.id, unknown, bare.id])
        .await
        .unwrap();
    assert_eq!(got.len(), 3, "one entry per requested id");
    for (expected, got) in [(&full, &got[0]), (&bare, &got[2])] {
        let got = got.as_ref().expect("written statement is found");
        assert_eq!(got.id, expected.id);
        assert_eq!(got.stored, expected.stored);
        assert_eq!(got.keys, expected.keys);
        assert_eq!(got.body, expected.body);
        assert_eq!(got.voided_by, None);
    }
    assert_eq!(got[1], None, "an unknown id reads as None");
    assert!(store.get_statements(tenant, &[]).await.unwrap().is_empty());
}

pub async fn writing_the_same_rows_twice_changes_nothing<S: SuiteStore>(store: &S) {
    let tenant = "suite-idempotent";
    let rows: Vec<StatementRow> = (0..10)
        .map(|i| row(tenant, 100 + i as Micros / 3, i + 1, keys(1, 1, &[1], &[2])))
        .collect();
    store.write_statements(&rows).await.unwrap();
    store.write_statements(&rows).await.unwrap();
    store.write_statements(&rows[3..5]).await.unwrap();

    for path in [AccessPath::All, agent_path(1), AccessPath::Verb(verb(1))] {
        let got = store.scan(&scan(tenant, path, true, 1000)).await.unwrap();
        assert_eq!(
            got,
            model_scan(&rows, &scan(tenant, path, true, 1000)),
            "{path:?}"
        );
        assert_eq!(got.len(), rows.len());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let got = store.get_statements(tenant, &ids).await.unwrap();
    for (row, got) in rows.iter().zip(got) {
        assert_eq!(got.unwrap().body, row.body);
    }
}

pub async fn every_access_path_finds_exactly_its_statements_in_both_directions<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-paths";
    let mut rows = Vec::new();
    for i in 0..24u128 {
        let mut k = keys(i as u64 % 3, i as u64 % 2, &[i as u64 % 4], &[i as u64 % 5]);
        k.related_agents
            .push(Key16::of(&format!("agent-{}", 10 + i % 3)));
        k.related_agents.sort();
        k.related_activities
            .push(Key16::of(&format!("activity-{}", 10 + i % 2)));
        k.related_activities.sort();
        if i % 3 == 0 {
            k.direct_activities.clear();
        }
        k.registration = (i % 4 != 0).then(|| Uuid::from_u128(0xaa00 + i % 2));
        rows.push(row(tenant, 1_000 + (i as Micros % 7) * 10, 100 + i, k));
    }
    store.write_statements(&rows).await.unwrap();

    let mut paths = vec![AccessPath::All];
    for n in 0..14 {
        paths.push(AccessPath::Agent(Key16::of(&format!("agent-{n}"))));
        paths.push(AccessPath::RelatedAgent(Key16::of(&format!("agent-{n}"))));
        paths.push(AccessPath::Activity(Key16::of(&format!("activity-{n}"))));
        paths.push(AccessPath::RelatedActivity(Key16::of(&format!(
            "activity-{n}"
        ))));
        paths.push(AccessPath::Verb(verb(n)));
        paths.push(AccessPath::Authority(authority(n)));
        paths.push(AccessPath::Registration(Uuid::from_u128(
            0xaa00 + n as u128,
        )));
    }
    let mut non_empty = 0;
    for path in paths {
        for ascending in [true, false] {
            let query = scan(tenant, path, ascending, 1000);
            let expected = model_scan(&rows, &query);
            non_empty += usize::from(!expected.is_empty());
            assert_eq!(store.scan(&query).await.unwrap(), expected, "{query:?}");
        }
    }
    assert!(
        non_empty >= 40,
        "the fixture exercises most paths ({non_empty})"
    );
}

pub async fn since_is_exclusive_and_until_is_inclusive_at_equal_stored<S: SuiteStore>(store: &S) {
    let tenant = "suite-bounds";
    let rows: Vec<StatementRow> = (0..9u128)
        .map(|i| {
            row(
                tenant,
                100 * (1 + i as Micros / 3),
                50 - i,
                keys(1, 1, &[1], &[1]),
            )
        })
        .collect();
    store.write_statements(&rows).await.unwrap();
    let at = |stored: Micros| -> Vec<Position> {
        let mut p: Vec<Position> = rows
            .iter()
            .filter(|r| r.stored == stored)
            .map(position)
            .collect();
        p.sort();
        p
    };

    for path in [AccessPath::All, agent_path(1)] {
        let bounded = |since, until, ascending| IndexScan {
            since,
            until,
            ..scan(tenant, path, ascending, 1000)
        };
        let got = store.scan(&bounded(Some(100), None, true)).await.unwrap();
        assert_eq!(
            got,
            [at(200), at(300)].concat(),
            "since excludes equal stored"
        );
        let got = store.scan(&bounded(None, Some(200), true)).await.unwrap();
        assert_eq!(
            got,
            [at(100), at(200)].concat(),
            "until includes equal stored"
        );
        let got = store
            .scan(&bounded(Some(100), Some(200), true))
            .await
            .unwrap();
        assert_eq!(got, at(200));
        let mut descending = at(200);
        descending.reverse();
        let got = store
            .scan(&bounded(Some(100), Some(200), false))
            .await
            .unwrap();
        assert_eq!(got, descending);
        let got = store
            .scan(&bounded(Some(200), Some(200), true))
            .await
            .unwrap();
        assert!(got.is_empty(), "since == until is empty");
        let got = store.scan(&bounded(Some(300), None, false)).await.unwrap();
        assert!(got.is_empty());
        let got = store.scan(&bounded(None, Some(99), false)).await.unwrap();
        assert!(got.is_empty());
        let got = store.scan(&bounded(Some(0), Some(0), true)).await.unwrap();
        assert!(got.is_empty());
        let got = store.scan(&scan(tenant, path, true, 0)).await.unwrap();
        assert!(got.is_empty(), "limit 0 returns nothing");
    }
}

pub async fn an_after_cursor_pages_through_250_rows_exactly_once_in_order<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-paging";
    let mut rng = Rng::new(250);
    // Groups of 7 share `stored`, so page boundaries fall inside ties.
    let rows: Vec<StatementRow> = (0..250)
        .map(|i| {
            row(
                tenant,
                5_000 + i / 7,
                rng.next_u128(),
                keys(2, 2, &[2], &[2]),
            )
        })
        .collect();
    store.write_statements(&rows[..125]).await.unwrap();
    store.write_statements(&rows[125..]).await.unwrap();

    for path in [
        AccessPath::All,
        agent_path(2),
        AccessPath::Authority(authority(2)),
    ] {
        for ascending in [true, false] {
            let mut expected: Vec<Position> = rows.iter().map(position).collect();
            expected.sort();
            if !ascending {
                expected.reverse();
            }
            let mut seen = Vec::new();
            let mut pages = Vec::new();
            let mut after = None;
            loop {
                let query = IndexScan {
                    after,
                    ..scan(tenant, path, ascending, 100)
                };
                let page = store.scan(&query).await.unwrap();
                pages.push(page.len());
                assert!(pages.len() <= 4, "paging does not end: {pages:?}");
                let Some(last) = page.last() else { break };
                after = Some(*last);
                seen.extend(page);
            }
            assert_eq!(pages, [100, 100, 50, 0], "{path:?} ascending={ascending}");
            assert_eq!(seen, expected, "{path:?} ascending={ascending}");
        }
    }
}

pub async fn ties_at_equal_stored_are_ordered_by_id<S: SuiteStore>(store: &S) {
    let tenant = "suite-ties";
    let mut rng = Rng::new(20);
    let rows: Vec<StatementRow> = (0..20)
        .map(|_| row(tenant, 42, rng.next_u128(), keys(3, 3, &[3], &[3])))
        .collect();
    store.write_statements(&rows).await.unwrap();
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    ids.sort();
    let got = store
        .scan(&scan(tenant, AccessPath::Verb(verb(3)), true, 100))
        .await
        .unwrap();
    assert_eq!(got.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    assert!(got.iter().all(|p| p.stored == 42));
    ids.reverse();
    let got = store
        .scan(&scan(tenant, AccessPath::Verb(verb(3)), false, 100))
        .await
        .unwrap();
    assert_eq!(got.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
}

pub async fn tenants_never_see_each_others_statements<S: SuiteStore>(store: &S) {
    // "suite-tenant" is a byte prefix of "suite-tenant-2": the encoding must still separate them.
    let (a, b, c) = ("suite-tenant", "suite-tenant-2", "suite-tenant-3");
    let mut in_a = row(a, 10, 7, keys(4, 4, &[4], &[4]));
    in_a.keys.registration = Some(Uuid::from_u128(0x4444));
    let mut in_b = in_a.clone();
    in_b.tenant = b.into();
    in_b.stored = 20;
    in_b.body = Bytes::from_static(br#"{"tenant":"b"}"#);
    let voider = row(a, 30, 8, voiding(in_a.id));
    store
        .write_statements(&[in_a.clone(), in_b.clone(), voider.clone()])
        .await
        .unwrap();

    let got_a = store.get_statements(a, &[in_a.id]).await.unwrap();
    let got_a = got_a[0].as_ref().unwrap();
    assert_eq!((got_a.stored, &got_a.body), (10, &in_a.body));
    assert_eq!(got_a.voided_by, Some(voider.id));
    let got_b = store
        .get_statements(b, &[in_b.id, voider.id])
        .await
        .unwrap();
    let first = got_b[0].as_ref().unwrap();
    assert_eq!((first.stored, &first.body), (20, &in_b.body));
    assert_eq!(
        first.voided_by, None,
        "voiding in one tenant leaves the other alone"
    );
    assert_eq!(got_b[1], None);
    assert_eq!(store.get_statements(c, &[in_a.id]).await.unwrap(), [None]);

    let paths = [
        AccessPath::All,
        agent_path(4),
        AccessPath::RelatedAgent(Key16::of("agent-4")),
        AccessPath::Verb(verb(4)),
        AccessPath::Activity(Key16::of("activity-4")),
        AccessPath::RelatedActivity(Key16::of("activity-4")),
        AccessPath::Registration(Uuid::from_u128(0x4444)),
        AccessPath::Authority(authority(4)),
    ];
    for path in paths {
        let got = store.scan(&scan(b, path, true, 100)).await.unwrap();
        assert_eq!(got, [position(&in_b)], "{path:?}");
        let got = store.scan(&scan(c, path, false, 100)).await.unwrap();
        assert!(got.is_empty(), "{path:?}");
    }
    let got = store
        .scan(&scan(a, AccessPath::All, true, 100))
        .await
        .unwrap();
    assert_eq!(got, [position(&in_a), position(&voider)]);
}

pub async fn a_voiding_statement_voids_its_target_whichever_is_written_first<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-voiding";
    let target_first = row(tenant, 100, 1, keys(5, 5, &[5], &[5]));
    let voids_it = row(tenant, 200, 2, voiding(target_first.id));
    store
        .write_statements(std::slice::from_ref(&target_first))
        .await
        .unwrap();
    store
        .write_statements(std::slice::from_ref(&voids_it))
        .await
        .unwrap();

    let target_later = row(tenant, 300, 3, keys(5, 5, &[5], &[5]));
    let voids_early = row(tenant, 250, 4, voiding(target_later.id));
    store
        .write_statements(std::slice::from_ref(&voids_early))
        .await
        .unwrap();
    store
        .write_statements(std::slice::from_ref(&target_later))
        .await
        .unwrap();

    let ids = [
        target_first.id,
        voids_it.id,
        target_later.id,
        voids_early.id,
    ];
    let got = store.get_statements(tenant, &ids).await.unwrap();
    let voided_by: Vec<Option<Uuid>> = got.iter().map(|s| s.as_ref().unwrap().voided_by).collect();
    assert_eq!(
        voided_by,
        [Some(voids_it.id), None, Some(voids_early.id), None]
    );
    assert_eq!(got[1].as_ref().unwrap().keys.voids, Some(target_first.id));
}

pub async fn watermarks_round_trip_and_the_latest_write_wins<S: SuiteStore>(store: &S) {
    let mark = |partition, next_offset, stored| Watermark {
        partition,
        next_offset,
        stored,
    };
    store
        .record_watermarks(&[mark(0, 10, 1_000), mark(3, 7, 900)])
        .await
        .unwrap();
    store
        .record_watermarks(&[mark(0, 25, 1_500)])
        .await
        .unwrap();
    store.record_watermarks(&[]).await.unwrap();
    let mut got = store.watermarks().await.unwrap();
    got.sort_by_key(|m| m.partition);
    assert_eq!(got, [mark(0, 25, 1_500), mark(3, 7, 900)]);
}

/// xAPI Communication §2.1.3 "Filter Conditions for StatementRefs": a row written with the keys of
/// the statement it targets is found on the target's paths too, and reads back with them.
pub async fn a_referring_row_is_found_on_its_targets_paths<S: SuiteStore>(store: &S) {
    let tenant = "suite-refers";
    let target = row(tenant, 100, 1, keys(7, 1, &[7], &[7]));
    let mut referring = row(
        tenant,
        200,
        2,
        IndexKeys {
            refers_to: Some(target.id),
            ..keys(8, 1, &[8], &[])
        },
    );
    referring.inherited = Some(target.keys.clone());
    store
        .write_statements(&[target.clone(), referring.clone()])
        .await
        .unwrap();
    let scan = |path| IndexScan {
        tenant: tenant.into(),
        path,
        since: None,
        until: None,
        after: None,
        ascending: true,
        limit: 10,
    };
    let on_target_verb = store.scan(&scan(AccessPath::Verb(verb(7)))).await.unwrap();
    assert_eq!(
        on_target_verb,
        vec![position(&target), position(&referring)]
    );
    let on_own_verb = store.scan(&scan(AccessPath::Verb(verb(8)))).await.unwrap();
    assert_eq!(on_own_verb, vec![position(&referring)]);
    let on_all = store.scan(&scan(AccessPath::All)).await.unwrap();
    assert_eq!(on_all.len(), 2, "one All entry per row");
    let got = store.get_statements(tenant, &[referring.id]).await.unwrap();
    let got = got[0].as_ref().unwrap();
    assert_eq!(got.keys, referring.keys);
    assert_eq!(got.inherited, Some(target.keys));
}

/// `contains_statements` and `existing_bodies` agree with `get_statements`, per tenant.
pub async fn presence_checks_agree_with_reads<S: SuiteStore>(store: &S) {
    let tenant = "suite-presence";
    let stored = row(tenant, 100, 1, keys(1, 1, &[1], &[1]));
    store
        .write_statements(std::slice::from_ref(&stored))
        .await
        .unwrap();
    let absent = Uuid::from_u128(2);
    let ids = [stored.id, absent];
    assert_eq!(
        store.contains_statements(tenant, &ids).await.unwrap(),
        vec![true, false]
    );
    assert_eq!(
        store
            .contains_statements("suite-presence-other", &ids)
            .await
            .unwrap(),
        vec![false, false]
    );
    let bodies = store.existing_bodies(tenant, &ids).await.unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[&stored.id], stored.body);
}

/// Statements spread over 300 days (on both sides of the epoch, most days empty) page through
/// exactly once in both directions, within `since`/`until` bounds: backends that partition by
/// time bucket (ScyllaDB, PostgreSQL: one day) must walk their buckets without a gap.
pub async fn scans_walk_statements_spread_over_many_days<S: SuiteStore>(store: &S) {
    const DAY: Micros = 86_400_000_000;
    let tenant = "suite-many-days";
    let mut rng = Rng::new(300);
    let rows: Vec<StatementRow> = (0..120)
        .map(|_| {
            let day = rng.below(300) as Micros - 100;
            let within = rng.below(3) as Micros * (DAY / 2);
            row(
                tenant,
                day * DAY + within,
                rng.next_u128(),
                keys(3, 3, &[3], &[3]),
            )
        })
        .collect();
    store.write_statements(&rows).await.unwrap();

    let bounds = [(None, None), (Some(-40 * DAY), Some(150 * DAY + DAY / 2))];
    for path in [AccessPath::All, agent_path(3)] {
        for (since, until) in bounds {
            for ascending in [true, false] {
                let whole = IndexScan {
                    since,
                    until,
                    ..scan(tenant, path, ascending, 1000)
                };
                let expected = model_scan(&rows, &whole);
                assert_eq!(store.scan(&whole).await.unwrap(), expected);
                let mut seen = Vec::new();
                let mut after = None;
                loop {
                    let page = store
                        .scan(&IndexScan {
                            after,
                            limit: 7,
                            ..whole.clone()
                        })
                        .await
                        .unwrap();
                    let Some(last) = page.last() else { break };
                    after = Some(*last);
                    seen.extend(page);
                    assert!(seen.len() <= expected.len(), "paging does not end");
                }
                assert_eq!(seen, expected, "{path:?} {since:?} {until:?} {ascending}");
            }
        }
    }
}
