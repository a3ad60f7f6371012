//! Turning facts and month summaries into rows (issue 11 §3–§7).
//!
//! Each fact (or month summary) is resolved to a learner through the tenant's actor directory,
//! attributed to the classes, schools and grade of its learner on its local day (the roster's
//! latest knowledge, decision 9), checked against the filters and the reader's visibility, and
//! added to the row of each combination of its dimension values. Nothing here reads a store:
//! the service hands in what it read.

use std::collections::{BTreeMap, HashMap, HashSet};

use lrs_roster::{
    Attribution, Calendar, ClassKey, Day, DayRange, Grade, Month, OrgKey, RosterState, SchoolYear,
    Timeline, UserKey, Visibility,
};
use lrs_schema::envelope::Key16;
use lrs_schema::{DimKey, FactDim, MonthSummary, StudyFact, civil_date};
use lrs_store::FactRow;

use crate::aggregates::request::{AggregateRequest, Dimension, Metric};

/// Who a fact's actor is: a roster user, or an actor no rule resolved (still a learner, under
/// its own identity, in no class or school).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Learner {
    User(UserKey),
    Actor(Key16),
}

/// An actor the tenant's statements named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorEntry {
    /// The canonical identifier (`account::<homePage>::<name>`, `mbox::mailto:…`).
    pub text: String,
    pub user: Option<UserKey>,
}

/// One tenant as the aggregates read it: its roster, who its actors are, and the text behind
/// its dimension keys.
#[derive(Clone, Default)]
pub struct TenantView {
    pub tenant: String,
    pub roster: std::sync::Arc<RosterState>,
    pub identity: std::sync::Arc<lrs_roster::IdentityIndex>,
    pub actors: HashMap<Key16, ActorEntry>,
    pub user_actors: HashMap<UserKey, Vec<Key16>>,
    pub dims: HashMap<(FactDim, DimKey), String>,
}

impl TenantView {
    pub fn learner(&self, actor: Key16) -> Learner {
        match self.actors.get(&actor).and_then(|a| a.user) {
            Some(user) => Learner::User(user),
            None => Learner::Actor(actor),
        }
    }

    /// The actors of these users (every identity resolved to them).
    pub fn actors_of(&self, users: &[UserKey]) -> Vec<Key16> {
        let mut actors: Vec<Key16> = users
            .iter()
            .flat_map(|u| self.user_actors.get(u).into_iter().flatten().copied())
            .collect();
        actors.sort_unstable();
        actors.dedup();
        actors
    }

    pub fn learner_text(&self, learner: Learner) -> String {
        match learner {
            Learner::User(user) => self.roster.user_sourced_id(user).to_owned(),
            Learner::Actor(actor) => self
                .actors
                .get(&actor)
                .map_or_else(|| format!("{actor:?}"), |a| a.text.clone()),
        }
    }
}

/// What the reader may see.
#[derive(Clone, Debug)]
pub enum Reader {
    /// The whole tenant (a credential not bound to a roster user, or a district administrator).
    Tenant,
    /// A principal bound to a roster user: what their roles allow on the reference day (`user`
    /// `None`: a user the roster does not know, who sees nothing).
    Bound {
        user: Option<UserKey>,
        visibility: Visibility,
    },
    /// Across tenants, by board, school or coarser, small cells suppressed.
    Prefecture,
}

/// One part of a row's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// No value: a fact not attributed to any class (school, grade), or without the dimension.
    Null,
    Board,
    Org(OrgKey),
    Class(ClassKey),
    Grade(Grade),
    Learner(Learner),
    Day(Day),
    Month(Month),
    SchoolYear(SchoolYear),
    Hour(u8),
    Dim(DimKey),
}

/// A row's accumulated values.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub statements: u64,
    pub learners: HashSet<Learner>,
    /// Learners counted in another tenant's rows merged into this one (cross-board answers).
    pub other_learners: u64,
    pub learning_ms: u64,
    pub completions: u64,
    pub answered: u64,
    pub correct: u64,
    pub scaled_sum: f64,
    pub scaled_count: u64,
    pub last_active: i64,
}

impl Tally {
    pub fn active_learners(&self) -> u64 {
        self.learners.len() as u64 + self.other_learners
    }

