//! Suite: documents and their preconditions.

use super::SuiteStore;
use super::fixtures::*;
use crate::{DocumentAddress, DocumentKind, DocumentScope, Precondition, StoreErrorKind};

pub async fn documents_can_be_put_read_listed_and_deleted<S: SuiteStore>(store: &S) {
    let scope = state_scope("suite-docs", "activity=a&agent=b");
    for (id, updated) in [("a", 10), ("b", 20), ("c", 30)] {
        store
            .put_document(&scope, id, document(id, updated), Precondition::None)
            .await
            .unwrap();
    }
    assert_eq!(
        store.get_document(&scope, "b").await.unwrap(),
        Some(document("b", 20))
    );
    assert_eq!(store.get_document(&scope, "z").await.unwrap(), None);
    assert_eq!(
        sorted(store.list_documents(&scope, None).await.unwrap()),
        ["a", "b", "c"]
    );
    assert_eq!(
        store.list_documents(&scope, Some(20)).await.unwrap(),
        ["c"],
        "since is exclusive"
    );
    assert!(
        store
            .list_documents(&scope, Some(30))
            .await
            .unwrap()
            .is_empty()
    );

    let replaced = document("a-v2", 40);
    store
        .put_document(&scope, "a", replaced.clone(), Precondition::None)
        .await
        .unwrap();
    assert_eq!(
        store.get_document(&scope, "a").await.unwrap(),
        Some(replaced)
    );
    assert_eq!(
        sorted(store.list_documents(&scope, Some(25)).await.unwrap()),
        ["a", "c"]
    );

    assert!(
        store
            .delete_document(&scope, "b", Precondition::None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_document(&scope, "b", Precondition::None)
            .await
            .unwrap()
    );
    assert_eq!(store.get_document(&scope, "b").await.unwrap(), None);

    store.delete_documents(&scope).await.unwrap();
    assert!(store.list_documents(&scope, None).await.unwrap().is_empty());
    assert_eq!(store.get_document(&scope, "c").await.unwrap(), None);
}

pub async fn document_preconditions_are_checked<S: SuiteStore>(store: &S) {
    let scope = state_scope("suite-preconditions", "s");
    let failed = StoreErrorKind::PreconditionFailed;
    let first = document("first", 1);
    store
        .put_document(&scope, "d", first.clone(), Precondition::IfAbsent)
        .await
        .unwrap();
    let err = store
        .put_document(&scope, "d", document("second", 2), Precondition::IfAbsent)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), failed, "IfAbsent when present");
    let err = store
        .put_document(&scope, "d", document("second", 2), if_match("0000"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), failed, "IfMatch with a wrong etag");
    let err = store
        .put_document(&scope, "absent", document("x", 2), if_match(&first.etag))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), failed, "IfMatch when absent");
    assert_eq!(
        store.get_document(&scope, "d").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_document(&scope, "absent").await.unwrap(), None);

    let second = document("second", 2);
    store
        .put_document(&scope, "d", second.clone(), if_match(&first.etag))
        .await
        .unwrap();
    let err = store
        .delete_document(&scope, "d", if_match(&first.etag))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), failed, "delete with a stale etag");
    assert_eq!(
        store.get_document(&scope, "d").await.unwrap(),
        Some(second.clone())
    );
    assert!(
        store
            .delete_document(&scope, "d", if_match(&second.etag))
            .await
            .unwrap()
    );
    assert_eq!(store.get_document(&scope, "d").await.unwrap(), None);
}

pub async fn concurrent_creates_with_if_absent_let_exactly_one_win<S: SuiteStore>(store: &S) {
    let scope = state_scope("suite-race", "s");
    for round in 0..5 {
        let id = format!("doc-{round}");
        let put = |n: i64| {
            store.put_document(
                &scope,
                &id,
                document(&format!("w{n}"), n),
                Precondition::IfAbsent,
            )
        };
        let results = tokio::join!(put(1), put(2), put(3), put(4));
        let results = [results.0, results.1, results.2, results.3];
        let winners: Vec<usize> = (0..4).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(e) = result {
                assert_eq!(e.kind(), StoreErrorKind::PreconditionFailed);
            }
        }
        let stored = store.get_document(&scope, &id).await.unwrap().unwrap();
        assert_eq!(
            stored,
            document(&format!("w{}", winners[0] + 1), winners[0] as i64 + 1)
        );
    }
}

