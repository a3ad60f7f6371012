//! `RosterImporter`: a tenant's OneRoster import or alias upload, from the request body to one
//! atomic roster version in the store (issue 11 §1–§2).
//!
//! An import is parsed on the blocking pool ([`lrs_roster::parse_zip`]), planned on the tenant's
//! current roster ([`AggregateService::roster`]) and written with its version row in one
//! [`RosterStore::commit_roster`]: it lands whole or not at all. A bad import is refused before
//! anything is written, naming the file, line and column. When another import of the tenant got
//! in between the plan and the write (`PreconditionFailed`), the import is planned once more on
//! the roster that import made; a second loss is a 409. Every instance notices a new version on
//! its next read (the version count changes) and reloads it; this one installs the roster a zip
//! import made in its cache at once (no reload), and forgets it after an alias upload.

use std::sync::Arc;

use bytes::Bytes;
use lrs_query::aggregates::AggregateService;
use lrs_query::aggregates::service::{TransferRecord, record_kind_code};
use lrs_roster::{
    Alias, Calendar, ImportSummary, ParseOptions, RecordChange, RosterState, RosterVersion, UtcTime,
};
use lrs_store::{
    ALIAS_KIND, RosterChangeRow, RosterStore, RosterVersionRow, StoreErrorKind, TRANSFER_KIND,
    now_micros,
};
use serde::Serialize;

use crate::error::{ApiError, ApiErrorKind};

const CONFLICT_RULE: &str = "LRS rosters: imports of one tenant are applied one after another; retry when the other import is done";

/// How many times an import is planned when other imports keep getting in first.
const PLAN_ATTEMPTS: usize = 2;

/// Imports rosters and aliases into the store, for every tenant.
pub struct RosterImporter {
    aggregates: Arc<AggregateService>,
    rosters: Arc<dyn RosterStore>,
    options: ParseOptions,
    max_body_bytes: usize,
}

/// What an alias upload answers: its version (with an empty summary) and how many aliases it
/// wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasUpload {
    #[serde(flatten)]
    pub version: RosterVersion,
    pub aliases: usize,
}

/// One planned version: its row and the changes to write with it, and for a zip import the
/// roster it makes (installed in this instance's cache once committed, so a transfer is
/// re-attributed without reloading the roster).
struct Commit {
    version: RosterVersion,
    row: RosterVersionRow,
    changes: Vec<RosterChangeRow>,
    next: Option<RosterState>,
}

impl RosterImporter {
    /// `options`: what parsing keeps (`[studylog] keep_person_names`) and how much it may
    /// decompress; `max_body_bytes`: the largest zip or CSV body accepted.
    pub fn new(
        aggregates: Arc<AggregateService>,
        rosters: Arc<dyn RosterStore>,
        options: ParseOptions,
        max_body_bytes: usize,
    ) -> RosterImporter {
        RosterImporter {
            aggregates,
            rosters,
            options,
            max_body_bytes,
        }
    }

    /// The largest roster body accepted (413 beyond).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// `POST /api/v1/roster`: imports the zip `body` into `tenant`'s roster; answers the version
    /// it made. `before_commit` may still refuse a valid import (the disk reserve): a bad
    /// import is a 400 whatever else is wrong.
    pub async fn import_zip(
        &self,
        tenant: &str,
        body: Bytes,
        before_commit: impl Fn() -> Result<(), ApiError>,
    ) -> Result<RosterVersion, ApiError> {
        let plan = move |roster: &RosterState, context: &PlanContext| {
            // Parsed again on a second attempt: planning consumes the import.
            let import = lrs_roster::parse_zip(&body, &context.options)?;
            let imported_at = UtcTime::from_micros(now_micros());
            let plan = roster.plan(import, imported_at, &context.calendar)?;
            let changes = plan.changes().iter().map(change_row).collect();
            let mut next = roster.clone();
            next.apply(&plan)?;
            let mut commit = commit(plan.version().clone(), changes);
            commit.next = Some(next);
            Ok((commit, 0))
        };
        self.commit_planned(tenant, plan, before_commit)
            .await
            .map(|(version, _)| version)
    }

    /// `POST /api/v1/roster/aliases`: upserts the aliases of the CSV `body` as a roster version
    /// (`before_commit` as for [`import_zip`](Self::import_zip)).
    pub async fn import_aliases(
        &self,
        tenant: &str,
        body: Bytes,
        before_commit: impl Fn() -> Result<(), ApiError>,
    ) -> Result<AliasUpload, ApiError> {
        let plan = move |roster: &RosterState, _: &PlanContext| {
            let aliases = lrs_roster::parse_aliases(&body, roster)?;
            Ok(alias_commit(roster, &aliases))
        };
        self.commit_planned(tenant, plan, before_commit)
            .await
            .map(|(version, aliases)| AliasUpload { version, aliases })
    }