    fn add_fact(&mut self, fact: &StudyFact, learner: Learner) {
        self.statements += 1;
        self.learners.insert(learner);
        self.learning_ms += u64::from(fact.duration_ms.unwrap_or(0));
        self.completions += u64::from(fact.completion == Some(true));
        self.answered += u64::from(fact.answered());
        self.correct += u64::from(fact.success == Some(true));
        if let Some(scaled) = fact.scaled {
            self.scaled_sum += f64::from(scaled);
            self.scaled_count += 1;
        }
        self.last_active = self.last_active.max(fact.timestamp);
    }

    fn add_summary(&mut self, summary: &MonthSummary, learner: Learner) {
        if summary.is_empty() {
            return;
        }
        self.statements += u64::from(summary.statements);
        self.learners.insert(learner);
        self.learning_ms += summary.learning_ms;
        self.completions += u64::from(summary.completions);
        self.answered += u64::from(summary.answered);
        self.correct += u64::from(summary.correct);
        self.scaled_sum += summary.scaled_sum;
        self.scaled_count += u64::from(summary.scaled_count);
        self.last_active = self.last_active.max(summary.last_active);
    }

    /// Adds another tally (rows of two tenants under one key).
    pub fn merge(&mut self, other: Tally) {
        self.statements += other.statements;
        self.learners.extend(other.learners);
        self.other_learners += other.other_learners;
        self.learning_ms += other.learning_ms;
        self.completions += other.completions;
        self.answered += other.answered;
        self.correct += other.correct;
        self.scaled_sum += other.scaled_sum;
        self.scaled_count += other.scaled_count;
        self.last_active = self.last_active.max(other.last_active);
    }
}

/// The filters resolved against one tenant.
#[derive(Clone, Debug, Default)]
pub struct ResolvedFilters {
    /// A filter names something this tenant does not have: no row can match.
    pub nothing: bool,
    pub school: Option<OrgKey>,
    pub class: Option<ClassKey>,
    pub grade: Option<Grade>,
    pub learner: Option<Learner>,
    pub tool: Option<DimKey>,
    pub verb: Option<DimKey>,
    pub activity: Option<DimKey>,
    pub subject: Option<DimKey>,
    pub curriculum_codes: Option<HashSet<DimKey>>,
}

impl ResolvedFilters {
    pub fn resolve(request: &AggregateRequest, view: &TenantView) -> ResolvedFilters {
        let filters = &request.filters;
        let roster = &view.roster;
        let mut resolved = ResolvedFilters::default();
        let mut missing = false;
        if let Some(board) = &filters.board {
            missing |= *board != view.tenant;
        }
        if let Some(school) = &filters.school {
            resolved.school = roster.org_key(school);
            missing |= resolved.school.is_none();
        }
        if let Some(class) = &filters.class {
            resolved.class = roster.class_key(class);
            missing |= resolved.class.is_none();
        }
        if let Some(grade) = &filters.grade {
            resolved.grade = Grade::parse(grade);
            missing |= resolved.grade.is_none();
        }
        if let Some(learner) = &filters.learner {
            resolved.learner = Some(match roster.user_key(learner) {
                Some(user) => Learner::User(user),
                None => Learner::Actor(Key16::of(learner)),
            });
        }
        let dim = |value: &Option<String>| value.as_deref().map(DimKey::of);
        resolved.tool = dim(&filters.tool);
        resolved.verb = dim(&filters.verb);
        resolved.activity = dim(&filters.activity);
        resolved.subject = dim(&filters.subject);
        if let Some(prefix) = &filters.curriculum_code_prefix {
            resolved.curriculum_codes = Some(
                view.dims
                    .iter()
                    .filter(|((d, _), text)| {
                        *d == FactDim::CurriculumCode && text.starts_with(prefix.as_str())
                    })
                    .map(|((_, key), _)| *key)
                    .collect(),
            );
        }
        resolved.nothing = missing;
        resolved
    }

