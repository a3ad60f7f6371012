//! The statement query service: single lookups and filtered, paged queries.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lrs_progress::ReadVisibility;
use lrs_schema::envelope::Key16;
use lrs_schema::{CanonicalDefinitions, StatementFormat, StatementQuery, ValidationError};
use lrs_store::{
    ActivityStore, AttachmentStore, IndexScan, Micros, Position, StatementReader, StoreError,
    StoreTimings, StoredStatement,
};
use uuid::Uuid;

use crate::cursor::Cursor;
use crate::own_authority::OwnAuthority;
use crate::planner::plan;
use crate::render::{CanonicalPage, statement_json};

/// Whose statements a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadScope {
    /// Every statement of the tenant (`statements/read`, `all/read`, `all`).
    Tenant,
    /// Only statements whose authority is this credential (`statements/read/mine`).
    Own(OwnAuthority),
}

impl ReadScope {
    fn authority_key(&self) -> Option<Key16> {
        match self {
            ReadScope::Tenant => None,
            ReadScope::Own(own) => Some(own.key),
        }
    }

    /// Whether the reader may see `statement`: its index keys are checked by the plan; this
    /// compares the whole authority account for `statements/read/mine`.
    fn allows(&self, statement: &StoredStatement) -> bool {
        match self {
            ReadScope::Tenant => true,
            ReadScope::Own(own) => own.wrote(statement.keys.authority, &statement.body),
        }
    }
}

/// One page of a query.
#[derive(Debug, Clone)]
pub struct QueryPage {
    pub statements: Vec<StoredStatement>,
    /// The cursor for the next page, when there may be one.
    pub more: Option<Cursor>,
}

/// Why a query failed. Each variant is one answer: `Invalid` a 400 naming the rule, `NotFound` a
/// 404, `Store` whatever the store's error kind says (503 + Retry-After while it is unavailable).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    NotFound(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Settings of the read side.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The most statements one page holds (`limit=0` or absent asks for it).
    pub max_page: u32,
    /// How long a GET first waits for writes acknowledged before it arrived.
    pub read_your_writes_wait: Duration,
    /// The Statement Resource's path, e.g. `/xapi/statements`: `more` URLs start with it.
    pub statements_path: String,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            max_page: 500,
            read_your_writes_wait: Duration::from_secs(2),
            statements_path: "/xapi/statements".into(),
        }
    }
}

/// Candidates fetched per store round trip while filling a page.
const SCAN_CHUNK: usize = 256;

/// Serves statement reads for every tenant.
pub struct StatementQueryService<R: ?Sized> {
    reader: Arc<R>,
    /// Canonical Activity Definitions, read for `format=canonical`.
    activities: Arc<dyn ActivityStore>,
    /// Attachment data, read for `attachments=true`.
    attachments: Arc<dyn AttachmentStore>,
    /// How far ingest got: Consistent-Through, read-your-writes, the cap of a new query.
    visibility: Arc<ReadVisibility>,
    config: QueryConfig,
    /// `lrs_store_operation_duration_seconds{op}` of the reads (`get_statement`,
    /// `query_statements`).
    timings: StoreTimings,
}

impl<R: StatementReader + ?Sized> StatementQueryService<R> {
    pub fn new(
        reader: Arc<R>,
        activities: Arc<dyn ActivityStore>,
        attachments: Arc<dyn AttachmentStore>,
        visibility: Arc<ReadVisibility>,
        config: QueryConfig,
    ) -> Self {
        StatementQueryService {
            reader,
            activities,
            attachments,
            visibility,
            config: QueryConfig {
                max_page: config.max_page.max(1),
                ..config
            },
            timings: StoreTimings::new(&[]),
        }
    }

    /// Times the store reads into `timings` (the process's shared histogram) from now on.
    pub fn with_timings(mut self, timings: StoreTimings) -> Self {
        self.timings = timings;
        self
    }

    pub fn visibility(&self) -> &Arc<ReadVisibility> {
        &self.visibility
    }

    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    pub(crate) fn attachments(&self) -> &Arc<dyn AttachmentStore> {
        &self.attachments
    }

    pub(crate) async fn timed<T>(&self, op: &str, call: impl Future<Output = T>) -> T {
        self.timings.time(op, call).await
    }

