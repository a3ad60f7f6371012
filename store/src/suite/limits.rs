//! Suite: the largest values the API lets into a key are stored by every backend.
//!
//! The API refuses larger values before it acknowledges anything (`lrs_schema::limits`), so an
//! acknowledged request never meets a key its store cannot hold (issue 16: an Activity id over
//! fjall's 65,535-byte key limit was acknowledged, then stalled ingest). PostgreSQL's btree index
//! rows (about 2,700 bytes) are the tightest limit of every backend; these keys are random, so no
//! backend can compress them under it.

use bytes::Bytes;
use lrs_schema::DefinitionJson;

use super::SuiteStore;
use super::fixtures::*;
use crate::{
    ActivityDefinitionRow, AttachmentBody, MAX_ACTIVITY_ID_BYTES, MAX_DOCUMENT_KEY_BYTES,
    MAX_TENANT_BYTES, Precondition,
};

fn definition(json: &str) -> DefinitionJson {
    DefinitionJson::from_slice(json.as_bytes()).expect("a JSON object")
}

pub async fn the_longest_activity_ids_are_stored<S: SuiteStore>(store: &S) {
    let mut rng = Rng::new(0x16_0001);
    let tenant = longest_tenant("suite-longest-activity-", &mut rng);
    assert_eq!(tenant.len(), MAX_TENANT_BYTES);
    let prefix = "https://drill.example.jp/";
    let id = format!(
        "{prefix}{}",
        incompressible(&mut rng, MAX_ACTIVITY_ID_BYTES - prefix.len())
    );
    assert_eq!(id.len(), MAX_ACTIVITY_ID_BYTES);
    let row = |json: &str| ActivityDefinitionRow {
        tenant: tenant.clone(),
        activity_id: id.clone(),
        definition: definition(json),
    };
    // A first definition (an insert), then one that changes it (an update of the same key).
    store
        .merge_activity_definitions(&[row(r#"{"name":{"ja-JP":"長い"}}"#)])
        .await
        .unwrap();
    store
        .merge_activity_definitions(&[row(r#"{"name":{"en-US":"long"}}"#)])
        .await
        .unwrap();
    let expected = definition(r#"{"name":{"ja-JP":"長い","en-US":"long"}}"#);
    assert_eq!(
        store.get_activity_definition(&tenant, &id).await.unwrap(),
        Some(expected.clone())
    );
    let other = format!("{prefix}other");
    assert_eq!(
        store
            .get_activity_definitions(&tenant, &[other, id.clone()])
            .await
            .unwrap(),
        vec![None, Some(expected)]
    );
}

pub async fn the_longest_document_keys_are_stored<S: SuiteStore>(store: &S) {
    let mut rng = Rng::new(0x16_0002);
    let tenant = longest_tenant("suite-longest-document-", &mut rng);
    // The whole key in the scope, in the id, and split between them.
    for scope_len in [MAX_DOCUMENT_KEY_BYTES - 1, MAX_DOCUMENT_KEY_BYTES / 2, 1] {
        let scope = state_scope(&tenant, &incompressible(&mut rng, scope_len));
        let id = incompressible(&mut rng, MAX_DOCUMENT_KEY_BYTES - scope_len);
        let first = document("first", 1);
        store
            .put_document(&scope, &id, first.clone(), Precondition::IfAbsent)
            .await
            .unwrap();
        assert_eq!(
            store.get_document(&scope, &id).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            store.list_documents(&scope, None).await.unwrap(),
            std::slice::from_ref(&id)
        );
        let second = document("second", 2);
        store
            .put_document(
                &scope,
                &id,
                second.clone(),
                Precondition::IfMatch(first.etag),
            )
            .await
            .unwrap();
        assert_eq!(
            store.get_document(&scope, &id).await.unwrap(),
            Some(second.clone())
        );
        assert!(
            store
                .delete_document(&scope, &id, Precondition::IfMatch(second.etag))
                .await
                .unwrap()
        );
        store
            .put_document(&scope, &id, document("third", 3), Precondition::None)
            .await
            .unwrap();
        store.delete_documents(&scope).await.unwrap();
        assert!(store.list_documents(&scope, None).await.unwrap().is_empty());
    }
}

pub async fn the_longest_tenant_names_key_statements_and_attachments<S: SuiteStore>(store: &S) {
    let mut rng = Rng::new(0x16_0003);
    let tenant = longest_tenant("suite-longest-tenant-", &mut rng);
    let written = row(&tenant, 1_760_404_365_000_000, 0x16, keys(1, 1, &[1], &[1]));
    store
        .write_statements(std::slice::from_ref(&written))
        .await
        .unwrap();
    let got = store
        .get_statements(&tenant, &[written.id])
        .await
        .unwrap()
        .pop()
        .flatten()
        .expect("the statement is stored");
    assert_eq!(got.body, written.body);
    let found = store
        .scan(&scan(&tenant, agent_path(1), true, 10))
        .await
        .unwrap();
    assert_eq!(found, [position(&written)]);

    // The longest hash the API stores data under: a SHA-512 in hex.
    let sha2 = format!("{:032x}", rng.next_u128()).repeat(4);
    let body = AttachmentBody {
        sha2: sha2.clone(),
        content_type: "text/plain".into(),
        body: Bytes::from_static(b"data"),
    };
    store
        .put_attachments(&tenant, std::slice::from_ref(&body))
        .await
        .unwrap();
    assert_eq!(
        store.get_attachments(&tenant, &[sha2]).await.unwrap(),
        [Some(body)]
    );
}
