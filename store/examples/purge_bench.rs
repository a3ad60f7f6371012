//! Purge time of one learner's statements among many (issue 14 §3), against the time to write
//! the same number of statements, measured in the same run on the embedded store.
//!
//! ```text
//! cargo run --release -p lrs-store --example purge_bench -- [statements=1000000] [learner=100000]
//! ```
//!
//! Writes `statements` rows (~1 KB bodies, 8 index entries each: the tenant, verb, authority,
//! actor and activity paths) in fsynced batches of 4,000, `stored` increasing, with the learner's
//! `learner` rows spread evenly among them (so every index block of `statements_by_stored` holds
//! some of them and some of others). Then purges the learner's rows in batches of 1,000 ids, as
//! a purge job does (read the rows, then `purge_statements`), and reports the purge time, the
//! time writing those rows took (the baseline: the write time × learner / statements), their
//! ratio, and the compaction (`compact`) separately.

use std::time::Instant;

use bytes::Bytes;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{
    AccessPath, EmbeddedStore, IndexScan, PurgeStore, StatementReader, StatementRow,
    StatementWriter,
};
use uuid::Uuid;

const TENANT: &str = "board-131016";
const BATCH: usize = 4_000;
const PURGE_BATCH: usize = 1_000;

fn keys(learner: u64, item: u64) -> IndexKeys {
    let agent = Key16::of(&format!(
        "account::https://eportal.example.jp::s{learner:06}"
    ));
    let activity = Key16::of(&format!("https://drill.example.jp/items/{item}"));
    IndexKeys {
        verb: Key16::of("http://adlnet.gov/expapi/verbs/answered"),
        authority: Key16::of("account::https://lrs.example.jp::drill"),
        registration: None,
        voids: None,
        refers_to: None,
        direct_agents: vec![agent],
        related_agents: vec![agent],
        direct_activities: vec![activity],
        related_activities: vec![activity],
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = args
        .first()
        .map_or(1_000_000, |a| a.parse().expect("count"));
    let learner: usize = args.get(1).map_or(100_000, |a| a.parse().expect("count"));
    assert!(learner > 0 && learner <= total);
    let every = total / learner;
    let temp = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(temp.path()).expect("open store");
    let padding = "算数ドリルの解答。".repeat(30);
    let base = 1_764_000_000_000_000i64;
    let mut ids = Vec::with_capacity(learner);
    let write_started = Instant::now();
    let mut rows = Vec::with_capacity(BATCH);
    for n in 0..total {
        let id = Uuid::from_u128(0xb00c_0000_0000_0000_0000_0000_0000_0000 | n as u128);
        let mine = n % every == 0 && ids.len() < learner;
        let who = if mine { 0 } else { 1 + (n as u64 % 5_000) };
        if mine {
            ids.push(id);
        }
        rows.push(StatementRow {
            tenant: TENANT.into(),
            stored: base + n as i64 * 10,
            id,
            keys: keys(who, n as u64 % 400),
            inherited: None,
            body: Bytes::from(format!(
                r#"{{"id":"{id}","actor":{{"account":{{"name":"s{who:06}"}}}},"result":{{"response":"{padding}"}}}}"#
            )),
            study: None,
        });
        if rows.len() == BATCH {
            store.write_statements(&rows).await.expect("write");
            rows.clear();
        }
    }
    store.write_statements(&rows).await.expect("write");
    let write = write_started.elapsed();

    let purge_started = Instant::now();
    let mut purged = 0;
    for chunk in ids.chunks(PURGE_BATCH) {
        let read = store.get_statements(TENANT, chunk).await.expect("read");
        assert!(read.iter().all(Option::is_some));
        purged += store
            .purge_statements(TENANT, chunk)
            .await
            .expect("purge")
            .statements;
    }
    let purge = purge_started.elapsed();
    assert_eq!(purged as usize, ids.len());
    let compact_started = Instant::now();
    store.compact().await.expect("compact");
    let compact = compact_started.elapsed();

    // Checks: the learner's path is empty, the others' rows are all there.
    let scan = |path| IndexScan {
        tenant: TENANT.into(),
        path,
        since: None,
        until: None,
        after: None,
        ascending: true,
        limit: 10,
    };
    let agent = keys(0, 0).direct_agents[0];
    assert!(
        store
            .scan(&scan(AccessPath::Agent(agent)))
            .await
            .expect("scan")
            .is_empty()
    );
    let baseline = write.as_secs_f64() * learner as f64 / total as f64;
    println!("statements {total}, learner {learner}");
    println!(
        "write all: {:.2} s ({:.0} statements/s)",
        write.as_secs_f64(),
        total as f64 / write.as_secs_f64()
    );
    println!("baseline (writing the learner's share): {baseline:.2} s");
    println!(
        "purge the learner: {:.2} s ({:.0} statements/s), ratio to the baseline {:.2}",
        purge.as_secs_f64(),
        learner as f64 / purge.as_secs_f64(),
        purge.as_secs_f64() / baseline
    );
    println!("compaction after the purge: {:.2} s", compact.as_secs_f64());
}
