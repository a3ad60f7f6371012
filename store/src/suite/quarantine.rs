//! Suite: the quarantine, and the classification of a row a backend can never take.

use bytes::Bytes;
use lrs_schema::DefinitionJson;
use uuid::Uuid;

use super::{Rng, SuiteStore};
use crate::{ActivityDefinitionRow, QuarantinedStatement, StoreErrorKind};

fn quarantined(tenant: &str, id: u128, error: &str) -> QuarantinedStatement {
    QuarantinedStatement {
        tenant: tenant.into(),
        id: Uuid::from_u128(id),
        stored: 1_760_000_000_000_000 + id as i64,
        log_partition: 3,
        log_offset: 40 + id as u64,
        error: error.into(),
        body: Bytes::from(format!(r#"{{"id":"{}","n":"数学"}}"#, Uuid::from_u128(id))),
        quarantined: 1_760_000_100_000_000,
    }
}

pub async fn quarantined_statements_are_kept_whole_and_listed_per_tenant<S: SuiteStore>(store: &S) {
    let (a, b) = ("suite-quarantine-a", "suite-quarantine-b");
    assert!(store.quarantined(Some(a), 10).await.unwrap().is_empty());
    let rows = [
        quarantined(a, 2, "key too long"),
        quarantined(b, 1, "value out of range"),
        quarantined(a, 1, "a NUL \0 in text"),
    ];
    store.quarantine(&rows).await.unwrap();

    let of_a = store.quarantined(Some(a), 10).await.unwrap();
    let ids: Vec<Uuid> = of_a.iter().map(|q| q.id).collect();
    assert_eq!(ids, [Uuid::from_u128(1), Uuid::from_u128(2)], "id order");
    assert_eq!(of_a[1], rows[0], "every field kept");
    assert_eq!(of_a[0].body, rows[2].body);
    assert!(of_a[0].error.starts_with("a NUL"), "{:?}", of_a[0].error);
    assert_eq!(store.quarantined(Some(a), 1).await.unwrap().len(), 1);
    assert_eq!(
        store.quarantined(Some(b), 10).await.unwrap(),
        [rows[1].clone()]
    );

    let every: Vec<(String, Uuid)> = store
        .quarantined(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|q| q.tenant.starts_with("suite-quarantine-"))
        .map(|q| (q.tenant, q.id))
        .collect();
    assert_eq!(every.len(), 3, "{every:?}");
}

pub async fn quarantining_a_statement_again_keeps_one_row<S: SuiteStore>(store: &S) {
    let tenant = "suite-quarantine-replay";
    let first = quarantined(tenant, 7, "first attempt");
    store
        .quarantine(std::slice::from_ref(&first))
        .await
        .unwrap();
    let replayed = QuarantinedStatement {
        error: "replayed".into(),
        quarantined: first.quarantined + 5,
        ..first.clone()
    };
    store
        .quarantine(std::slice::from_ref(&replayed))
        .await
        .unwrap();
    assert_eq!(
        store.quarantined(Some(tenant), 10).await.unwrap(),
        [replayed]
    );
}

/// A purge deletes the quarantined statements it names, of its tenant only; ids that are not
/// quarantined are ignored, and purging them again changes nothing.
pub async fn purged_quarantined_statements_are_gone_and_the_rest_stay<S: SuiteStore>(store: &S) {
    let (a, b) = ("suite-quarantine-purge-a", "suite-quarantine-purge-b");
    let rows: Vec<QuarantinedStatement> = (1..=4)
        .map(|n| quarantined(a, n, "refused"))
        .chain([quarantined(b, 2, "refused")])
        .collect();
    store.quarantine(&rows).await.unwrap();
    let doomed = [Uuid::from_u128(2), Uuid::from_u128(4), Uuid::from_u128(99)];
    for _ in 0..2 {
        store.purge_quarantined(a, &doomed).await.unwrap();
        let ids = |tenant| async move {
            let rows = store.quarantined(Some(tenant), 10).await.unwrap();
            rows.into_iter().map(|q| q.id.as_u128()).collect::<Vec<_>>()
        };
        assert_eq!(ids(a).await, [1, 3]);
        assert_eq!(
            ids(b).await,
            [2],
            "another tenant's row with a purged id stays"
        );
    }
    store.purge_quarantined(a, &[]).await.unwrap();
    assert_eq!(store.quarantined(Some(a), 10).await.unwrap().len(), 2);
}

/// An Activity Definition under an id of over 70,000 bytes: beyond fjall's 65,535-byte keys,
/// PostgreSQL's btree index rows and Scylla's 64 KiB partition keys. Whatever the backend, it is
/// refused as `Rejected` (retrying cannot help), never as `Unavailable` or with a panic, and the
/// store keeps working.
pub async fn a_row_beyond_the_backends_limits_is_rejected_not_unavailable<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-rejected";
    let definition = DefinitionJson::from_slice(r#"{"name":{"ja-JP":"長い"}}"#.as_bytes()).unwrap();
    // Random hex: a repeated letter would compress into PostgreSQL's index rows.
    let mut rng = Rng::new(16);
    let noise: String = (0..70_000)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect();
    let long_id = format!("https://x.example.jp/{noise}");
    let err = store
        .merge_activity_definitions(&[ActivityDefinitionRow {
            tenant: tenant.into(),
            activity_id: long_id,
            definition: definition.clone(),
        }])
        .await
        .expect_err("an id beyond every backend's key limit");
    assert_eq!(err.kind(), StoreErrorKind::Rejected, "{err}");

    let short = ActivityDefinitionRow {
        tenant: tenant.into(),
        activity_id: "https://x.example.jp/short".into(),
        definition: definition.clone(),
    };
    store.merge_activity_definitions(&[short]).await.unwrap();
    assert_eq!(
        store
            .get_activity_definition(tenant, "https://x.example.jp/short")
            .await
            .unwrap(),
        Some(definition)
    );
}