pub async fn document_scopes_kinds_and_tenants_are_isolated<S: SuiteStore>(store: &S) {
    // "s" is a byte prefix of "s2" and "suite-iso" of "suite-iso-2".
    let scopes = [
        state_scope("suite-iso", "s"),
        state_scope("suite-iso", "s2"),
        DocumentScope {
            kind: DocumentKind::AgentProfile,
            ..state_scope("suite-iso", "s")
        },
        DocumentScope {
            kind: DocumentKind::ActivityProfile,
            ..state_scope("suite-iso", "s")
        },
        state_scope("suite-iso-2", "s"),
    ];
    for (n, scope) in scopes.iter().enumerate() {
        store
            .put_document(
                scope,
                "same-id",
                document(&format!("doc{n}"), n as i64),
                Precondition::None,
            )
            .await
            .unwrap();
    }
    store
        .put_document(
            &scopes[1],
            "only-in-s2",
            document("x", 9),
            Precondition::None,
        )
        .await
        .unwrap();
    for (n, scope) in scopes.iter().enumerate() {
        let got = store.get_document(scope, "same-id").await.unwrap();
        assert_eq!(
            got,
            Some(document(&format!("doc{n}"), n as i64)),
            "{scope:?}"
        );
    }
    assert_eq!(
        store.list_documents(&scopes[0], None).await.unwrap(),
        ["same-id"]
    );
    assert_eq!(
        store.get_document(&scopes[0], "only-in-s2").await.unwrap(),
        None
    );

    store.delete_documents(&scopes[0]).await.unwrap();
    assert_eq!(
        store.get_document(&scopes[0], "same-id").await.unwrap(),
        None
    );
    for scope in &scopes[1..] {
        assert!(
            store
                .get_document(scope, "same-id")
                .await
                .unwrap()
                .is_some(),
            "{scope:?}"
        );
    }
    assert_eq!(
        sorted(store.list_documents(&scopes[1], None).await.unwrap()),
        ["only-in-s2", "same-id"]
    );
}

/// The API's document changes are compare-and-set loops: read, decide, write `IfMatch` the etag
/// read (or `IfAbsent`), and decide again when refused. Four writers interleaving such loops
/// must apply every one of their increments.
pub async fn compare_and_set_loops_never_lose_an_update<S: SuiteStore>(store: &S) {
    let scope = state_scope("suite-cas", "s");
    let counter = |n: i64| document(&format!("count-{n}"), n);
    let increment_ten_times = || async {
        let mut retries = 0;
        for _ in 0..10 {
            loop {
                let current = store.get_document(&scope, "counter").await.unwrap();
                let (next, expected) = match &current {
                    Some(doc) => (doc.updated + 1, if_match(&doc.etag)),
                    None => (1, Precondition::IfAbsent),
                };
                match store
                    .put_document(&scope, "counter", counter(next), expected)
                    .await
                {
                    Ok(()) => break,
                    Err(e) => {
                        assert_eq!(e.kind(), StoreErrorKind::PreconditionFailed);
                        retries += 1;
                    }
                }
            }
        }
        retries
    };
    let retries = tokio::join!(
        increment_ten_times(),
        increment_ten_times(),
        increment_ten_times(),
        increment_ten_times()
    );
    let stored = store.get_document(&scope, "counter").await.unwrap();
    assert_eq!(stored, Some(counter(40)), "retries: {retries:?}");
}