    fn admits_fact(&self, fact: &StudyFact) -> bool {
        let is = |want: Option<DimKey>, have: DimKey| want.is_none_or(|w| w == have);
        is(self.tool, fact.tool)
            && is(self.verb, fact.verb)
            && is(self.activity, fact.activity)
            && is(self.subject, fact.subject)
            && self
                .curriculum_codes
                .as_ref()
                .is_none_or(|codes| codes.contains(&fact.curriculum_code))
    }
}

/// Aggregates one tenant's facts and month summaries into tallies by row key.
pub struct Aggregation<'a> {
    request: &'a AggregateRequest,
    view: &'a TenantView,
    calendar: &'a Calendar,
    reader: &'a Reader,
    filters: ResolvedFilters,
    timelines: HashMap<UserKey, Timeline>,
    pub rows: BTreeMap<[Part; 2], Tally>,
}

/// Not attributed anywhere (an unknown learner, or a day outside every enrollment).
static NOWHERE: std::sync::LazyLock<Attribution> = std::sync::LazyLock::new(Attribution::default);

impl<'a> Aggregation<'a> {
    pub fn new(
        request: &'a AggregateRequest,
        view: &'a TenantView,
        calendar: &'a Calendar,
        reader: &'a Reader,
    ) -> Aggregation<'a> {
        Aggregation {
            filters: ResolvedFilters::resolve(request, view),
            request,
            view,
            calendar,
            reader,
            timelines: HashMap::new(),
            rows: BTreeMap::new(),
        }
    }

    pub fn filters(&self) -> &ResolvedFilters {
        &self.filters
    }

    fn attribution(&mut self, learner: Learner, day: Day) -> Attribution {
        match learner {
            Learner::User(user) => self
                .timelines
                .entry(user)
                .or_insert_with(|| self.view.roster.timeline(user))
                .at(day)
                .clone(),
            Learner::Actor(_) => NOWHERE.clone(),
        }
    }

    /// Whether `learner`'s activity, attributed so, passes the roster filters and is visible.
    fn admits(&self, learner: Learner, attribution: &Attribution) -> bool {
        let f = &self.filters;
        if f.nothing {
            return false;
        }
        if f.learner.is_some_and(|l| l != learner)
            || f.class.is_some_and(|c| !attribution.classes().contains(&c))
            || f.school
                .is_some_and(|s| !attribution.schools().contains(&s))
            || f.grade.is_some_and(|g| attribution.grade() != Some(g))
        {
            return false;
        }
        match self.reader {
            Reader::Tenant | Reader::Prefecture => true,
            Reader::Bound { user, visibility } => {
                visibility.is_whole_tenant()
                    || user.is_some_and(|u| learner == Learner::User(u))
                    || attribution
                        .classes()
                        .iter()
                        .any(|&c| visibility.allows_class(self.view.roster.class_sourced_id(c)))
                    || attribution
                        .schools()
                        .iter()
                        .any(|&s| visibility.allows_school(self.view.roster.org_sourced_id(s)))
            }
        }
    }

    /// The values of one dimension for a unit of activity.
    fn parts(
        &self,
        dimension: Dimension,
        learner: Learner,
        attribution: &Attribution,
        when: When,
        fact: Option<&StudyFact>,
    ) -> Vec<Part> {
        let own = matches!(self.reader, Reader::Bound { user: Some(user), .. } if learner == Learner::User(*user));
        let visible_class = |c: ClassKey| match self.reader {
            Reader::Bound { visibility, .. } if !own => {
                visibility.allows_class(self.view.roster.class_sourced_id(c))
            }
            _ => true,
        };
        let visible_school = |s: OrgKey| match self.reader {
            Reader::Bound { visibility, .. } if !own => {
                visibility.allows_school(self.view.roster.org_sourced_id(s))
                    || attribution.classes().iter().any(|&c| {
                        visible_class(c)
                            && self.view.roster.class(c).is_some_and(|class| {
                                class.school.as_str() == self.view.roster.org_sourced_id(s)
                            })
                    })
            }
            _ => true,
        };
        let or_null = |parts: Vec<Part>| {
            if parts.is_empty() {
                vec![Part::Null]
            } else {
                parts
            }
        };
        let dim = |key: Option<DimKey>| match key {
            Some(key) if !key.is_none() => Part::Dim(key),
            _ => Part::Null,
        };
        match dimension {
            Dimension::Board => vec![Part::Board],
            Dimension::School => or_null(
                attribution
                    .schools()
                    .iter()
                    .copied()
                    .filter(|&s| self.filters.school.is_none_or(|f| f == s) && visible_school(s))
                    .map(Part::Org)
                    .collect(),
            ),
            Dimension::Class => or_null(
                attribution
                    .classes()
                    .iter()
                    .copied()
                    .filter(|&c| self.filters.class.is_none_or(|f| f == c) && visible_class(c))
                    .map(Part::Class)
                    .collect(),
            ),
            Dimension::Grade => vec![attribution.grade().map_or(Part::Null, Part::Grade)],
            Dimension::Learner => vec![Part::Learner(learner)],
            Dimension::Day => vec![when.day.map_or(Part::Null, Part::Day)],
            Dimension::Week => vec![when.day.map_or(Part::Null, |d| Part::Day(d.week_start()))],
            Dimension::Month => vec![Part::Month(when.month)],
            Dimension::SchoolYear => vec![Part::SchoolYear(when.school_year)],
            Dimension::Hour => vec![when.hour.map_or(Part::Null, Part::Hour)],
            Dimension::Tool => vec![dim(fact.map(|f| f.tool))],
            Dimension::Verb => vec![dim(fact.map(|f| f.verb))],
            Dimension::Activity => vec![dim(fact.map(|f| f.activity))],
            Dimension::ActivityType => vec![dim(fact.map(|f| f.activity_type))],
            Dimension::Subject => vec![dim(fact.map(|f| f.subject))],
            Dimension::CurriculumCode => vec![dim(fact.map(|f| f.curriculum_code))],
        }
    }

    fn keys(
        &self,
        learner: Learner,
        attribution: &Attribution,
        when: When,
        fact: Option<&StudyFact>,
    ) -> Vec<[Part; 2]> {
        let dims = &self.request.group_by;
        let first = dims.first().map_or(vec![Part::Null], |&d| {
            self.parts(d, learner, attribution, when, fact)
        });
        let second = dims.get(1).map_or(vec![Part::Null], |&d| {
            self.parts(d, learner, attribution, when, fact)
        });
        let mut keys = Vec::with_capacity(first.len() * second.len());
        for &a in &first {
            for &b in &second {
                keys.push([a, b]);
            }
        }
        keys
    }

    /// Counts one fact (its timestamp is checked against the period here).
    pub fn add_fact(&mut self, row: &FactRow) {
        let fact = &row.fact;
        if fact.timestamp < self.request.since
            || fact.timestamp >= self.request.until
            || !self.filters.admits_fact(fact)
        {
            return;
        }
        let learner = self.view.learner(fact.actor);
        let (day, hour) = self.calendar.day_and_hour(fact.timestamp);
        let attribution = self.attribution(learner, day);
        if !self.admits(learner, &attribution) {
            return;
        }
        let when = When::of_day(day, Some(hour));
        for key in self.keys(learner, &attribution, when, Some(fact)) {
            self.rows.entry(key).or_default().add_fact(fact, learner);
        }
    }

    /// Whether a month summary can stand for its facts: the learner's attribution is the same on
    /// every day of the month they were active (else their facts of that month are read).
    pub fn summary_usable(&mut self, actor: Key16, month: Month, summary: &MonthSummary) -> bool {
        let learner = self.view.learner(actor);
        let Learner::User(user) = learner else {
            return true;
        };
        let timeline = self
            .timelines
            .entry(user)
            .or_insert_with(|| self.view.roster.timeline(user));
        let mut seen: Option<&Attribution> = None;
        let first = month.first_day();
        for bit in 0..31 {
            if summary.active_days & (1 << bit) == 0 {
                continue;
            }
            let attribution = timeline.at(first.add_days(bit));
            match seen {
                None => seen = Some(attribution),
                Some(s) if s != attribution => return false,
                Some(_) => {}
            }
        }
        true
    }

    /// Counts one month summary (the caller checked [`Aggregation::summary_usable`] and that the
    /// month lies inside the period).
    pub fn add_summary(&mut self, actor: Key16, month: Month, summary: &MonthSummary) {
        if summary.is_empty() {
            return;
        }
        let learner = self.view.learner(actor);
        let active = (0..31)
            .find(|bit| summary.active_days & (1 << bit) != 0)
            .unwrap_or(0);
        let day = month.first_day().add_days(active);
        let attribution = self.attribution(learner, day);
        if !self.admits(learner, &attribution) {
            return;
        }
        let when = When {
            day: None,
            hour: None,
            month,
            school_year: day.school_year(),
        };
        for key in self.keys(learner, &attribution, when, None) {
            self.rows
                .entry(key)
                .or_default()
                .add_summary(summary, learner);
        }
    }
}

