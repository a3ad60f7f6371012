//! Suite: study-log facts written with their statements, month summaries, voiding in both
//! orders, reads by day, month and actor, dictionaries, tenancy.

use std::collections::BTreeMap;

use lrs_schema::envelope::Key16;
use lrs_schema::{DimKey, MonthSummary, StudyFact, StudyRow, civil_date, month_number};
use uuid::Uuid;

use super::SuiteStore;
use super::fixtures::*;
use crate::{ACTOR_TERMS, FactRow, StatementRow, StoreErrorKind, TermRow};

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;

/// Days since 1970-01-01 of a civil date.
pub(super) fn day(year: i32, month: u8, day_of_month: u8) -> i32 {
    // Every year has at least 365 days: start at or before the date and walk forward.
    let mut n = (year - 1970) * 365 - 400;
    while civil_date(n) != (year, month, day_of_month) {
        n += 1;
    }
    n
}

pub(super) fn learner(n: u64) -> Key16 {
    Key16::of(&format!("mbox::mailto:learner-{n}@school.example.jp"))
}

/// A fact of `actor` at `hour` o'clock of `day`, without a result.
pub(super) fn bare_fact(actor: Key16, day: i32, hour: i64) -> StudyFact {
    StudyFact {
        timestamp: i64::from(day) * DAY_MICROS + hour * HOUR_MICROS,
        actor,
        tool: DimKey::of("https://drill.example.jp"),
        verb: DimKey::of("http://adlnet.gov/expapi/verbs/answered"),
        activity: DimKey::of("https://drill.example.jp/items/1"),
        activity_type: DimKey::NONE,
        subject: DimKey::of("算数"),
        curriculum_code: DimKey::NONE,
        duration_ms: None,
        success: None,
        completion: None,
        scaled: None,
    }
}

/// A statement row carrying `fact` on `day`.
pub(super) fn with_fact(tenant: &str, id: u128, day: i32, fact: StudyFact) -> StatementRow {
    StatementRow {
        study: Some(StudyRow { day, fact }),
        ..row(tenant, 1_000 + id as i64, id, keys(1, 1, &[1], &[1]))
    }
}

/// The summaries the facts of `rows` make, computed here from the rows themselves.
fn model_summaries(rows: &[&StatementRow]) -> BTreeMap<(i32, Key16), MonthSummary> {
    let mut out: BTreeMap<(i32, Key16), MonthSummary> = BTreeMap::new();
    for row in rows {
        let study = row.study.as_ref().expect("a row with a fact");
        out.entry((month_number(study.day), study.fact.actor))
            .or_default()
            .add(&study.fact, civil_date(study.day).2);
    }
    out
}

fn fact_rows(rows: &[&StatementRow]) -> Vec<FactRow> {
    let mut out: Vec<FactRow> = rows
        .iter()
        .map(|r| {
            let study = r.study.expect("a row with a fact");
            FactRow {
                day: study.day,
                id: r.id,
                fact: study.fact,
            }
        })
        .collect();
    out.sort_by_key(|f| f.id);
    out
}

async fn facts_of<S: SuiteStore>(
    store: &S,
    tenant: &str,
    days: std::ops::Range<i32>,
    actors: Option<&[Key16]>,
) -> Vec<FactRow> {
    let mut got = store
        .facts(tenant, days.start, days.end, actors)
        .await
        .unwrap();
    got.sort_by_key(|f| f.id);
    got
}

async fn summaries_of<S: SuiteStore>(
    store: &S,
    tenant: &str,
    month: i32,
    actors: Option<&[Key16]>,
) -> BTreeMap<(i32, Key16), MonthSummary> {
    let got = store.month_summaries(tenant, month, actors).await.unwrap();
    let count = got.len();
    let map: BTreeMap<(i32, Key16), MonthSummary> =
        got.into_iter().map(|(a, s)| ((month, a), s)).collect();
    assert_eq!(map.len(), count, "one summary per actor");
    map
}

/// The model's summaries of one month.
fn of_month(
    model: &BTreeMap<(i32, Key16), MonthSummary>,
    month: i32,
) -> BTreeMap<(i32, Key16), MonthSummary> {
    model
        .iter()
        .filter(|((m, _), _)| *m == month)
        .map(|(k, v)| (*k, *v))
        .collect()
}

