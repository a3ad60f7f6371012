//! The embedded store on a full disk (issue 16, defect 3), on a real small tmpfs: a write that
//! fails for lack of space poisons the fjall database; the store reports the failure and, once
//! space returns, reopens itself in this process, with every acknowledged write still there.
//!
//! Needs root (to mount a tmpfs). Without it the test says it was skipped, except under
//! `CI=true`, where that is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{EmbeddedStore, StatementReader, StatementRow, StatementWriter, StoreErrorKind};
use uuid::Uuid;

/// A tmpfs of a given size mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match mounted {
            Ok(status) if status.success() => Some(Tmpfs { dir }),
            other if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("{test}: mounting a tmpfs failed ({other:?}); CI runs as root")
            }
            other => {
                eprintln!("{test}: skipped, mounting a tmpfs failed ({other:?}; needs root)");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `dir` to the last byte; returns the filler file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.write_all(&chunk[..1]);
    let _ = file.sync_all();
    path
}

fn row(n: u128) -> StatementRow {
    StatementRow {
        tenant: "board-131016".into(),
        stored: 1_760_000_000_000_000 + n as i64,
        id: Uuid::from_u128(n),
        keys: IndexKeys {
            verb: Key16::of("http://adlnet.gov/expapi/verbs/answered"),
            ..IndexKeys::default()
        },
        inherited: None,
        body: Bytes::from(format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(900))),
        study: None,
    }
}

#[tokio::test]
async fn a_store_failed_on_a_full_disk_reopens_itself_once_space_returns() {
    let test = "a_store_failed_on_a_full_disk_reopens_itself_once_space_returns";
    let Some(fs) = Tmpfs::mount("32m", test) else {
        return;
    };
    let store = EmbeddedStore::open(&fs.path().join("store")).unwrap();
    let mut written: Vec<u128> = (1..=100).collect();
    let rows: Vec<StatementRow> = written.iter().map(|&n| row(n)).collect();
    store.write_statements(&rows).await.unwrap();
    assert!(store.health().is_ok());

    let filler = fill(fs.path());
    let mut failure = None;
    for n in 1_000..1_200 {
        match store.write_statements(&[row(n)]).await {
            Ok(()) => written.push(n),
            Err(err) => {
                failure = Some((n, err));
                break;
            }
        }
    }
    let (refused, err) = failure.expect("a write fails once the disk is full");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    let health = store.health().expect_err("the store reports its failure");
    assert_eq!(health.kind(), StoreErrorKind::Unavailable);
    assert!(
        store.write_statements(&[row(refused)]).await.is_err(),
        "writes keep failing while the disk is full"
    );
    let first = [Uuid::from_u128(1)];
    let read = store.contains_statements("board-131016", &first).await;
    assert_eq!(read.unwrap(), [true], "reads still work");

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.health().is_err() {
        assert!(
            Instant::now() < deadline,
            "the store did not reopen itself: {:?}",
            store.health()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.write_statements(&[row(refused)]).await.unwrap();
    written.push(refused);
    let ids: Vec<Uuid> = written.iter().map(|&n| Uuid::from_u128(n)).collect();
    let found = store.get_statements("board-131016", &ids).await.unwrap();
    for (n, statement) in written.iter().zip(found) {
        let statement = statement.unwrap_or_else(|| panic!("statement {n} is lost"));
        assert_eq!(statement.body, row(*n).body);
    }
    drop(store);
}