    /// A learner's import from another board (issue 14 §2): upserts `aliases` (the imported
    /// accounts, each mapped to the receiving user) and the learner's transfer record as one
    /// roster version. `None` (and nothing written) when there is nothing to record.
    pub async fn import_transfer(
        &self,
        tenant: &str,
        aliases: Vec<Alias>,
        transfer: Option<(String, TransferRecord)>,
        before_commit: impl Fn() -> Result<(), ApiError>,
    ) -> Result<Option<u32>, ApiError> {
        if aliases.is_empty() && transfer.is_none() {
            return Ok(None);
        }
        let plan = move |roster: &RosterState, _: &PlanContext| {
            let (mut commit, count) = alias_commit(roster, &aliases);
            if let Some((user, record)) = &transfer {
                commit.changes.push(RosterChangeRow::Upsert {
                    kind: TRANSFER_KIND,
                    sourced_id: user.clone(),
                    record: json(record),
                });
            }
            Ok((commit, count))
        };
        self.commit_planned(tenant, plan, before_commit)
            .await
            .map(|(version, _)| Some(version.number))
    }

    /// Plans on the tenant's current roster (on the blocking pool) and commits, planning once
    /// more if another import got in first. `plan` answers the commit and a count to report.
    async fn commit_planned<F>(
        &self,
        tenant: &str,
        plan: F,
        before_commit: impl Fn() -> Result<(), ApiError>,
    ) -> Result<(RosterVersion, usize), ApiError>
    where
        F: Fn(&RosterState, &PlanContext) -> Result<(Commit, usize), ApiError>
            + Send
            + Sync
            + 'static,
    {
        let plan = Arc::new(plan);
        let context = Arc::new(PlanContext {
            options: self.options.clone(),
            calendar: *self.aggregates.calendar(),
        });
        for attempt in 1..=PLAN_ATTEMPTS {
            let roster = self.aggregates.roster(tenant).await?;
            let (plan, context) = (plan.clone(), context.clone());
            let (mut commit, count) = actix_web::web::block(move || plan(&roster, &context))
                .await
                .map_err(|e| ApiError::internal("roster planning pool", &e))??;
            before_commit()?;
            match self
                .rosters
                .commit_roster(tenant, &commit.row, &commit.changes)
                .await
            {
                Ok(()) => {
                    match commit.next.take() {
                        Some(next) => self.aggregates.installed(tenant, next).await,
                        None => self.aggregates.invalidate(tenant).await,
                    }
                    tracing::info!(
                        tenant,
                        version = commit.version.number,
                        changes = commit.changes.len(),
                        "roster version committed"
                    );
                    return Ok((commit.version, count));
                }
                Err(err) if err.kind() == StoreErrorKind::PreconditionFailed => {
                    // Another import of the tenant committed first: plan again on its roster.
                    self.aggregates.invalidate(tenant).await;
                    tracing::info!(tenant, attempt, "roster import lost a race; planning again");
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(ApiError::with_rule(
            ApiErrorKind::Conflict,
            CONFLICT_RULE,
            "other roster imports of this tenant were committed while this one was planned; nothing was written",
        ))
    }
}

/// What planning needs besides the roster.
struct PlanContext {
    options: ParseOptions,
    /// The deployment's calendar: a bulk removal counts from the import's local day.
    calendar: Calendar,
}

/// The store row of one planned change: the record as JSON, or for a removal the removal alone
/// (the record's data stays as held).
fn change_row(change: &RecordChange) -> RosterChangeRow {
    let kind = record_kind_code(change.kind());
    match change {
        RecordChange::Upsert { record } => RosterChangeRow::Upsert {
            kind,
            sourced_id: record.sourced_id().as_str().to_owned(),
            record: json(record),
        },
        RecordChange::Remove {
            sourced_id,
            removal,
            ..
        } => RosterChangeRow::Remove {
            kind,
            sourced_id: sourced_id.as_str().to_owned(),
            removal: json(removal),
        },
    }
}

/// The version an alias upload makes on `roster`, its changes upserting one record each.
fn alias_commit(roster: &RosterState, aliases: &[Alias]) -> (Commit, usize) {
    let version = RosterVersion {
        number: roster.version() + 1,
        imported_at: UtcTime::from_micros(now_micros()),
        summary: ImportSummary::default(),
    };
    let changes = aliases
        .iter()
        .map(|alias| RosterChangeRow::Upsert {
            kind: ALIAS_KIND,
            sourced_id: format!("{}\0{}", alias.home_page, alias.name),
            record: Bytes::copy_from_slice(alias.user_sourced_id.as_str().as_bytes()),
        })
        .collect();
    (commit(version, changes), aliases.len())
}

fn commit(version: RosterVersion, changes: Vec<RosterChangeRow>) -> Commit {
    let row = RosterVersionRow {
        number: version.number,
        imported_at: version.imported_at.micros(),
        body: json(&version),
    };
    Commit {
        version,
        row,
        changes,
        next: None,
    }
}

fn json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("roster values serialize"))
}