pub async fn facts_and_month_summaries_are_written_with_their_statements<S: SuiteStore>(store: &S) {
    let tenant = "suite-facts-written";
    let (a, b) = (learner(1), learner(2));
    let (oct_1, oct_5, oct_31, nov_1) = (
        day(2025, 10, 1),
        day(2025, 10, 5),
        day(2025, 10, 31),
        day(2025, 11, 1),
    );
    let first = with_fact(
        tenant,
        1,
        oct_1,
        StudyFact {
            duration_ms: Some(60_000),
            success: Some(true),
            completion: Some(true),
            scaled: Some(0.5),
            ..bare_fact(a, oct_1, 10)
        },
    );
    let second = with_fact(
        tenant,
        2,
        oct_5,
        StudyFact {
            duration_ms: Some(30_000),
            success: Some(false),
            scaled: Some(0.25),
            ..bare_fact(a, oct_5, 9)
        },
    );
    let last_of_october = with_fact(tenant, 3, oct_31, bare_fact(a, oct_31, 23));
    let other_learner = with_fact(
        tenant,
        4,
        oct_5,
        StudyFact {
            duration_ms: Some(1_000),
            completion: Some(false),
            ..bare_fact(b, oct_5, 8)
        },
    );
    let no_fact = row(tenant, 1_005, 5, keys(1, 1, &[1], &[1]));
    let november = with_fact(
        tenant,
        6,
        nov_1,
        StudyFact {
            success: Some(true),
            ..bare_fact(a, nov_1, 12)
        },
    );
    store
        .write_statements(&[
            first.clone(),
            second.clone(),
            last_of_october.clone(),
            other_learner.clone(),
            no_fact.clone(),
        ])
        .await
        .unwrap();
    store
        .write_statements(std::slice::from_ref(&november))
        .await
        .unwrap();

    let with_facts = [&first, &second, &last_of_october, &other_learner, &november];
    assert_eq!(
        facts_of(store, tenant, oct_1..nov_1 + 1, None).await,
        fact_rows(&with_facts),
        "every fact, and none for the statement without one"
    );
    let october = month_number(oct_1);
    let got = summaries_of(store, tenant, october, None).await;
    let expected_a = MonthSummary {
        statements: 3,
        answered: 2,
        correct: 1,
        completions: 1,
        learning_ms: 90_000,
        scaled_sum: 0.75,
        scaled_count: 2,
        last_active: last_of_october.study.unwrap().fact.timestamp,
        active_days: 1 | 1 << 4 | 1 << 30,
    };
    let expected_b = MonthSummary {
        statements: 1,
        answered: 0,
        correct: 0,
        completions: 0,
        learning_ms: 1_000,
        scaled_sum: 0.0,
        scaled_count: 0,
        last_active: other_learner.study.unwrap().fact.timestamp,
        active_days: 1 << 4,
    };
    assert_eq!(
        got,
        BTreeMap::from([((october, a), expected_a), ((october, b), expected_b)])
    );
    assert_eq!(got, of_month(&model_summaries(&with_facts), october));
    let got = summaries_of(store, tenant, month_number(nov_1), None).await;
    assert_eq!(
        got,
        of_month(&model_summaries(&with_facts), month_number(nov_1))
    );
    assert_eq!(got[&(month_number(nov_1), a)].correct, 1);
}

pub async fn facts_written_again_are_held_and_counted_once<S: SuiteStore>(store: &S) {
    let tenant = "suite-facts-again";
    let start = day(2025, 10, 1);
    let rows: Vec<StatementRow> = (0..12u64)
        .map(|i| {
            let day = start + (i % 4) as i32;
            with_fact(
                tenant,
                u128::from(i) + 1,
                day,
                StudyFact {
                    duration_ms: Some(1_000 * i as u32),
                    success: Some(i % 3 == 0),
                    scaled: Some(i as f32 / 8.0),
                    ..bare_fact(learner(i % 3), day, i as i64)
                },
            )
        })
        .collect();
    store.write_statements(&rows[..8]).await.unwrap();
    // The same rows again, a row twice in one batch, and new rows beside old ones.
    store.write_statements(&rows[..8]).await.unwrap();
    let mut mixed = vec![rows[2].clone(), rows[2].clone()];
    mixed.extend_from_slice(&rows[6..]);
    store.write_statements(&mixed).await.unwrap();
    // Two writers of the same rows at once (concurrent ingest instances, a replay).
    let (one, two) = tokio::join!(store.write_statements(&rows), store.write_statements(&rows));
    one.unwrap();
    two.unwrap();

    let all: Vec<&StatementRow> = rows.iter().collect();
    assert_eq!(
        facts_of(store, tenant, start..start + 4, None).await,
        fact_rows(&all)
    );
    let month = month_number(start);
    assert_eq!(
        summaries_of(store, tenant, month, None).await,
        of_month(&model_summaries(&all), month),
        "each fact counted once"
    );
}

