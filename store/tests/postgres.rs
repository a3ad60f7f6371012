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
    use lrs_schema::envelope::{IndexKeys, Key16};
    use lrs_store::{
        AccessPath, IndexScan, PostgresStore, SchemaMode, StatementReader, StatementRow,
        StatementWriter, StoreErrorKind,
    };

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
    lrs_store::purge_suite!(optional fresh_store);
    lrs_store::nonce_suite!(optional fresh_store);

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

    /// A client in the test's schema, for looking at the tables themselves.
    async fn client_in(url: &str, schema: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL at LRS_TEST_POSTGRES is reachable");
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path = {schema}"
            ))
            .await
            .unwrap();
        client
    }

    /// Schema version 1 filed every statement as a row of each `statements_by_*` table; this
    /// build reads only index blocks and does not convert: a store of version 1 is refused at
    /// connect, in either schema mode, with what to do, and is left as it was.
    #[tokio::test]
    async fn a_store_with_the_version_1_index_tables_is_refused_at_connect_saying_what_to_do() {
        let Ok(url) = std::env::var("LRS_TEST_POSTGRES") else {
            eprintln!("LRS_TEST_POSTGRES is not set: the PostgreSQL suite was skipped");
            return;
        };
        let schema = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
        let _guard = SchemaGuard {
            url: url.clone(),
            schema: schema.clone(),
        };
        let client = client_in(&url, &schema).await;
        client
            .batch_execute(
                "CREATE TABLE statements_by_stored (tenant text NOT NULL, bucket bigint NOT NULL, \
                 stored bigint NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant, bucket, stored, id)); \
                 INSERT INTO statements_by_stored VALUES ('t', 1, 86400000001, gen_random_uuid())",
            )
            .await
            .unwrap();
        let in_schema = format!("{url} options='-c search_path={schema}'");
        for mode in [SchemaMode::Apply, SchemaMode::Require] {
            let err = PostgresStore::connect_with_schema(&in_schema, mode)
                .await
                .err()
                .expect("a version-1 store is refused");
            assert_eq!(err.kind(), StoreErrorKind::Unavailable);
            assert!(
                err.message().contains("schema version 1")
                    && err.message().contains("post the statements to it again")
                    && err.message().contains("docs/distributed.md"),
                "{err}"
            );
        }
        let rows = client
            .query("SELECT count(*) FROM statements_by_stored", &[])
            .await
            .unwrap();
        assert_eq!(rows[0].get::<_, i64>(0), 1, "the old rows are untouched");
        let tables = client
            .query(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
                &[&schema],
            )
            .await
            .unwrap();
        assert_eq!(
            tables[0].get::<_, i64>(0),
            1,
            "no table was created beside them"
        );
    }

    /// The point of index blocks: a batch of 500 statements of one tenant within one ~65 ms
    /// bucket, under one verb and one authority, each by its own learner, is one row in
    /// `statements_by_stored`, `statements_by_verb` and `statements_by_authority` each (and
    /// one per learner in `statements_by_agent`); written again, the same rows; and every
    /// statement is found on each path.
    #[tokio::test]
    async fn a_batch_files_its_statements_as_one_index_block_per_path_and_bucket() {
        let Ok(url) = std::env::var("LRS_TEST_POSTGRES") else {
            eprintln!("LRS_TEST_POSTGRES is not set: the PostgreSQL suite was skipped");
            return;
        };
        let schema = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
        let _guard = SchemaGuard {
            url: url.clone(),
            schema: schema.clone(),
        };
        let store = PostgresStore::connect_in_schema(&url, &schema)
            .await
            .unwrap();
        // 2¹⁶ µs buckets: these 500 `stored` values share one.
        let bucket_start: i64 = 1_764_000_000_000_000 & !0xffff;
        let rows: Vec<StatementRow> = (0..500u32)
            .map(|n| StatementRow {
                tenant: "board".into(),
                stored: bucket_start + i64::from(n) * 100,
                id: uuid::Uuid::new_v4(),
                keys: IndexKeys {
                    verb: Key16::of("answered"),
                    authority: Key16::of("tool"),
                    direct_agents: vec![Key16::of(&format!("learner {n}"))],
                    ..IndexKeys::default()
                },
                inherited: None,
                body: bytes::Bytes::from_static(b"{}"),
                study: None,
            })
            .collect();
        store.write_statements(&rows).await.unwrap();
        store.write_statements(&rows).await.unwrap();
        store.write_statements(&rows[100..200]).await.unwrap();

        let client = client_in(&url, &schema).await;
        let count = |table: &'static str| {
            let client = &client;
            async move {
                let rows = client
                    .query(&format!("SELECT count(*) FROM {table}"), &[])
                    .await
                    .unwrap();
                rows[0].get::<_, i64>(0)
            }
        };
        // The part written again alone is a second block of the same bucket.
        assert_eq!(count("statements_by_stored").await, 2);
        assert_eq!(count("statements_by_verb").await, 2);
        assert_eq!(count("statements_by_authority").await, 2);
        assert_eq!(count("statements_by_agent").await, 500);

        for (path, ascending) in [
            (AccessPath::All, true),
            (AccessPath::Verb(Key16::of("answered")), false),
        ] {
            let found = store
                .scan(&IndexScan {
                    tenant: "board".into(),
                    path,
                    since: None,
                    until: None,
                    after: None,
                    ascending,
                    limit: 1_000,
                })
                .await
                .unwrap();
            let mut expected: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
            if !ascending {
                expected.reverse();
            }
            let found: Vec<uuid::Uuid> = found.iter().map(|p| p.id).collect();
            assert_eq!(found, expected, "{path:?}: each statement once, in order");
        }
    }
}
