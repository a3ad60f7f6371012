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
lrs_store::purge_suite!(fresh_store);

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

/// Index blocks (key layout 3) against a naive model: statements written in many small batches,
/// out of `stored` order, around and below zero, many blocks per ~65 ms bucket, and then written
/// again in batches split differently; every scan must equal a plain sort of the positions.
#[tokio::test]
async fn every_scan_of_statements_written_in_random_batches_equals_a_sort_of_their_positions() {
    let (store, dir) = fresh_store().await;
    let mut rng = lrs_store::suite::Rng::new(12);
    let verbs = [Key16::of("answered"), Key16::of("completed")];
    let bucket = 1i64 << 16;
    let bases = [
        -3 * bucket,
        -bucket,
        0,
        7 * bucket,
        1_764_000_000_000_000 / bucket * bucket,
    ];
    let rows: Vec<StatementRow> = (0..700u128)
        .map(|n| {
            // Two buckets around each base, and some statements sharing a `stored`.
            let base = bases[rng.below(bases.len() as u64) as usize];
            let stored = base - bucket + rng.below(3 * bucket as u64 / 64) as i64 * 64;
            let mut row = statement(rng.next_u128() | n, stored);
            row.keys.verb = verbs[rng.below(2) as usize];
            row
        })
        .collect();
    let write_split = |rng: &mut lrs_store::suite::Rng, rows: &[StatementRow]| {
        let mut shuffled = rows.to_vec();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut batches = Vec::new();
        while !shuffled.is_empty() {
            let take = (1 + rng.below(60) as usize).min(shuffled.len());
            batches.push(shuffled.drain(..take).collect::<Vec<_>>());
        }
        batches
    };
    for batch in write_split(&mut rng, &rows) {
        store.write_statements(&batch).await.unwrap();
    }
    // Written again (as after a crash before the log offset was committed), split differently.
    let again: Vec<StatementRow> = rows.iter().filter(|_| rng.below(3) == 0).cloned().collect();
    for batch in write_split(&mut rng, &again) {
        store.write_statements(&batch).await.unwrap();
    }

    let paths = [
        AccessPath::All,
        AccessPath::Verb(verbs[0]),
        AccessPath::Verb(verbs[1]),
    ];
    let check = |store: EmbeddedStore, mut rng: lrs_store::suite::Rng| {
        let rows = rows.clone();
        async move {
            for n in 0..600 {
                let path = paths[n % paths.len()];
                let mut model: Vec<Position> = rows
                    .iter()
                    .filter(|r| path.includes(&r.keys))
                    .map(|r| Position {
                        stored: r.stored,
                        id: r.id,
                    })
                    .collect();
                let near = |rng: &mut lrs_store::suite::Rng| {
                    let p = model[rng.below(model.len() as u64) as usize];
                    p.stored + rng.below(3) as i64 - 1
                };
                let since = (rng.below(3) == 0).then(|| near(&mut rng));
                let until = (rng.below(3) == 0).then(|| near(&mut rng));
                let after = (rng.below(2) == 0).then(|| match rng.below(2) {
                    0 => model[rng.below(model.len() as u64) as usize],
                    _ => Position {
                        stored: near(&mut rng),
                        id: Uuid::from_u128(rng.next_u128()),
                    },
                });
                let ascending = rng.below(2) == 0;
                let limit = 1 + rng.below(model.len() as u64 + 10) as usize;
                model.retain(|p| {
                    since.is_none_or(|s| p.stored > s)
                        && until.is_none_or(|u| p.stored <= u)
                        && after.is_none_or(|a| if ascending { *p > a } else { *p < a })
                });
                model.sort();
                if !ascending {
                    model.reverse();
                }
                model.truncate(limit);
                let scan = IndexScan {
                    tenant: "board-131016".into(),
                    path,
                    since,
                    until,
                    after,
                    ascending,
                    limit,
                };
                assert_eq!(store.scan(&scan).await.unwrap(), model, "{scan:?}");
            }
        }
    };
    check(store, lrs_store::suite::Rng::new(1)).await;
    let store = EmbeddedStore::open(dir.path()).unwrap();
    check(store, lrs_store::suite::Rng::new(2)).await;
}

#[tokio::test]
async fn a_statement_written_again_alone_keeps_every_statement_of_its_first_batch_on_its_paths() {
    let (store, _dir) = fresh_store().await;
    let rows: Vec<StatementRow> = (1..=5).map(|i| statement(i, 1_000 + i as i64)).collect();
    store.write_statements(&rows).await.unwrap();
    store.write_statements(&rows[..1]).await.unwrap();
    store.write_statements(&rows[..3]).await.unwrap();
    for path in [AccessPath::All, AccessPath::Agent(Key16::of("agent"))] {
        let scan = IndexScan {
            tenant: "board-131016".into(),
            path,
            since: None,
            until: None,
            after: None,
            ascending: true,
            limit: 10,
        };
        let ids: Vec<Uuid> = store
            .scan(&scan)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, rows.iter().map(|r| r.id).collect::<Vec<_>>());
    }
}

/// A purge's compaction leaves no copy of purged rows in any file of the store: not in the
/// tables, the blob files, nor the journal (fjall keeps journals until it seals them).
#[tokio::test]
async fn after_a_purge_and_compaction_no_file_of_the_store_holds_a_purged_body() {
    use lrs_store::{PurgeStore, StatementReader, StatementWriter};
    let (store, dir) = fresh_store().await;
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let kept = uuid::Uuid::new_v4().simple().to_string();
    let row = |n: u128, text: &str, pad: usize| lrs_store::StatementRow {
        tenant: "board-a".into(),
        stored: 1_000 + n as i64,
        id: uuid::Uuid::from_u128(n),
        keys: lrs_schema::envelope::IndexKeys::default(),
        inherited: None,
        body: bytes::Bytes::from(format!(r#"{{"r":"{text}","p":"{}"}}"#, "x".repeat(pad))),
        study: None,
    };
    // Small bodies stay in the table, large ones go to blob files.
    let rows = vec![
        row(1, &marker, 10),
        row(2, &marker, 5_000),
        row(3, &kept, 5_000),
    ];
    store.write_statements(&rows).await.unwrap();
    let holding = |needle: &str| {
        let mut found = Vec::new();
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path()),
                );
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
        found
    };
    assert!(!holding(&marker).is_empty(), "written first");
    let purged = store
        .purge_statements("board-a", &[rows[0].id, rows[1].id])
        .await
        .unwrap();
    assert_eq!(purged.statements, 2);
    store.compact().await.unwrap();
    assert_eq!(holding(&marker), Vec::<std::path::PathBuf>::new());
    assert!(!holding(&kept).is_empty());
    let got = store
        .get_statements("board-a", &[rows[2].id])
        .await
        .unwrap();
    assert_eq!(
        got[0].as_ref().map(|s| s.body.clone()),
        Some(rows[2].body.clone())
    );
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(holding(&marker), Vec::<std::path::PathBuf>::new());
    let got = store
        .get_statements("board-a", &[rows[0].id, rows[2].id])
        .await
        .unwrap();
    assert!(got[0].is_none() && got[1].is_some());
}