pub async fn a_voided_statement_has_no_fact_whichever_is_written_first<S: SuiteStore>(store: &S) {
    let tenant = "suite-facts-voided";
    let (a, b) = (learner(1), learner(2));
    let oct = |d| day(2025, 10, d);
    let nov_3 = day(2025, 11, 3);
    // The voiding statement first, its target in a later batch.
    let target_later = with_fact(tenant, 1, oct(3), bare_fact(a, oct(3), 10));
    let voids_early = row(tenant, 2_000, 101, voiding(target_later.id));
    store
        .write_statements(std::slice::from_ref(&voids_early))
        .await
        .unwrap();
    store
        .write_statements(std::slice::from_ref(&target_later))
        .await
        .unwrap();
    // Both in one batch, in either order.
    let same_batch = with_fact(tenant, 2, oct(4), bare_fact(a, oct(4), 10));
    let same_batch_2 = with_fact(tenant, 3, oct(4), bare_fact(b, oct(4), 11));
    store
        .write_statements(&[
            same_batch.clone(),
            row(tenant, 2_001, 102, voiding(same_batch.id)),
            row(tenant, 2_002, 103, voiding(same_batch_2.id)),
            same_batch_2.clone(),
        ])
        .await
        .unwrap();

    // Targets written first; their voiding statements later, then `void_facts`.
    let latest = with_fact(
        tenant,
        4,
        oct(20),
        StudyFact {
            success: Some(true),
            scaled: Some(1.0),
            ..bare_fact(a, oct(20), 15)
        },
    );
    let kept = with_fact(
        tenant,
        5,
        oct(2),
        StudyFact {
            duration_ms: Some(5_000),
            ..bare_fact(a, oct(2), 9)
        },
    );
    let only_one_of_b = with_fact(tenant, 6, oct(7), bare_fact(b, oct(7), 9));
    let next_month = with_fact(tenant, 7, nov_3, bare_fact(a, nov_3, 9));
    store
        .write_statements(&[
            latest.clone(),
            kept.clone(),
            only_one_of_b.clone(),
            next_month.clone(),
        ])
        .await
        .unwrap();
    let october = month_number(oct(1));
    assert_eq!(
        summaries_of(store, tenant, october, None).await,
        of_month(&model_summaries(&[&latest, &kept, &only_one_of_b]), october),
        "the statements voided before their facts were written count nowhere"
    );
    store
        .write_statements(&[
            row(tenant, 3_000, 104, voiding(latest.id)),
            row(tenant, 3_001, 105, voiding(only_one_of_b.id)),
        ])
        .await
        .unwrap();
    let targets = [
        (oct(20), a, latest.id),
        (oct(7), b, only_one_of_b.id),
        // Not held: skipped.
        (oct(9), a, Uuid::from_u128(999)),
    ];
    store.void_facts(tenant, &targets).await.unwrap();

    let left = [&kept, &next_month];
    let check = || async {
        assert_eq!(
            facts_of(store, tenant, oct(1)..nov_3 + 1, None).await,
            fact_rows(&left)
        );
        // The summary is recomputed from the facts left: last_active and active_days move back.
        assert_eq!(
            summaries_of(store, tenant, october, None).await,
            of_month(&model_summaries(&left), october)
        );
        assert_eq!(
            summaries_of(store, tenant, october, Some(&[b])).await,
            BTreeMap::new(),
            "an emptied summary disappears"
        );
        assert_eq!(
            summaries_of(store, tenant, month_number(nov_3), None).await,
            of_month(&model_summaries(&left), month_number(nov_3)),
            "other months are untouched"
        );
    };
    check().await;
    // Idempotent: both sides of a voiding race may call it, and a replay calls it again.
    store.void_facts(tenant, &targets).await.unwrap();
    store.void_facts(tenant, &[]).await.unwrap();
    check().await;
    // A stored voided target written again (a replay) gets no fact back.
    store
        .write_statements(std::slice::from_ref(&latest))
        .await
        .unwrap();
    check().await;
}