/// When a unit of activity happened, at the precision it has.
#[derive(Clone, Copy, Debug)]
struct When {
    day: Option<Day>,
    hour: Option<u8>,
    month: Month,
    school_year: SchoolYear,
}

impl When {
    fn of_day(day: Day, hour: Option<u8>) -> When {
        When {
            day: Some(day),
            hour,
            month: day.month(),
            school_year: day.school_year(),
        }
    }
}

/// The month a summary row's number (`year * 12 + month - 1`) stands for.
pub fn month_of_number(number: i32) -> Month {
    Day::from_ymd(number.div_euclid(12), (number.rem_euclid(12) + 1) as u32, 1)
        .map_or_else(|| Day::MIN.month(), Day::month)
}

/// The summary month number of a local day.
pub fn month_number_of(day: Day) -> i32 {
    let (y, m, _) = civil_date(day.days_since_epoch());
    y * 12 + i32::from(m) - 1
}

/// The whole months inside `first..last` (local days, exclusive end), as month numbers, and the
/// days outside them (at the period's two ends).
pub fn split_period(first: Day, last: Day) -> (Vec<i32>, Vec<DayRange>) {
    let mut months = Vec::new();
    let mut edges = Vec::new();
    let mut day = first;
    while day < last {
        let month = day.month();
        let month_start = month.first_day();
        let next_month = month_start.add_days(31).month().first_day();
        if day == month_start && next_month <= last {
            months.push(month_number_of(day));
        } else {
            edges.push(DayRange::new(day, next_month.min(last)));
        }
        day = next_month;
    }
    (months, edges)
}