pub async fn deleting_a_missing_document_reports_it_and_checks_preconditions<S: SuiteStore>(
    store: &S,
) {
    let scope = state_scope("suite-missing", "s");
    assert!(
        !store
            .delete_document(&scope, "none", Precondition::None)
            .await
            .unwrap()
    );
    let err = store
        .delete_document(&scope, "none", if_match("0000"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::PreconditionFailed);
    assert!(
        !store
            .delete_document(&scope, "none", Precondition::IfAbsent)
            .await
            .unwrap()
    );
    store.delete_documents(&scope).await.unwrap();
    assert!(store.list_documents(&scope, None).await.unwrap().is_empty());
}

/// The API builds scopes and ids from IRIs, agent identifiers, registrations and client ids:
/// any UTF-8, NUL and newlines included, must round-trip, and an id that is a prefix of
/// another must stay apart from it.
pub async fn document_ids_and_scopes_are_any_utf8<S: SuiteStore>(store: &S) {
    let scope = state_scope(
        "suite-utf8",
        "https://drill.example.jp/単元/1\naccount::https://eportal.example.jp::生徒",
    );
    let ids = [
        "\u{0}しおり",
        "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b\u{0}しおり",
        "a",
        "ab",
        "a\nb",
    ];
    for (n, id) in ids.iter().enumerate() {
        store
            .put_document(&scope, id, document(id, n as i64), Precondition::IfAbsent)
            .await
            .unwrap();
    }
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            store.get_document(&scope, id).await.unwrap(),
            Some(document(id, n as i64)),
            "{id:?}"
        );
    }
    let mut expected: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(
        sorted(store.list_documents(&scope, None).await.unwrap()),
        expected
    );
}

/// What a learner's export reads: every State document of the agent whatever the activity and
/// registration, and its Agent Profile documents; never another agent's (even one whose
/// identifier ends like this one's), another tenant's or an Activity Profile.
pub async fn an_agents_documents_are_listed_across_activities_and_registrations<S: SuiteStore>(
    store: &S,
) {
    let tenant = "suite-agent-docs";
    let agent = "mbox::mailto:hanako@example.jp";
    let scope = |tenant: &str, kind: DocumentKind, scope: String| DocumentScope {
        tenant: tenant.into(),
        kind,
        scope,
    };
    let mut expected = Vec::new();
    let mut put = |scope: DocumentScope, id: &str, mine: bool| {
        let address = DocumentAddress {
            scope,
            id: id.to_owned(),
        };
        if mine {
            expected.push(address.clone());
        }
        address
    };
    let writes = [
        put(
            scope(
                tenant,
                DocumentKind::State,
                format!("https://a.example.jp/1\n{agent}"),
            ),
            "\0bookmark",
            true,
        ),
        put(
            scope(
                tenant,
                DocumentKind::State,
                format!("https://a.example.jp/1\n{agent}"),
            ),
            "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b\0bookmark",
            true,
        ),
        put(
            scope(
                tenant,
                DocumentKind::State,
                format!("https://b.example.jp/2\n{agent}"),
            ),
            "\0progress",
            true,
        ),
        put(
            scope(tenant, DocumentKind::AgentProfile, agent.to_owned()),
            "preferences",
            true,
        ),
        // Another agent, whose identifier ends with this one's.
        put(
            scope(
                tenant,
                DocumentKind::State,
                format!("https://a.example.jp/1\nx{agent}"),
            ),
            "\0bookmark",
            false,
        ),
        put(
            scope(tenant, DocumentKind::AgentProfile, format!("x{agent}")),
            "preferences",
            false,
        ),
        // An activity's profile, and the same agent in another tenant.
        put(
            scope(tenant, DocumentKind::ActivityProfile, agent.to_owned()),
            "profile",
            false,
        ),
        put(
            scope(
                "suite-agent-docs-2",
                DocumentKind::State,
                format!("https://a.example.jp/1\n{agent}"),
            ),
            "\0bookmark",
            false,
        ),
    ];
    for (n, address) in writes.iter().enumerate() {
        store
            .put_document(
                &address.scope,
                &address.id,
                document(&format!("d{n}"), 10 + n as i64),
                Precondition::None,
            )
            .await
            .unwrap();
    }
    expected.sort();
    assert_eq!(
        store.agent_documents(tenant, agent).await.unwrap(),
        expected
    );
    assert!(
        store
            .agent_documents(tenant, "mbox::mailto:nobody@example.jp")
            .await
            .unwrap()
            .is_empty()
    );
}