pub async fn facts_are_read_by_day_range_and_actor_list<S: SuiteStore>(store: &S) {
    let tenant = "suite-facts-ranges";
    // Days on both sides of the epoch: day numbers may be negative.
    let base = -3;
    let mut rows = Vec::new();
    for actor in 0..3u64 {
        for d in 0..10 {
            let id = u128::from(actor) * 100 + d as u128 + 1;
            rows.push(with_fact(
                tenant,
                id,
                base + d,
                bare_fact(learner(actor), base + d, 12),
            ));
        }
    }
    store.write_statements(&rows).await.unwrap();
    let expected = |days: std::ops::Range<i32>, actors: &[u64]| {
        let wanted: Vec<&StatementRow> = rows
            .iter()
            .filter(|r| {
                let study = r.study.unwrap();
                days.contains(&study.day) && actors.iter().any(|a| learner(*a) == study.fact.actor)
            })
            .collect();
        fact_rows(&wanted)
    };

    assert_eq!(
        facts_of(store, tenant, base + 2..base + 5, None).await,
        expected(base + 2..base + 5, &[0, 1, 2]),
        "the last day is exclusive"
    );
    assert_eq!(
        facts_of(
            store,
            tenant,
            base..base + 10,
            Some(&[learner(0), learner(2)])
        )
        .await,
        expected(base..base + 10, &[0, 2])
    );
    assert_eq!(
        facts_of(
            store,
            tenant,
            base + 1..base + 4,
            Some(&[learner(1), learner(77)])
        )
        .await,
        expected(base + 1..base + 4, &[1]),
        "an actor without facts adds nothing"
    );
    assert!(
        facts_of(store, tenant, base..base + 10, Some(&[]))
            .await
            .is_empty()
    );
    assert!(
        facts_of(store, tenant, base + 4..base + 4, None)
            .await
            .is_empty()
    );
    assert!(
        facts_of(store, tenant, base + 5..base + 2, None)
            .await
            .is_empty()
    );
    assert!(
        facts_of(store, "suite-facts-ranges-nobody", base..base + 10, None)
            .await
            .is_empty()
    );
    // A long actor list over many days (more (day, actor) pairs than a backend may look up one
    // by one) finds the same facts.
    let mut many: Vec<Key16> = (100..300).map(learner).collect();
    many.push(learner(1));
    assert_eq!(
        facts_of(store, tenant, base - 30..base + 30, Some(&many)).await,
        expected(base - 30..base + 30, &[1])
    );
}

pub async fn month_summaries_are_read_by_month_with_and_without_actors<S: SuiteStore>(store: &S) {
    let tenant = "suite-month-summaries";
    let mut rows = Vec::new();
    for (i, (actor, date)) in [
        (0, day(2025, 9, 30)),
        (0, day(2025, 10, 1)),
        (1, day(2025, 10, 15)),
        (2, day(2025, 10, 31)),
        (2, day(2025, 10, 31)),
        (1, day(2025, 11, 1)),
        (0, day(1969, 12, 31)),
    ]
    .into_iter()
    .enumerate()
    {
        rows.push(with_fact(
            tenant,
            i as u128 + 1,
            date,
            bare_fact(learner(actor), date, i as i64),
        ));
    }
    store.write_statements(&rows).await.unwrap();
    let all: Vec<&StatementRow> = rows.iter().collect();
    let model = model_summaries(&all);
    let october = 2025 * 12 + 9;
    assert_eq!(
        summaries_of(store, tenant, october, None).await,
        of_month(&model, october)
    );
    assert_eq!(summaries_of(store, tenant, october, None).await.len(), 3);
    let some = summaries_of(store, tenant, october, Some(&[learner(2), learner(9)])).await;
    assert_eq!(
        some,
        BTreeMap::from([((october, learner(2)), model[&(october, learner(2))])])
    );
    assert_eq!(some[&(october, learner(2))].statements, 2);
    for month in [october - 1, october + 1, 1969 * 12 + 11] {
        assert_eq!(
            summaries_of(store, tenant, month, None).await,
            of_month(&model, month)
        );
    }
    assert!(
        summaries_of(store, tenant, october + 2, None)
            .await
            .is_empty()
    );
    assert!(
        summaries_of(store, tenant, october, Some(&[]))
            .await
            .is_empty()
    );
}

pub async fn tenants_never_see_each_others_facts_or_summaries<S: SuiteStore>(store: &S) {
    let (one, two) = ("suite-facts-tenant-1", "suite-facts-tenant-2");
    let date = day(2025, 10, 6);
    let a = learner(1);
    // The same statement id, actor and day in both tenants, with different facts.
    let in_one = with_fact(one, 1, date, bare_fact(a, date, 9));
    let in_two = with_fact(
        two,
        1,
        date,
        StudyFact {
            duration_ms: Some(42),
            ..bare_fact(a, date, 10)
        },
    );
    store
        .write_statements(&[in_one.clone(), in_two.clone()])
        .await
        .unwrap();
    let month = month_number(date);
    for (tenant, row) in [(one, &in_one), (two, &in_two)] {
        assert_eq!(
            facts_of(store, tenant, date..date + 1, None).await,
            fact_rows(&[row])
        );
        assert_eq!(
            facts_of(store, tenant, date..date + 1, Some(&[a])).await,
            fact_rows(&[row])
        );
        assert_eq!(
            summaries_of(store, tenant, month, None).await,
            model_summaries(&[row])
        );
    }
    store
        .void_facts(one, &[(date, a, in_one.id)])
        .await
        .unwrap();
    assert!(facts_of(store, one, date..date + 1, None).await.is_empty());
    assert!(summaries_of(store, one, month, None).await.is_empty());
    assert_eq!(
        facts_of(store, two, date..date + 1, None).await,
        fact_rows(&[&in_two]),
        "voiding in one tenant leaves the other's fact"
    );
    assert_eq!(
        summaries_of(store, two, month, None).await,
        model_summaries(&[&in_two])
    );
}

