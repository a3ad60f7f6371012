//! Suite: real deletion (issue 14 §3): purged statements leave every access path while the
//! statements sharing their index blocks stay; a tenant purge leaves nothing of the tenant and
//! everything of the others; attachments by hash; dictionary entries by key; purge records.

use std::collections::HashSet;

use bytes::Bytes;
use uuid::Uuid;

use super::SuiteStore;
use super::fixtures::*;
use super::studylog::{bare_fact, day, learner, with_fact};
use lrs_schema::envelope::Key16;

use crate::{
    ACTOR_TERMS, AccessPath, AttachmentBody, PurgeRecord, PurgeStore, StatementRow, TermRow,
};

/// What the purge suite functions take.
pub trait PurgeSuiteStore: SuiteStore + PurgeStore {}
impl<T: SuiteStore + PurgeStore + ?Sized> PurgeSuiteStore for T {}

/// Every path a row of these keys can be found on.
fn paths_of(rows: &[StatementRow]) -> Vec<AccessPath> {
    let mut paths = vec![AccessPath::All];
    for row in rows {
        let k = &row.keys;
        paths.push(AccessPath::Verb(k.verb));
        paths.push(AccessPath::Authority(k.authority));
        paths.extend(k.direct_agents.iter().map(|a| AccessPath::Agent(*a)));
        paths.extend(
            k.related_agents
                .iter()
                .map(|a| AccessPath::RelatedAgent(*a)),
        );
        paths.extend(k.direct_activities.iter().map(|a| AccessPath::Activity(*a)));
        paths.extend(
            k.related_activities
                .iter()
                .map(|a| AccessPath::RelatedActivity(*a)),
        );
        paths.extend(k.registration.map(AccessPath::Registration));
    }
    paths.sort_by_key(|p| format!("{p:?}"));
    paths.dedup();
    paths
}

pub async fn purged_statements_leave_every_access_path_and_their_block_neighbours_stay<
    S: PurgeSuiteStore,
>(
    store: &S,
) {
    let tenant = "suite-purge-statements";
    let mut rng = Rng::new(14);
    // One batch: rows share index blocks (several rows per bucket of ~65 ms), over a few buckets
    // and days.
    let rows: Vec<StatementRow> = (0..120u128)
        .map(|n| {
            let stored =
                1_700_000_000_000_000 + (n as i64 % 40) * 30_000 + (n as i64 / 40) * 86_400_000_000;
            let mut keys = keys(
                rng.below(3),
                rng.below(2),
                &[rng.below(5), rng.below(5)],
                &[rng.below(4)],
            );
            if n % 7 == 0 {
                keys.registration = Some(Uuid::from_u128(n % 3 + 1));
            }
            row(tenant, stored, n + 1, keys)
        })
        .collect();
    store.write_statements(&rows).await.unwrap();
    let purged: HashSet<Uuid> = rows
        .iter()
        .filter(|_| rng.below(3) == 0)
        .map(|r| r.id)
        .collect();
    assert!(!purged.is_empty() && purged.len() < rows.len());
    let mut ids: Vec<Uuid> = purged.iter().copied().collect();
    ids.push(Uuid::from_u128(999_999)); // never stored: skipped
    let counts = store.purge_statements(tenant, &ids).await.unwrap();
    assert_eq!(counts.statements, purged.len() as u64);
    assert!(counts.index_blocks > 0);

    for path in paths_of(&rows) {
        let mut expected: Vec<_> = rows
            .iter()
            .filter(|r| !purged.contains(&r.id) && path.includes(&r.keys))
            .map(position)
            .collect();
        expected.sort();
        let got = store.scan(&scan(tenant, path, true, 1_000)).await.unwrap();
        // A backend may return positions of colliding paths; none here (distinct hashes), and
        // never a purged one.
        assert_eq!(got, expected, "{path:?}");
        let mut down = store.scan(&scan(tenant, path, false, 1_000)).await.unwrap();
        down.reverse();
        assert_eq!(down, expected, "{path:?} descending");
    }
    let all_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let got = store.get_statements(tenant, &all_ids).await.unwrap();
    for (row, got) in rows.iter().zip(got) {
        assert_eq!(got.is_none(), purged.contains(&row.id), "{}", row.id);
    }
    // Idempotent: purging again finds nothing.
    let again = store.purge_statements(tenant, &ids).await.unwrap();
    assert_eq!(again.statements, 0);
    assert_eq!(again.index_blocks, 0);
}

pub async fn a_purged_voided_statement_takes_its_marker_and_a_purged_voider_leaves_it<
    S: PurgeSuiteStore,
