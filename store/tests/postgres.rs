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
    use lrs_store::PostgresStore;

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
}
