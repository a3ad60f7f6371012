//! The shared store suite against [`PostgresStore`], when env `LRS_TEST_POSTGRES` holds a
//! connection string (e.g. the one `ci/postgres.sh` prints). Each test gets a fresh schema,
//! dropped when it ends. Without the variable every test passes after saying it was skipped.
//!
//! `LRS_TEST_POSTGRES=$(ci/postgres.sh) cargo test -p lrs-store --features postgres --test postgres`

/// Without the `postgres` feature there is no `PostgresStore` to test.
#[cfg(not(feature = "postgres"))]
#[test]
fn the_postgresql_suite_needs_the_postgres_feature() {
    eprintln!("lrs-store built without feature `postgres`: the PostgreSQL suite was skipped");
}

#[cfg(feature = "postgres")]
mod postgres {
    use lrs_store::{PostgresStore, SchemaMode, StoreErrorKind};

    /// Drops the test's schema when the test ends.
    struct SchemaGuard {
        url: String,
        schema: String,
    }

    impl Drop for SchemaGuard {
        fn drop(&mut self) {
            let (url, schema) = (self.url.clone(), self.schema.clone());
            // The test's runtime is shutting down: drop the schema from a runtime of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    if let Ok((client, connection)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(connection);
                        let _ = client
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    }
                });
            })
            .join();
        }
    }

    async fn fresh_store() -> Option<(PostgresStore, SchemaGuard)> {
        let Ok(url) = std::env::var("LRS_TEST_POSTGRES") else {
            eprintln!("LRS_TEST_POSTGRES is not set: the PostgreSQL suite was skipped");
            return None;
        };
        let schema = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
        let store = PostgresStore::connect_in_schema(&url, &schema)
            .await
            .expect("PostgreSQL at LRS_TEST_POSTGRES is reachable");
        Some((store, SchemaGuard { url, schema }))
    }

    lrs_store::store_suite!(optional fresh_store);

    /// Every role of a fresh deployment connects at once, and each creates the schema if
    /// missing. `CREATE … IF NOT EXISTS` alone is not safe under concurrency (two sessions could
    /// both create a table's row type: "duplicate key value violates unique constraint
    /// pg_type_typname_nsp_index"), so schema changes take an advisory lock. 20 rounds of 4
    /// connects at once to a fresh schema: every connect succeeds, then the schema requires
    /// nothing more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_connects_to_a_fresh_schema_all_succeed() {
        let Ok(url) = std::env::var("LRS_TEST_POSTGRES") else {
            eprintln!("LRS_TEST_POSTGRES is not set: the PostgreSQL suite was skipped");
            return;
        };
        for round in 0..20 {
            let schema = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
            let _guard = SchemaGuard {
                url: url.clone(),
                schema: schema.clone(),
            };
            let connects: Vec<_> = (0..4)
                .map(|_| {
                    let (url, schema) = (url.clone(), schema.clone());
                    tokio::spawn(
                        async move { PostgresStore::connect_in_schema(&url, &schema).await },
                    )
                })
                .collect();
            for connect in connects {
                if let Err(err) = connect.await.expect("connect task") {
                    panic!("round {round}: a concurrent first connect failed: {err}");
                }
            }
        }
    }

    /// A role started with `storage.apply_schema = false` requires the schema `lrs migrate`
    /// creates: it names the missing tables until the schema is there.
    #[tokio::test]
    async fn a_connect_that_requires_the_schema_names_what_is_missing() {
        let Ok(url) = std::env::var("LRS_TEST_POSTGRES") else {
            eprintln!("LRS_TEST_POSTGRES is not set: the PostgreSQL suite was skipped");
            return;
        };
        let schema = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
        let _guard = SchemaGuard {
            url: url.clone(),
            schema: schema.clone(),
        };
        let in_schema = format!("{url} options='-c search_path={schema}'");
        let err = PostgresStore::connect_with_schema(&in_schema, SchemaMode::Require)
            .await
            .err()
            .expect("no schema yet");
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
        assert!(
            err.message().contains("quarantine") && err.message().contains("lrs migrate"),
            "{err}"
        );
        PostgresStore::connect_in_schema(&url, &schema)
            .await
            .unwrap();
        PostgresStore::connect_with_schema(&in_schema, SchemaMode::Require)
            .await
            .expect("the schema is complete");
    }
}