>(
    store: &S,
) {
    let tenant = "suite-purge-voided";
    let target = row(tenant, 10, 1, keys(1, 1, &[1], &[1]));
    let voider = row(tenant, 20, 2, voiding(target.id));
    let other_target = row(tenant, 30, 3, keys(1, 1, &[1], &[1]));
    let other_voider = row(tenant, 40, 4, voiding(other_target.id));
    store
        .write_statements(&[
            target.clone(),
            voider.clone(),
            other_target.clone(),
            other_voider.clone(),
        ])
        .await
        .unwrap();
    let counts = store
        .purge_statements(tenant, &[target.id, other_voider.id])
        .await
        .unwrap();
    assert_eq!(counts.statements, 2);
    assert_eq!(counts.voided_markers, 1);
    let got = store
        .get_statements(tenant, &[target.id, voider.id, other_target.id])
        .await
        .unwrap();
    assert!(got[0].is_none());
    assert_eq!(got[1].as_ref().map(|s| s.id), Some(voider.id));
    // The target of a purged voider stays voided.
    assert_eq!(
        got[2].as_ref().and_then(|s| s.voided_by),
        Some(other_voider.id)
    );
}

fn attachment(n: u8) -> AttachmentBody {
    AttachmentBody {
        sha2: format!("{n:02x}{}", "0".repeat(62)),
        content_type: "text/plain".into(),
        body: Bytes::from(vec![n; 3_000]),
    }
}

pub async fn purged_attachments_are_gone_and_the_others_stay<S: PurgeSuiteStore>(store: &S) {
    let tenant = "suite-purge-attachments";
    let (a, b) = (attachment(1), attachment(2));
    store
        .put_attachments(tenant, &[a.clone(), b.clone()])
        .await
        .unwrap();
    store
        .put_attachments("suite-purge-attachments-other", std::slice::from_ref(&a))
        .await
        .unwrap();
    let counts = store
        .purge_attachments(tenant, &[a.sha2.clone(), attachment(3).sha2])
        .await
        .unwrap();
    assert_eq!(counts.attachments, 1);
    let got = store
        .get_attachments(tenant, &[a.sha2.clone(), b.sha2.clone()])
        .await
        .unwrap();
    assert_eq!(got, vec![None, Some(b)]);
    let other = store
        .get_attachments(
            "suite-purge-attachments-other",
            std::slice::from_ref(&a.sha2),
        )
        .await
        .unwrap();
    assert_eq!(other, vec![Some(a)]);
}

/// Writes statements (with facts), documents and attachments of `tenant`.
async fn fill<S: PurgeSuiteStore>(store: &S, tenant: &str, n: u128) -> Vec<StatementRow> {
    let first = day(2026, 4, 1);
    let rows: Vec<StatementRow> = (0..n)
        .map(|i| {
            let d = first + (i % 40) as i32;
            with_fact(tenant, i + 1, d, bare_fact(learner(i as u64 % 3), d, 9))
        })
        .collect();
    store.write_statements(&rows).await.unwrap();
    for i in 0..5 {
        store
            .put_document(
                &state_scope(tenant, &format!("scope-{i}")),
                "doc",
                document(&format!("{tenant}-{i}"), 5),
                crate::Precondition::None,
            )
            .await
            .unwrap();
    }
    store
        .put_attachments(tenant, &[attachment(7), attachment(8)])
        .await
        .unwrap();
    rows
}

pub async fn a_tenant_purge_leaves_nothing_of_the_tenant_and_everything_of_another<
    S: PurgeSuiteStore,
>(
    store: &S,
) {
    let (doomed, kept) = ("suite-purge-tenant", "suite-purge-tenant-kept");
    let doomed_rows = fill(store, doomed, 50).await;
    let kept_rows = fill(store, kept, 20).await;
    let mut total = crate::PurgeCounts::default();
    let mut calls = 0;
    loop {
        let counts = store.purge_tenant(doomed, 17).await.unwrap();
        calls += 1;
        if counts == crate::PurgeCounts::default() {
            break;
        }
        total.add(&counts);
        assert!(calls < 1_000, "the purge ends");
    }
    assert!(calls > 2, "small calls: {calls}");
    assert_eq!(total.statements, 50);
    assert_eq!(total.documents, 5);
    assert_eq!(total.attachments, 2);
    assert!(total.other_rows > 0, "facts and summaries");

    let (first, last) = (day(2026, 3, 1), day(2026, 7, 1));
    for (tenant, rows) in [(doomed, &doomed_rows), (kept, &kept_rows)] {
        let alive = tenant == kept;
        let scanned = store
            .scan(&scan(tenant, AccessPath::All, true, 1_000))
            .await
            .unwrap();
        assert_eq!(
            scanned.len(),
            if alive { rows.len() } else { 0 },
            "{tenant}"
        );
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let got = store.get_statements(tenant, &ids).await.unwrap();
        assert!(got.iter().all(|s| s.is_some() == alive), "{tenant}");
        let facts = store.facts(tenant, first, last, None).await.unwrap();
        assert_eq!(facts.len(), if alive { rows.len() } else { 0 }, "{tenant}");
        let month = lrs_schema::month_number(day(2026, 4, 1));
        let summaries = store.month_summaries(tenant, month, None).await.unwrap();
        assert_eq!(summaries.is_empty(), !alive, "{tenant}");
        let documents = store
            .get_document(&state_scope(tenant, "scope-0"), "doc")
            .await
            .unwrap();
        assert_eq!(documents.is_some(), alive, "{tenant}");
        let attachments = store
            .get_attachments(tenant, &[attachment(7).sha2])
            .await
            .unwrap();
        assert_eq!(attachments[0].is_some(), alive, "{tenant}");
    }
    // The tenant writes again after the purge: a fresh start.
    store.write_statements(&doomed_rows[..3]).await.unwrap();
    let scanned = store
        .scan(&scan(doomed, AccessPath::All, true, 1_000))
        .await
        .unwrap();
    assert_eq!(scanned.len(), 3);
}

