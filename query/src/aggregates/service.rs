//! The aggregates service: reads rosters, facts and summaries from the stores, keeps each
//! tenant's roster, actor directory and dimension dictionary in memory, and answers
//! `GET /api/v1/aggregates` and the inactive-learner list for a reader (decision 12: what a
//! principal may see is decided here, below HTTP, for the API, the dashboard and exports alike).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use lrs_progress::ReadVisibility;
use lrs_roster::{
    ActorRef, Alias, Calendar, Day, DayRange, IdentityConfig, IdentityIndex, Members,
    PersistedRecord, RecordKind, Removal, RosterRecord, RosterState, RosterVersion, SourcedId,
    UserKey, Visibility,
};
use lrs_schema::envelope::Key16;
use lrs_schema::{DimKey, FactConfig, FactDim, ValidationError};
use lrs_store::{
    ACTOR_TERMS, ALIAS_KIND, Micros, RosterRecordRow, RosterStore, StoreError, StoreErrorKind,
    StudyLogStore, TRANSFER_KIND, TermRow, now_micros,
};
use tokio::sync::{Mutex, RwLock};

use crate::aggregates::engine::{
    ActorEntry, Aggregation, Learner, Reader, Tally, TenantView, month_of_number, split_period,
};
use crate::aggregates::output::{AggregateAnswer, keyed_rows};
use crate::aggregates::request::AggregateRequest;

/// Settings of the study-log views (`[studylog]` in the configuration).
#[derive(Clone, Debug)]
pub struct StudyLogSettings {
    /// The deployment's time zone: a statement counts on the local day of its `timestamp`.
    pub calendar: Calendar,
    /// Where facts find the subject and the curriculum code.
    pub facts: FactConfig,
    /// The learning e-portals' `account.homePage`s (empty: any homePage, identity rule 1).
    pub identity: IdentityConfig,
    /// Cross-board rows with fewer active learners than this are suppressed.
    pub min_cell_learners: usize,
    /// How long an aggregates request first waits for writes acknowledged before it.
    pub read_your_writes_wait: Duration,
}

impl Default for StudyLogSettings {
    fn default() -> Self {
        StudyLogSettings {
            calendar: Calendar::default(),
            facts: FactConfig::default(),
            identity: IdentityConfig::default(),
            min_cell_learners: 10,
            read_your_writes_wait: Duration::from_secs(2),
        }
    }
}

/// Why an aggregates request failed: `Invalid` is a 400, `Forbidden` a 403, `Store` what the
/// store's kind says.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Forbidden(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A learner flagged by the early-warning list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InactiveLearner {
    pub learner: String,
    /// The last statement within the look-back (µs), if any.
    pub last_active: Option<Micros>,
}

/// A class as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassMembers {
    /// `classes.csv` `title` (e.g. 4年1組).
    pub title: String,
    /// The learners' `users.csv` sourcedIds.
    pub learners: Vec<String>,
}

/// How far back identity and dictionary reloads overlap the previous one (the writers'
/// clocks may disagree).
const TERMS_OVERLAP_MICROS: i64 = 60_000_000;

/// One tenant's cached view and how fresh it is.
struct TenantCache {
    view: TenantView,
    /// The aliases the identity index was built with.
    aliases: Vec<Alias>,
    /// How many roster versions the view holds (`usize::MAX`: reload on the next read).
    roster_versions: usize,
    /// The highest `first_seen` of the terms loaded (None: nothing loaded yet).
    terms_seen: Option<Micros>,
}

/// Answers aggregates for every tenant.
pub struct AggregateService {
    study: Arc<dyn StudyLogStore>,
    rosters: Arc<dyn RosterStore>,
    visibility: Arc<ReadVisibility>,
    settings: StudyLogSettings,
    tenants: Mutex<HashMap<String, Arc<RwLock<TenantCache>>>>,
}