fn term(tenant: &str, dim: u8, text: &str, first_seen: i64) -> TermRow {
    TermRow {
        tenant: tenant.into(),
        dim,
        key: Key16::of(text),
        text: text.into(),
        first_seen,
    }
}

async fn terms_of<S: SuiteStore>(store: &S, tenant: &str, since: Option<i64>) -> Vec<TermRow> {
    let mut got = store.terms(tenant, since).await.unwrap();
    got.sort_by_key(|t| (t.dim, t.key));
    got
}

fn sorted(mut terms: Vec<TermRow>) -> Vec<TermRow> {
    terms.sort_by_key(|t| (t.dim, t.key));
    terms
}

pub async fn terms_are_recorded_once_and_listed_since_a_time<S: SuiteStore>(store: &S) {
    let tenant = "suite-terms";
    let micros = |d: i32| i64::from(d) * DAY_MICROS;
    let (april, september, october) = (
        micros(day(2025, 4, 1)),
        micros(day(2025, 9, 15)),
        micros(day(2025, 10, 1)),
    );
    let actor = term(
        tenant,
        ACTOR_TERMS,
        "mbox::mailto:learner-1@school.example.jp",
        april,
    );
    let verb = term(tenant, 2, "http://adlnet.gov/expapi/verbs/answered", april);
    // Text is any UTF-8, NUL included.
    let subject = term(tenant, 5, "算数\0数と計算", september);
    store
        .record_terms(&[actor.clone(), verb.clone()])
        .await
        .unwrap();
    store
        .record_terms(&[
            subject.clone(),
            // Recorded again later: the entry keeps its first `first_seen`.
            TermRow {
                first_seen: october,
                ..actor.clone()
            },
        ])
        .await
        .unwrap();
    store.record_terms(&[]).await.unwrap();
    store
        .record_terms(&[term(
            "suite-terms-other",
            3,
            "https://drill.example.jp/1",
            october,
        )])
        .await
        .unwrap();

    let every = sorted(vec![actor.clone(), verb.clone(), subject.clone()]);
    assert_eq!(terms_of(store, tenant, None).await, every);
    assert_eq!(
        terms_of(store, tenant, Some(april)).await,
        every,
        "since is inclusive"
    );
    assert_eq!(
        terms_of(store, tenant, Some(april + 1)).await,
        vec![subject.clone()]
    );
    assert_eq!(
        terms_of(store, tenant, Some(september)).await,
        vec![subject.clone()]
    );
    assert!(
        terms_of(store, tenant, Some(october)).await.is_empty(),
        "recording a held entry again lists nothing new"
    );
    assert!(terms_of(store, "suite-terms-nobody", None).await.is_empty());
    assert_eq!(terms_of(store, "suite-terms-other", None).await.len(), 1);

    let err = store
        .record_terms(&[term(tenant, 200, "a dimension nobody has", april)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Rejected, "{err}");
}

pub async fn study_tenants_lists_every_tenant_with_facts_or_a_roster<S: SuiteStore>(store: &S) {
    let with_facts = "suite-study-tenants-facts";
    let with_roster = "suite-study-tenants-roster";
    let date = day(2025, 10, 6);
    store
        .write_statements(&[with_fact(
            with_facts,
            1,
            date,
            bare_fact(learner(1), date, 9),
        )])
        .await
        .unwrap();
    store
        .write_statements(&[with_fact(
            with_facts,
            2,
            date,
            bare_fact(learner(2), date, 9),
        )])
        .await
        .unwrap();
    store
        .commit_roster(with_roster, &super::roster::version(1), &[])
        .await
        .unwrap();
    let tenants = store.study_tenants().await.unwrap();
    for tenant in [with_facts, with_roster] {
        assert_eq!(
            tenants.iter().filter(|t| *t == tenant).count(),
            1,
            "{tenant} once in {tenants:?}"
        );
    }
    assert!(!tenants.iter().any(|t| t == "suite-study-tenants-nobody"));
}
