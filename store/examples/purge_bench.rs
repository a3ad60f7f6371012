//! Purge time of one learner's statements among many (issue 14 §3), against the time to write
//! the same number of statements, measured in the same run on the embedded store.
//!
//! ```text
//! cargo run --release -p lrs-store --example purge_bench -- [statements=1000000] [learner=100000]
//! ```
//!
//! Writes `statements` rows (~1 KB bodies, 8 index entries each: the tenant, verb, authority,
//! actor and activity paths) in fsynced batches of 4,000, `stored` increasing, with two learners'
//! `learner` rows each spread evenly among them (so every index block of `statements_by_stored`
//! holds some of theirs and some of others'). Then purges the first learner's rows from a list
//! of ids, in batches of 1,000 (a statement-list purge: read the rows, then
//! `purge_statements`), and the second learner's as the learner purge
//! (`DELETE /api/v1/learners/{id}`, `lrs_ingest::learner_purge`) finds them: walking their agent
//! index in `stored` order, 1,000 positions after the last one handled, reading those rows,
//! purging them. Reports each purge's time, the time writing those rows took (the baseline: the
//! write time × learner / statements), their ratios, and the compaction (`compact`) separately.

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
/// The learner whose rows are found as the learner purge finds them.
const LEARNER_WALKED: u64 = 999_999;

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
    assert!(
        2 * learner <= total,
        "two learners of {learner} among {total}"
    );
    let every = total / learner;
    let temp = tempfile::tempdir().expect("temporary directory");
    let store = EmbeddedStore::open(temp.path()).expect("open store");
    let padding = "算数ドリルの解答。".repeat(30);
    let base = 1_764_000_000_000_000i64;
    let mut ids = Vec::with_capacity(learner);
    let mut second = 0;
    let write_started = Instant::now();
    let mut rows = Vec::with_capacity(BATCH);
    for n in 0..total {
        let id = Uuid::from_u128(0xb00c_0000_0000_0000_0000_0000_0000_0000 | n as u128);
        let first_mine = n % every == 0 && ids.len() < learner;
        let second_mine = n % every == every / 2 && second < learner;
        let who = if first_mine {
            0
        } else if second_mine {
            LEARNER_WALKED
        } else {
            1 + (n as u64 % 5_000)
        };
        if first_mine {
            ids.push(id);
        }
        if second_mine {
            second += 1;
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

    // The learner purge's walk: the agent path after the last position handled.
    let walked_agent = keys(LEARNER_WALKED, 0).direct_agents[0];
    let walk_started = Instant::now();
    let mut walked = 0;
    let mut after = None;
    loop {
        let positions = store
            .scan(&IndexScan {
                tenant: TENANT.into(),
                path: AccessPath::Agent(walked_agent),
                since: None,
                until: Some(i64::MAX - 1),
                after,
                ascending: true,
                limit: PURGE_BATCH,
            })
            .await
            .expect("scan");
        let Some(last) = positions.last().copied() else {
            break;
        };
        after = Some(last);
        let batch: Vec<Uuid> = positions.iter().map(|p| p.id).collect();
        let read = store.get_statements(TENANT, &batch).await.expect("read");
        let theirs: Vec<Uuid> = read
            .into_iter()
            .flatten()
            .filter(|s| s.keys.direct_agents.contains(&walked_agent))
            .map(|s| s.id)
            .collect();
        walked += store
            .purge_statements(TENANT, &theirs)
            .await
            .expect("purge")
            .statements;
    }
    let walk = walk_started.elapsed();
    assert_eq!(walked as usize, second);

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
    for who in [0, LEARNER_WALKED] {
        let agent = keys(who, 0).direct_agents[0];
        assert!(
            store
                .scan(&scan(AccessPath::Agent(agent)))
                .await
                .expect("scan")
                .is_empty()
        );
    }
    let others = store
        .scan(&IndexScan {
            limit: total,
            ..scan(AccessPath::All)
        })
        .await
        .expect("scan");
    assert_eq!(others.len(), total - learner - second);
    let baseline = write.as_secs_f64() * learner as f64 / total as f64;
    println!("statements {total}, learner {learner}");
    println!(
        "write all: {:.2} s ({:.0} statements/s)",
        write.as_secs_f64(),
        total as f64 / write.as_secs_f64()
    );
    println!("baseline (writing the learner's share): {baseline:.3} s");
    println!(
        "purge the learner by ids: {:.3} s ({:.0} statements/s), ratio to the baseline {:.2}",
        purge.as_secs_f64(),
        learner as f64 / purge.as_secs_f64(),
        purge.as_secs_f64() / baseline
    );
    println!(
        "purge the learner by their agent index (the learner purge): {:.3} s ({:.0} statements/s), ratio to the baseline {:.2}",
        walk.as_secs_f64(),
        second as f64 / walk.as_secs_f64(),
        walk.as_secs_f64() / baseline
    );
    println!("compaction after the purge: {:.2} s", compact.as_secs_f64());
}