pub async fn purged_dictionary_entries_are_gone_and_the_others_stay<S: PurgeSuiteStore>(store: &S) {
    let (tenant, other) = ("suite-purge-terms", "suite-purge-terms-other");
    let term = |tenant: &str, text: &str, first_seen: i64| TermRow {
        tenant: tenant.to_owned(),
        dim: ACTOR_TERMS,
        key: Key16::of(text),
        text: text.to_owned(),
        first_seen,
    };
    let (gone, kept) = (
        "mbox::mailto:gone@example.jp",
        "mbox::mailto:kept@example.jp",
    );
    let first_seen = 1_780_000_000_000_000;
    store
        .record_terms(&[
            term(tenant, gone, first_seen),
            term(tenant, kept, first_seen),
            term(other, gone, first_seen),
        ])
        .await
        .unwrap();
    let texts = |rows: Vec<TermRow>| -> Vec<String> {
        let mut texts: Vec<String> = rows.into_iter().map(|t| t.text).collect();
        texts.sort();
        texts
    };
    let counts = store
        .purge_terms(tenant, ACTOR_TERMS, &[Key16::of(gone), Key16::of("never")])
        .await
        .unwrap();
    assert!(counts.other_rows >= 1, "{counts:?}");
    assert_eq!(counts.statements, 0);
    for since in [None, Some(first_seen)] {
        assert_eq!(
            texts(store.terms(tenant, since).await.unwrap()),
            vec![kept.to_owned()],
            "since {since:?}"
        );
        assert_eq!(
            texts(store.terms(other, since).await.unwrap()),
            vec![gone.to_owned()],
            "another tenant's entry stays (since {since:?})"
        );
    }
    let again = store
        .purge_terms(tenant, ACTOR_TERMS, &[Key16::of(gone)])
        .await
        .unwrap();
    assert_eq!(again, crate::PurgeCounts::default(), "idempotent");
    // A new statement of the identifier records it again.
    store
        .record_terms(&[term(tenant, gone, first_seen + 1)])
        .await
        .unwrap();
    assert_eq!(
        texts(store.terms(tenant, Some(first_seen + 1)).await.unwrap())
            .into_iter()
            .filter(|t| t == gone)
            .count(),
        1
    );
}

pub async fn purge_records_are_kept_and_listed_oldest_first<S: PurgeSuiteStore>(store: &S) {
    let record = |n: u128, created: i64, text: &str| PurgeRecord {
        id: Uuid::from_u128(0x5eed_0000 + n),
        created,
        record: Bytes::from(format!(r#"{{"state":"{text}"}}"#)),
    };
    store
        .put_purge_record(&record(2, 200, "running"))
        .await
        .unwrap();
    store
        .put_purge_record(&record(1, 100, "done"))
        .await
        .unwrap();
    store
        .put_purge_record(&record(2, 200, "done"))
        .await
        .unwrap();
    let mine: Vec<PurgeRecord> = store
        .purge_records()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| (0x5eed_0000..0x5eed_0010).contains(&r.id.as_u128()))
        .collect();
    assert_eq!(mine, vec![record(1, 100, "done"), record(2, 200, "done")]);
    // Compaction keeps what was not deleted.
    store.compact().await.unwrap();
    assert!(store.purge_records().await.unwrap().len() >= 2);
}

/// Generates one `#[tokio::test]` per purge suite function, like [`crate::store_suite`].
#[macro_export]
macro_rules! purge_suite {
    ($fresh:path) => {
        $crate::purge_suite!(@list required $fresh);
    };
    (optional $fresh:path) => {
        $crate::purge_suite!(@list optional $fresh);
    };
    (@list $mode:ident $fresh:path) => {
        $crate::store_suite!(@tests $mode $fresh;
            purged_statements_leave_every_access_path_and_their_block_neighbours_stay,
            a_purged_voided_statement_takes_its_marker_and_a_purged_voider_leaves_it,
            purged_attachments_are_gone_and_the_others_stay,
            a_tenant_purge_leaves_nothing_of_the_tenant_and_everything_of_another,
            purged_dictionary_entries_are_gone_and_the_others_stay,
            purge_records_are_kept_and_listed_oldest_first,
        );
    };
}