impl AggregateService {
    pub fn new(
        study: Arc<dyn StudyLogStore>,
        rosters: Arc<dyn RosterStore>,
        visibility: Arc<ReadVisibility>,
        settings: StudyLogSettings,
    ) -> AggregateService {
        AggregateService {
            study,
            rosters,
            visibility,
            settings,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &StudyLogSettings {
        &self.settings
    }

    pub fn calendar(&self) -> &Calendar {
        &self.settings.calendar
    }

    async fn cache(&self, tenant: &str) -> Arc<RwLock<TenantCache>> {
        self.tenants
            .lock()
            .await
            .entry(tenant.to_owned())
            .or_insert_with(|| {
                Arc::new(RwLock::new(TenantCache {
                    view: TenantView {
                        tenant: tenant.to_owned(),
                        ..TenantView::default()
                    },
                    aliases: Vec::new(),
                    roster_versions: 0,
                    terms_seen: None,
                }))
            })
            .clone()
    }

    /// The tenant's current roster (for planning an import on it).
    pub async fn roster(&self, tenant: &str) -> Result<Arc<RosterState>, StoreError> {
        let cache = self.cache(tenant).await;
        self.refresh(&cache, false).await?;
        let guard = cache.read().await;
        Ok(guard.view.roster.clone())
    }

    /// Brings a tenant's view up to date: the roster when a version was added, then the terms
    /// recorded since the last load (all of them when `full`).
    async fn refresh(&self, cache: &RwLock<TenantCache>, full: bool) -> Result<(), StoreError> {
        let mut cache = cache.write().await;
        let tenant = cache.view.tenant.clone();
        let versions = self.rosters.roster_versions(&tenant).await?;
        let roster_changed = versions.len() != cache.roster_versions;
        if roster_changed {
            let records = self.rosters.roster_records(&tenant).await?;
            let (roster, aliases) = rebuild(&versions, records)?;
            let identity = IdentityIndex::new(&self.settings.identity, &aliases, &roster);
            cache.view.roster = Arc::new(roster);
            cache.aliases = aliases;
            cache.roster_versions = versions.len();
            // Who every known actor is may have changed.
            let view = &mut cache.view;
            let roster = view.roster.clone();
            for entry in view.actors.values_mut() {
                entry.user = resolve(&identity, &roster, &entry.text);
            }
            view.identity = Arc::new(identity);
            reindex_users(view);
        }
        let since = if full {
            None
        } else {
            cache.terms_seen.map(|seen| seen - TERMS_OVERLAP_MICROS)
        };
        let terms = self.study.terms(&tenant, since).await?;
        let mut new_actor = false;
        for term in terms {
            cache.terms_seen = Some(cache.terms_seen.unwrap_or(i64::MIN).max(term.first_seen));
            add_term(&mut cache.view, term, &mut new_actor);
        }
        if new_actor {
            reindex_users(&mut cache.view);
        }
        Ok(())
    }

    /// The reader a principal is, in `tenant`, on the reference `day`: bound to a roster user
    /// (what their roles allow), the whole tenant, or (across tenants) the prefecture.
    pub async fn reader(
        &self,
        tenant: &str,
        user: Option<&str>,
        prefecture: bool,
        day: Day,
    ) -> Result<Reader, StoreError> {
        if prefecture {
            return Ok(Reader::Prefecture);
        }
        let Some(user) = user else {
            return Ok(Reader::Tenant);
        };
        let roster = self.roster(tenant).await?;
        Ok(match roster.user_key(user) {
            Some(key) => Reader::Bound {
                user: Some(key),
                visibility: roster.visibility(key, day),
            },
            // A principal bound to a user the roster does not know sees nothing.
            None => Reader::Bound {
                user: None,
                visibility: Visibility::nothing(),
            },
        })
    }

    /// `GET /api/v1/aggregates` for one tenant, or across every tenant for the prefecture.
    /// `writer`: who asks, as a writer (the answer first waits for their own acknowledged
    /// statements, at most `read_your_writes_wait`).
    pub async fn aggregate(
        &self,
        tenant: &str,
        reader: &Reader,
        writer: Option<lrs_progress::Writer>,
        params: &[(String, String)],
    ) -> Result<AggregateAnswer, AggregateError> {
        let calendar = self.settings.calendar;
        let request = AggregateRequest::from_params(params, &calendar, now_micros())?;
        check_request(&request, reader)?;
        self.visibility
            .wait_for_own_writes(writer, self.settings.read_your_writes_wait)
            .await;
        let consistent_through = self.visibility.consistent_through();
        let tenants = match reader {
            Reader::Prefecture => {
                let mut tenants = self.study.study_tenants().await?;
                if let Some(board) = &request.filters.board {
                    tenants.retain(|t| t == board);
                }
                tenants
            }
            _ => vec![tenant.to_owned()],
        };
        // Rows of several tenants meet under the same dimension values (serialized as the key).
        let mut merged: BTreeMap<String, (Vec<Option<serde_json::Value>>, Tally)> = BTreeMap::new();
        for tenant in tenants {
            for (values, tally) in self.aggregate_tenant(&tenant, reader, &request).await? {
                let key = serde_json::to_string(&values).expect("JSON values serialize");
                match merged.entry(key) {
                    std::collections::btree_map::Entry::Occupied(mut e) => {
                        e.get_mut().1.merge_other_tenant(tally)
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert((values, tally));
                    }
                }
            }
        }
        let suppress =
            matches!(reader, Reader::Prefecture).then_some(self.settings.min_cell_learners);
        Ok(AggregateAnswer::new(
            request.group_by.clone(),
            request.metrics.clone(),
            merged.into_values().collect(),
            consistent_through,
            suppress,
        ))
    }

    async fn aggregate_tenant(
        &self,
        tenant: &str,
        reader: &Reader,
        request: &AggregateRequest,
    ) -> Result<Vec<(Vec<Option<serde_json::Value>>, Tally)>, AggregateError> {
        let cache = self.cache(tenant).await;
        self.refresh(&cache, false).await?;
        let guard = cache.read().await;
        let view = &guard.view;
        let calendar = self.settings.calendar;
        let mut aggregation = Aggregation::new(request, view, &calendar, reader);
        check_filters(request, view, reader)?;
        if aggregation.filters().nothing {
            return Ok(Vec::new());
        }
        let (first, last) = request.days(&calendar);
        let actors = candidate_actors(request, view, reader, DayRange::new(first, last));
        let actors = actors.as_deref();
        let summaries_answer =
            request.group_by.iter().all(|d| d.in_summaries()) && !request.filters.on_statements();
        let (months, mut edges) = if summaries_answer {
            whole_months(request, &calendar, first, last)
        } else {
            (Vec::new(), vec![DayRange::new(first, last)])
        };
        let mut refetch: Vec<(i32, Vec<Key16>)> = Vec::new();
        for month in months {
            let summaries = self.study.month_summaries(tenant, month, actors).await?;
            let mut split = Vec::new();
            let month_value = month_of_number(month);
            for (actor, summary) in &summaries {
                if aggregation.summary_usable(*actor, month_value, summary) {
                    aggregation.add_summary(*actor, month_value, summary);
                } else {
                    split.push(*actor);
                }
            }
            if !split.is_empty() {
                refetch.push((month, split));
            }
        }
        for (month, split) in refetch {
            let start = month_of_number(month).first_day();
            let end = month_of_number(month + 1).first_day();
            for row in self
                .study
                .facts(
                    tenant,
                    start.days_since_epoch(),
                    end.days_since_epoch(),
                    Some(&split),
                )
                .await?
            {
                aggregation.add_fact(&row);
            }
        }
        edges.retain(|range| !range.is_empty());
        for range in edges {
            for row in self
                .study
                .facts(
                    tenant,
                    range.start.days_since_epoch(),
                    range.end.days_since_epoch(),
                    actors,
                )
                .await?
            {
                aggregation.add_fact(&row);
            }
        }
        let rows = std::mem::take(&mut aggregation.rows);
        Ok(keyed_rows(view, &request.group_by, rows))
    }

    /// `GET /api/v1/learners/inactive?days=N&class=…`: the class's learners (enrolled on `day`)
    /// with no statement on the last `school_days` school days (Monday to Friday) up to `day`.
    pub async fn inactive(
        &self,
        tenant: &str,
        reader: &Reader,
        writer: Option<lrs_progress::Writer>,
        class: &str,
        school_days: u32,
        day: Day,
    ) -> Result<(Vec<InactiveLearner>, Micros), AggregateError> {
        if matches!(reader, Reader::Prefecture) {
            return Err(AggregateError::Forbidden(
                "a prefecture principal sees cross-board aggregates only".into(),
            ));
        }
        if let Reader::Bound { visibility, .. } = reader
            && !visibility.allows_class(class)
        {
            return Err(AggregateError::Forbidden(format!(
                "class {class} is not yours to see"
            )));
        }
        self.visibility
            .wait_for_own_writes(writer, self.settings.read_your_writes_wait)
            .await;
        let consistent_through = self.visibility.consistent_through();
        let cache = self.cache(tenant).await;
        self.refresh(&cache, false).await?;
        let guard = cache.read().await;
        let view = &guard.view;
        let Some(class_key) = view.roster.class_key(class) else {
            return Ok((Vec::new(), consistent_through));
        };
        let window_start = school_days_back(day, school_days.max(1));
        let students = view
            .roster
            .students(Members::Class(class_key), DayRange::new(day, day.next()));
        // Look back two months for the last activity of those flagged.
        let lookback = day.add_days(-62).min(window_start);
        let actors = view.actors_of(&students);
        let facts = self
            .study
            .facts(
                tenant,
                lookback.days_since_epoch(),
                day.next().days_since_epoch(),
                Some(&actors),
            )
            .await?;
        let calendar = self.settings.calendar;
        let mut last: HashMap<UserKey, Micros> = HashMap::new();
        for row in &facts {
            if let Learner::User(user) = view.learner(row.fact.actor) {
                let entry = last.entry(user).or_insert(i64::MIN);
                *entry = (*entry).max(row.fact.timestamp);
            }
        }
        let window_from = calendar.start_of(window_start);
        let mut flagged: Vec<InactiveLearner> = students
            .into_iter()
            .filter(|user| last.get(user).is_none_or(|&at| at < window_from))
            .map(|user| InactiveLearner {
                learner: view.roster.user_sourced_id(user).to_owned(),
                last_active: last.get(&user).copied(),
            })
            .collect();
        flagged.sort_by(|a, b| a.learner.cmp(&b.learner));
        Ok((flagged, consistent_through))
    }

    /// A class's title and the learners (`student` enrollments) it has on any day of `range`,
    /// sorted by sourcedId, for a reader allowed to see the class (403 otherwise, as
    /// `/api/v1/aggregates?class=…`); `None` when the roster has no such class (said before
    /// access is checked, so a launch from an unknown class is told so). The dashboard's class
    /// view lists every learner, the inactive ones too.
    pub async fn class_members(
        &self,
        tenant: &str,
        reader: &Reader,
        class: &str,
        range: DayRange,
    ) -> Result<Option<ClassMembers>, AggregateError> {
        if matches!(reader, Reader::Prefecture) {
            return Err(AggregateError::Forbidden(
                "a prefecture principal sees cross-board aggregates only".into(),
            ));
        }
        let roster = self.roster(tenant).await?;
        let Some(key) = roster.class_key(class) else {
            return Ok(None);
        };
        if let Reader::Bound { visibility, .. } = reader
            && !visibility.allows_class(class)
        {
            return Err(AggregateError::Forbidden(format!(
                "class {class} is not yours to see"
            )));
        }
        let mut learners: Vec<String> = roster
            .students(Members::Class(key), range)
            .into_iter()
            .map(|user| roster.user_sourced_id(user).to_owned())
            .collect();
        learners.sort();
        learners.dedup();
        Ok(Some(ClassMembers {
            title: roster
                .class(key)
                .map(|c| c.title.clone())
                .unwrap_or_default(),
            learners,
        }))
    }

    /// Installs the roster an import of this instance committed, when the cache holds the
    /// version it was planned on (else the next read reloads from the store): re-attribution
    /// of a transfer is then a swap of the roster and of the identity index, not a reload.
    pub async fn installed(&self, tenant: &str, next: RosterState) {
        let cache = self.tenants.lock().await.get(tenant).cloned();
        let Some(cache) = cache else { return };
        let mut cache = cache.write().await;
        if cache.roster_versions == usize::MAX || cache.view.roster.version() + 1 != next.version()
        {
            cache.roster_versions = usize::MAX;
            return;
        }
        let identity = IdentityIndex::new(&self.settings.identity, &cache.aliases, &next);
        let view = &mut cache.view;
        view.roster = Arc::new(next);
        let roster = view.roster.clone();
        for entry in view.actors.values_mut() {
            entry.user = resolve(&identity, &roster, &entry.text);
        }
        view.identity = Arc::new(identity);
        reindex_users(view);
        cache.roster_versions += 1;
    }

    /// Forgets a tenant's cached roster (after an alias upload or a lost race), so the next
    /// read reloads it; the dictionaries stay.
    pub async fn invalidate(&self, tenant: &str) {
        let cache = self.tenants.lock().await.get(tenant).cloned();
        if let Some(cache) = cache {
            // The roster is reloaded on the next read; the dictionaries stay.
            cache.write().await.roster_versions = usize::MAX;
        }
    }
}

/// A tenant's view read afresh from the stores, outside any cache: its roster, every actor its
/// facts name (resolved to roster users by `identity`) and the text of every dimension key.
/// Research extracts (`crate::extract`) read it once per run.
pub async fn load_view(
    study: &dyn StudyLogStore,
    rosters: &dyn RosterStore,
    identity: &IdentityConfig,
    tenant: &str,
) -> Result<TenantView, StoreError> {
    let versions = rosters.roster_versions(tenant).await?;
    let records = rosters.roster_records(tenant).await?;
    let (roster, aliases) = rebuild(&versions, records)?;
    let mut view = TenantView {
        tenant: tenant.to_owned(),
        identity: Arc::new(IdentityIndex::new(identity, &aliases, &roster)),
        roster: Arc::new(roster),
        ..TenantView::default()
    };
    let mut new_actor = false;
    for term in study.terms(tenant, None).await? {
        add_term(&mut view, term, &mut new_actor);
    }
    reindex_users(&mut view);
    Ok(view)
}

/// The first day of the `n` school days (Monday–Friday) ending on `day`.
pub fn school_days_back(day: Day, n: u32) -> Day {
    let mut counted = 0;
    let mut current = day;
    loop {
        let weekday = (current.days_since_epoch() + 3).rem_euclid(7); // 0 = Monday
        if weekday < 5 {
            counted += 1;
            if counted == n {
                return current;
            }
        }
        current = current.add_days(-1);
    }
}

/// What a reader may not ask at all, whatever the data.
fn check_request(request: &AggregateRequest, reader: &Reader) -> Result<(), AggregateError> {
    if let Reader::Prefecture = reader
        && (request.group_by.iter().any(|d| d.below_school())
            || request.filters.class.is_some()
            || request.filters.learner.is_some())
    {
        return Err(AggregateError::Forbidden(
            "a prefecture principal sees aggregates by board, school or coarser, never by class or learner".into(),
        ));
    }
    Ok(())
}

/// A bound reader's filters must name what they may see (decision 12: 403, not an empty answer).
fn check_filters(
    request: &AggregateRequest,
    view: &TenantView,
    reader: &Reader,
) -> Result<(), AggregateError> {
    let Reader::Bound { user, visibility } = reader else {
        return Ok(());
    };
    let filters = &request.filters;
    let own = user.map(|u| view.roster.user_sourced_id(u).to_owned());
    let refuse = |what: String| {
        Err(AggregateError::Forbidden(format!(
            "{what} is not yours to see"
        )))
    };
    if let Some(school) = &filters.school
        && !visibility.allows_school(school)
    {
        return refuse(format!("school {school}"));
    }
    if let Some(class) = &filters.class
        && !visibility.allows_class(class)
    {
        return refuse(format!("class {class}"));
    }
    if let Some(learner) = &filters.learner
        && own.as_deref() != Some(learner.as_str())
        && !visibility.allows_learner(learner)
    {
        return refuse(format!("learner {learner}"));
    }
    Ok(())
}

/// The actors whose facts a request needs, or `None` for every actor of the tenant.
fn candidate_actors(
    request: &AggregateRequest,
    view: &TenantView,
    reader: &Reader,
    range: DayRange,
) -> Option<Vec<Key16>> {
    let roster = &view.roster;
    let filters = &request.filters;
    if let Some(learner) = &filters.learner {
        return Some(match roster.user_key(learner) {
            Some(user) => view.actors_of(&[user]),
            None => vec![Key16::of(learner)],
        });
    }
    let members = if let Some(class) = filters.class.as_deref().and_then(|c| roster.class_key(c)) {
        Some(Members::Class(class))
    } else if let Some(school) = filters.school.as_deref().and_then(|s| roster.org_key(s)) {
        Some(Members::School(school))
    } else {
        filters
            .grade
            .as_deref()
            .and_then(lrs_roster::Grade::parse)
            .map(Members::Grade)
    };
    if let Some(members) = members {
        return Some(view.actors_of(&roster.students(members, range)));
    }
    match reader {
        Reader::Bound { user, visibility } => {
            let mut users: Vec<UserKey> = visibility
                .learners()
                .into_iter()
                .flatten()
                .filter_map(|id| roster.user_key(id.as_str()))
                .collect();
            users.extend(*user);
            if let Some(schools) = visibility.schools() {
                for school in schools {
                    if let Some(org) = roster.org_key(school.as_str()) {
                        users.extend(roster.students(Members::School(org), range));
                    }
                }
            }
            if visibility.is_whole_tenant() {
                return None;
            }
            Some(view.actors_of(&users))
        }
        _ => None,
    }
}

/// The month numbers wholly inside the request's period, and the day ranges left at its ends.
fn whole_months(
    request: &AggregateRequest,
    calendar: &Calendar,
    first: Day,
    last: Day,
) -> (Vec<i32>, Vec<DayRange>) {
    // A period not starting (ending) at a local midnight leaves its first (last) day partial.
    let full_first = if calendar.start_of(first) == request.since {
        first
    } else {
        first.next()
    };
    let full_last = if calendar.start_of(last) == request.until {
        last
    } else {
        last.add_days(-1)
    };
    if full_first >= full_last {
        return (Vec::new(), vec![DayRange::new(first, last)]);
    }
    let (months, mut edges) = split_period(full_first, full_last);
    if full_first != first {
        edges.push(DayRange::new(first, full_first));
    }
    if full_last != last {
        edges.push(DayRange::new(full_last, last));
    }
    (months, edges)
}

/// Rebuilds a roster from its stored versions and records; the aliases come back apart.
fn rebuild(
    versions: &[lrs_store::RosterVersionRow],
    records: Vec<RosterRecordRow>,
) -> Result<(RosterState, Vec<Alias>), StoreError> {
    let corrupt = |what: &str, e: serde_json::Error| {
        StoreError::new(StoreErrorKind::Corrupt, format!("roster {what}: {e}"))
    };
    let versions: Vec<RosterVersion> = versions
        .iter()
        .map(|v| serde_json::from_slice(&v.body).map_err(|e| corrupt("version", e)))
        .collect::<Result<_, _>>()?;
    let mut persisted = Vec::with_capacity(records.len());
    let mut aliases = Vec::new();
    let mut transfers = Vec::new();
    for row in records {
        if row.kind == TRANSFER_KIND {
            let transfer: TransferRecord =
                serde_json::from_slice(&row.record).map_err(|e| corrupt("transfer", e))?;
            transfers.push((row.sourced_id, transfer.day));
            continue;
        }
        if row.kind == ALIAS_KIND {
            let (home_page, name) = row
                .sourced_id
                .split_once('\0')
                .unwrap_or((&row.sourced_id, ""));
            let user = String::from_utf8_lossy(&row.record);
            if let Some(user_sourced_id) = SourcedId::parse(&user) {
                aliases.push(Alias {
                    home_page: home_page.to_owned(),
                    name: name.to_owned(),
                    user_sourced_id,
                });
            }
            continue;
        }
        let record: RosterRecord =
            serde_json::from_slice(&row.record).map_err(|e| corrupt("record", e))?;
        let removal: Option<Removal> = row
            .removal
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|e| corrupt("removal", e))?;
        persisted.push(PersistedRecord { record, removal });
    }
    let mut roster = RosterState::rebuild(versions, persisted);
    for (user, day) in transfers {
        if let Some(day) = Day::parse(&day) {
            roster.set_transfer(&user, day);
        }
    }
    Ok((roster, aliases))
}

/// A learner's transfer into the tenant, as held under [`TRANSFER_KIND`] (issue 14 §2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// The local day they joined (`YYYY-MM-DD`).
    pub day: String,
    /// The board their history came from.
    pub source_tenant: String,
}

