//! The shared store suite against [`ScyllaStore`], when env `LRS_TEST_SCYLLA` names a node (e.g.
//! `127.0.0.1:9042`; several separated by commas). Each test gets a fresh keyspace, dropped when
//! it ends. Without the variable every test passes after saying it was skipped.
//!
//! `LRS_TEST_SCYLLA=127.0.0.1:9042 cargo test -p lrs-store --features scylla --test scylla`

#![cfg(feature = "scylla")]

use lrs_store::{ScyllaConfig, ScyllaStore};

/// Drops the test's keyspace when the test ends.
struct KeyspaceGuard {
    config: ScyllaConfig,
}

impl Drop for KeyspaceGuard {
    fn drop(&mut self) {
        let config = self.config.clone();
        // The test's runtime is shutting down: drop the keyspace from a runtime of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            if let Err(e) = runtime.block_on(ScyllaStore::drop_keyspace(&config)) {
                eprintln!("keyspace {} was not dropped: {e}", config.keyspace);
            }
        })
        .join();
    }
}

async fn fresh_store() -> Option<(ScyllaStore, KeyspaceGuard)> {
    let Ok(nodes) = std::env::var("LRS_TEST_SCYLLA") else {
        eprintln!(
            "Scylla suite skipped (set LRS_TEST_SCYLLA to a node, e.g. 127.0.0.1:9042, to run it)"
        );
        return None;
    };
    let known_nodes = nodes.split(',').map(|n| n.trim().to_owned()).collect();
    let keyspace = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
    let config = ScyllaConfig::new(known_nodes, keyspace);
    let store = ScyllaStore::connect(config.clone())
        .await
        .expect("ScyllaDB at LRS_TEST_SCYLLA is reachable");
    Some((store, KeyspaceGuard { config }))
}

lrs_store::store_suite!(optional fresh_store);
lrs_store::purge_suite!(optional fresh_store);
lrs_store::nonce_suite!(optional fresh_store);