    /// The statements as JSON bytes in `format`, in order. `languages` is the parsed
    /// Accept-Language list, best first.
    ///
    /// xAPI 1.0.3 Communication §2.1.3 `format` (2.0.0 §4.1.6.1): canonical populates Activities
    /// with "the canonical definition of the Activity Objects … as determined by the LRS": the
    /// definitions of the page's distinct activities are read in one batch. `exact` and `ids`
    /// never touch the activity store.
    pub async fn render(
        &self,
        tenant: &str,
        statements: &[StoredStatement],
        format: StatementFormat,
        languages: &[String],
    ) -> Result<Vec<Vec<u8>>, QueryError> {
        if format != StatementFormat::Canonical {
            return Ok(statements
                .iter()
                .map(|s| statement_json(s, format, languages))
                .collect());
        }
        let page = CanonicalPage::parse(statements);
        let ids = page.activity_ids();
        let found = self
            .activities
            .get_activity_definitions(tenant, &ids)
            .await?;
        let definitions: CanonicalDefinitions = ids
            .into_iter()
            .zip(found)
            .filter_map(|(id, definition)| Some((id, definition?)))
            .collect();
        Ok(page.render(&definitions, languages))
    }

    /// `statementId` (voided = false) or `voidedStatementId` (voided = true) lookup.
    ///
    /// xAPI 1.0.3 Data §2.5.1 (voided statements): a voided statement is only returned through
    /// `voidedStatementId`, and `voidedStatementId` returns only voided statements.
    pub async fn get_statement(
        &self,
        tenant: &str,
        id: Uuid,
        voided: bool,
        scope: &ReadScope,
    ) -> Result<Option<StoredStatement>, QueryError> {
        let found = self.reader.get_statements(tenant, &[id]).await?;
        let statement = found.into_iter().next().flatten();
        Ok(statement.filter(|s| is_voided(s) == voided && scope.allows(s)))
    }

    /// Runs a filtered query. `cursor` continues an earlier page; otherwise `consistent_through`
    /// caps this query and every page that follows it.
    pub async fn query(
        &self,
        tenant: &str,
        query: &StatementQuery,
        params: &[(String, String)],
        scope: &ReadScope,
        consistent_through: Micros,
        cursor: Option<&Cursor>,
    ) -> Result<QueryPage, QueryError> {
        let plan = plan(query, scope.authority_key());
        let limit = match query.limit {
            0 => self.config.max_page,
            n => n.min(self.config.max_page),
        } as usize;
        let cap = cursor.map_or(consistent_through, |c| c.cap);
        let until = query.until.map_or(cap, |u| u.min(cap));
        let mut after = cursor.map(Cursor::after);
        let mut page: Vec<(Position, StoredStatement)> = Vec::with_capacity(limit + 1);
        // Fill limit + 1 so we know whether a next page exists.
        'scan: loop {
            let positions = self
                .reader
                .scan(&IndexScan {
                    tenant: tenant.to_owned(),
                    path: plan.path,
                    since: query.since,
                    until: Some(until),
                    after,
                    ascending: query.ascending,
                    limit: SCAN_CHUNK,
                })
                .await?;
            let ids: Vec<Uuid> = positions.iter().map(|p| p.id).collect();
            let statements = self.reader.get_statements(tenant, &ids).await?;
            for (position, statement) in positions.iter().zip(statements) {
                after = Some(*position);
                let Some(statement) = statement else { continue };
                if !is_voided(&statement)
                    && plan.matches_statement(&statement.keys, statement.inherited.as_ref())
                    && scope.allows(&statement)
                {
                    page.push((*position, statement));
                    if page.len() > limit {
                        break 'scan;
                    }
                }
            }
            if positions.len() < SCAN_CHUNK {
                break;
            }
        }
        let more = if page.len() > limit {
            page.truncate(limit);
            let last = page.last().map(|(p, _)| *p).expect("limit is at least 1");
            Some(Cursor {
                params: params.to_vec(),
                after_stored: last.stored,
                after_id: last.id,
                cap,
            })
        } else {
            None
        };
        Ok(QueryPage {
            statements: page.into_iter().map(|(_, s)| s).collect(),
            more,
        })
    }
}

/// xAPI 1.0.3 Data §2.3.2: a statement is voided when a voiding statement targets it, unless it
/// is itself a voiding statement ("a Voiding Statement cannot Target another Voiding Statement").
/// Decided at read time, so the order in which the two arrive does not matter.
pub fn is_voided(statement: &StoredStatement) -> bool {
    statement.voided_by.is_some() && statement.keys.voids.is_none()
}