/// The kind byte a roster record is stored under.
pub fn record_kind_code(kind: RecordKind) -> u8 {
    kind.index() as u8
}

fn resolve(identity: &IdentityIndex, roster: &RosterState, text: &str) -> Option<UserKey> {
    let actor = ActorRef::from_canonical(text)?;
    identity.resolve(roster, actor).map(|r| r.user)
}

fn add_term(view: &mut TenantView, term: TermRow, new_actor: &mut bool) {
    if term.dim == ACTOR_TERMS {
        if !view.actors.contains_key(&term.key) {
            let user = resolve(&view.identity, &view.roster, &term.text);
            view.actors.insert(
                term.key,
                ActorEntry {
                    text: term.text,
                    user,
                },
            );
            *new_actor = true;
        }
    } else if let Some(dim) = FactDim::from_code(term.dim) {
        let mut key = [0u8; 8];
        key.copy_from_slice(&term.key.0[..8]);
        view.dims
            .insert((dim, DimKey(u64::from_le_bytes(key))), term.text);
    }
}

fn reindex_users(view: &mut TenantView) {
    let mut users: HashMap<UserKey, Vec<Key16>> = HashMap::new();
    for (key, entry) in &view.actors {
        if let Some(user) = entry.user {
            users.entry(user).or_default().push(*key);
        }
    }
    view.user_actors = users;
}

/// The rows' learners never overlap between tenants (one board's learner is not another's), so
/// their counts add.
impl Tally {
    pub fn merge_other_tenant(&mut self, other: Tally) {
        let learners = other.learners.len() as u64 + other.other_learners;
        let other = Tally {
            learners: Default::default(),
            other_learners: learners,
            ..other
        };
        self.merge(other);
    }
}