/// The value of a metric for a tally (`None`: no value, e.g. a rate with nothing answered).
pub fn metric_value(metric: Metric, tally: &Tally) -> Option<MetricValue> {
    Some(match metric {
        Metric::Statements => MetricValue::Count(tally.statements),
        Metric::ActiveLearners => MetricValue::Count(tally.active_learners()),
        Metric::LearningTimeSeconds => MetricValue::Number(tally.learning_ms as f64 / 1000.0),
        Metric::Completions => MetricValue::Count(tally.completions),
        Metric::Answered => MetricValue::Count(tally.answered),
        Metric::Correct => MetricValue::Count(tally.correct),
        Metric::CorrectRate => {
            if tally.answered == 0 {
                return None;
            }
            MetricValue::Number(tally.correct as f64 / tally.answered as f64)
        }
        Metric::MeanScaledScore => {
            if tally.scaled_count == 0 {
                return None;
            }
            MetricValue::Number(tally.scaled_sum / tally.scaled_count as f64)
        }
        Metric::LastActive => {
            if tally.statements == 0 {
                return None;
            }
            MetricValue::Instant(tally.last_active)
        }
    })
}

/// A metric's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricValue {
    Count(u64),
    Number(f64),
    /// µs since the epoch.
    Instant(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn a_period_splits_into_whole_months_and_edge_days() {
        let (months, edges) = split_period(day("2026-09-15"), day("2026-12-01"));
        assert_eq!(
            months,
            [
                month_number_of(day("2026-10-01")),
                month_number_of(day("2026-11-01"))
            ]
        );
        assert_eq!(edges, [DayRange::new(day("2026-09-15"), day("2026-10-01"))]);
        let (months, edges) = split_period(day("2026-10-01"), day("2026-10-31"));
        assert!(months.is_empty());
        assert_eq!(edges, [DayRange::new(day("2026-10-01"), day("2026-10-31"))]);
        assert_eq!(
            month_of_number(month_number_of(day("2026-02-10"))).to_string(),
            "2026-02"
        );
    }
}
