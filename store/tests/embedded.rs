//! The shared store suite against [`EmbeddedStore`], plus what only a local store can show:
//! data survives closing and reopening the directory.

use std::path::Path;

use bytes::Bytes;
use lrs_schema::DefinitionJson;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{
    AccessPath, ActivityDefinitionRow, ActivityStore, AttachmentBody, AttachmentStore, Document,
    DocumentKind, DocumentScope, DocumentStore, EmbeddedStore, IndexScan, Position, Precondition,
    StatementReader, StatementRow, StatementWriter, Watermark,
};
use tempfile::TempDir;
use uuid::Uuid;

async fn fresh_store() -> (EmbeddedStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    (store, dir)
}

lrs_store::store_suite!(fresh_store);

fn statement(id: u128, stored: i64) -> StatementRow {
    StatementRow {
        tenant: "board-131016".into(),
        stored,
        id: Uuid::from_u128(id),
        keys: IndexKeys {
            direct_agents: vec![Key16::of("agent")],
            ..IndexKeys::default()
        },
        inherited: None,
        body: Bytes::from(format!(r#"{{"n":{id}}}"#)),
        study: None,
    }
}

async fn write_everything(dir: &Path) -> Vec<StatementRow> {
    let store = EmbeddedStore::open(dir).unwrap();
    let rows: Vec<StatementRow> = (1..=50).map(|i| statement(i, 1_000 + i as i64)).collect();
    store.write_statements(&rows).await.unwrap();
    store
        .record_watermarks(&[Watermark {
            partition: 1,
            next_offset: 51,
            stored: 1_050,
        }])
        .await
        .unwrap();
    store
        .put_document(&scope(), "doc", document(), Precondition::None)
        .await
        .unwrap();
    rows
}

fn scope() -> DocumentScope {
    DocumentScope {
        tenant: "board-131016".into(),
        kind: DocumentKind::AgentProfile,
        scope: "agent=x".into(),
    }
}

fn document() -> Document {
    Document {
        content_type: "text/plain".into(),
        body: Bytes::from_static("こんにちは".as_bytes()),
        etag: "abc".into(),
        updated: 5,
    }
}

#[tokio::test]
async fn everything_written_is_read_back_after_the_store_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let rows = write_everything(dir.path()).await;

    let store = EmbeddedStore::open(dir.path()).unwrap();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let got = store.get_statements("board-131016", &ids).await.unwrap();
    for (row, got) in rows.iter().zip(got) {
        let got = got.unwrap();
        assert_eq!(
            (got.stored, &got.body, &got.keys),
            (row.stored, &row.body, &row.keys)
        );
    }
    let newest = store
        .scan(&IndexScan {
            tenant: "board-131016".into(),
            path: AccessPath::Agent(Key16::of("agent")),
            since: None,
            until: None,
            after: None,
            ascending: false,
            limit: 3,
        })
        .await
        .unwrap();
    let expected: Vec<Position> = rows[47..]
        .iter()
        .rev()
        .map(|r| Position {
            stored: r.stored,
            id: r.id,
        })
        .collect();
    assert_eq!(newest, expected);
    assert_eq!(
        store.watermarks().await.unwrap(),
        [Watermark {
            partition: 1,
            next_offset: 51,
            stored: 1_050
        }]
    );
    assert_eq!(
        store.get_document(&scope(), "doc").await.unwrap(),
        Some(document())
    );
}

#[tokio::test]
async fn clones_of_a_store_share_one_database() {
    let (store, _dir) = fresh_store().await;
    let clone = store.clone();
    clone.write_statements(&[statement(9, 9)]).await.unwrap();
    let got = store
        .get_statements("board-131016", &[Uuid::from_u128(9)])
        .await
        .unwrap();
    assert!(got[0].is_some());
}

#[tokio::test]
async fn attachment_data_is_read_back_after_the_store_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let sha2 = "ab".repeat(32);
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let attachment = AttachmentBody {
        sha2: sha2.clone(),
        content_type: "image/png".into(),
        body: Bytes::from(data),
    };
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .put_attachments("board-131016", std::slice::from_ref(&attachment))
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let got = store
        .get_attachments("board-131016", &[sha2])
        .await
        .unwrap();
    assert_eq!(got, vec![Some(attachment)]);
}

#[tokio::test]
async fn activity_definitions_survive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let definition = DefinitionJson::from_slice(r#"{"name":{"ja-JP":"算数ドリル"}}"#.as_bytes())
        .expect("a JSON object");
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .merge_activity_definitions(&[ActivityDefinitionRow {
                tenant: "board-131016".into(),
                activity_id: "https://drill.example.jp/items/1".into(),
                definition: definition.clone(),
            }])
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        store
            .get_activity_definition("board-131016", "https://drill.example.jp/items/1")
            .await
            .unwrap(),
        Some(definition)
    );
}
