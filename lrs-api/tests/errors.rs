//! One error path: a store outage answers 503 + Retry-After on every route that reads the store
//! (a statement GET included), never 500; the app is built in-process on an embedded log and a
//! store whose reads fail as an unreachable backend's would.

use std::sync::Arc;

use actix_web::{App, test, web};
use async_trait::async_trait;
use base64::Engine;
use lrs_api::metrics::{MetricSources, Metrics};
use lrs_api::{ApiConfig, AppState, Readiness, Stores, configure};
use lrs_auth::{AuthConfig, Authenticator, CredentialFile, Scopes};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig};
use lrs_progress::{Progress, ReadVisibility, WriteProgress};
use lrs_query::{QueryConfig, StatementQueryService};
use lrs_store::{
    EmbeddedStore, IndexScan, Position, StatementReader, StoreError, StoreErrorKind,
    StoredStatement, Watermark,
};
use uuid::Uuid;

/// Every statement read fails as an unreachable store's does.
struct UnreachableStatements;

fn unreachable() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "connection refused")
}

#[async_trait]
impl StatementReader for UnreachableStatements {
    async fn get_statements(
        &self,
        _: &str,
        _: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        Err(unreachable())
    }

    async fn scan(&self, _: &IndexScan) -> Result<Vec<Position>, StoreError> {
        Err(unreachable())
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        Err(unreachable())
    }
}

#[actix_web::test]
async fn a_store_outage_during_a_statement_get_is_503_with_retry_after_and_consistent_through() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(
        dir.path(),
        "board-a",
        &Scopes::parse_list("all").unwrap(),
        None,
    )
    .unwrap();
    let log = Arc::new(EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap());
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
    let statements: Arc<dyn StatementReader> = Arc::new(UnreachableStatements);
    let visibility = ReadVisibility::new(
        log,
        statements.clone(),
        0,
        0,
        Progress::Local,
        WriteProgress::none(),
    );
    let stores = Stores {
        statements: statements.clone(),
        ..Stores::all(store)
    };
    let queries = StatementQueryService::new(
        statements,
        stores.activities.clone(),
        stores.attachments.clone(),
        visibility.clone(),
        QueryConfig::default(),
    );
    let auth = Authenticator::new(dir.path(), AuthConfig::new("http://lrs.example.jp")).unwrap();
    let metrics = Metrics::new(MetricSources::default());
    let state = AppState::new(
        ApiConfig::default(),
        Arc::new(auth),
        None,
        queries,
        stores,
        metrics.clone(),
    );
    let readiness = Readiness {
        ready: Arc::default(),
        visibility: Some(visibility),
        store: None,
    };
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .app_data(web::Data::new(metrics))
            .app_data(web::Data::new(readiness))
            .configure(|cfg| configure(cfg, "/xapi")),
    )
    .await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    for uri in [
        "/xapi/statements",
        "/xapi/statements?verb=http://adlnet.gov/expapi/verbs/answered",
        "/xapi/statements?statementId=6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01",
    ] {
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(uri)
                .insert_header(("Authorization", format!("Basic {basic}")))
                .insert_header(("X-Experience-API-Version", "1.0.3"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), 503, "{uri}");
        let headers = response.headers();
        assert_eq!(headers.get("Retry-After").unwrap(), "1", "{uri}");
        assert!(
            headers.contains_key("X-Experience-API-Consistent-Through"),
            "{uri}"
        );
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["error"], "unavailable", "{uri}: {body}");
    }
}
