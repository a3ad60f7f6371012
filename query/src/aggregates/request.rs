//! `GET /api/v1/aggregates`: its parameters, typed (issue 11 §4–§6).

use lrs_roster::{Calendar, Day};
use lrs_schema::{ValidationError, parse_timestamp};

const PARAMETER_RULE: &str = "LRS aggregates: the parameters are group_by, metrics, since, until and the filters board, school, class, grade, learner, tool, verb, activity, subject, curriculum_code_prefix, each at most once";
const GROUP_BY_RULE: &str = "LRS aggregates: group_by names one or two dimensions of board, school, class, grade, learner, day, week, month, school_year, hour, tool, verb, activity, activity_type, subject, curriculum_code";
const METRICS_RULE: &str = "LRS aggregates: metrics names one or more of statements, active_learners, learning_time_seconds, completions, answered, correct, correct_rate, mean_scaled_score, last_active";
const TIME_RULE: &str = "LRS aggregates: since and until are dates (YYYY-MM-DD, the local day's start) or RFC 3339 timestamps; since is inclusive, until exclusive";

/// What a row can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Board,
    School,
    Class,
    Grade,
    Learner,
    Day,
    Week,
    Month,
    SchoolYear,
    Hour,
    Tool,
    Verb,
    Activity,
    ActivityType,
    Subject,
    CurriculumCode,
}

impl Dimension {
    pub const ALL: [Dimension; 16] = [
        Dimension::Board,
        Dimension::School,
        Dimension::Class,
        Dimension::Grade,
        Dimension::Learner,
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::SchoolYear,
        Dimension::Hour,
        Dimension::Tool,
        Dimension::Verb,
        Dimension::Activity,
        Dimension::ActivityType,
        Dimension::Subject,
        Dimension::CurriculumCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Board => "board",
            Dimension::School => "school",
            Dimension::Class => "class",
            Dimension::Grade => "grade",
            Dimension::Learner => "learner",
            Dimension::Day => "day",
            Dimension::Week => "week",
            Dimension::Month => "month",
            Dimension::SchoolYear => "school_year",
            Dimension::Hour => "hour",
            Dimension::Tool => "tool",
            Dimension::Verb => "verb",
            Dimension::Activity => "activity",
            Dimension::ActivityType => "activity_type",
            Dimension::Subject => "subject",
            Dimension::CurriculumCode => "curriculum_code",
        }
    }

    fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Answerable from month summaries (the roster's dimensions and periods of a month or more).
    pub fn in_summaries(self) -> bool {
        matches!(
            self,
            Dimension::Board
                | Dimension::School
                | Dimension::Class
                | Dimension::Grade
                | Dimension::Learner
                | Dimension::Month
                | Dimension::SchoolYear
        )
    }

    /// Finer than a school: never shown to a prefecture-wide principal.
    pub fn below_school(self) -> bool {
        matches!(self, Dimension::Class | Dimension::Learner)
    }
}

/// What a row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    Statements,
    ActiveLearners,
    LearningTimeSeconds,
    Completions,
    Answered,
    Correct,
    CorrectRate,
    MeanScaledScore,
    LastActive,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Statements,
        Metric::ActiveLearners,
        Metric::LearningTimeSeconds,
        Metric::Completions,
        Metric::Answered,
        Metric::Correct,
        Metric::CorrectRate,
        Metric::MeanScaledScore,
        Metric::LastActive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Statements => "statements",
            Metric::ActiveLearners => "active_learners",
            Metric::LearningTimeSeconds => "learning_time_seconds",
            Metric::Completions => "completions",
            Metric::Answered => "answered",
            Metric::Correct => "correct",
            Metric::CorrectRate => "correct_rate",
            Metric::MeanScaledScore => "mean_scaled_score",
            Metric::LastActive => "last_active",
        }
    }

    fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// The filters of a request, as given (roster `sourcedId`s and dimension texts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub board: Option<String>,
    pub school: Option<String>,
    pub class: Option<String>,
    pub grade: Option<String>,
    pub learner: Option<String>,
    pub tool: Option<String>,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub subject: Option<String>,
    pub curriculum_code_prefix: Option<String>,
}

impl Filters {
    /// Filters on statement dimensions (not answerable from month summaries).
    pub fn on_statements(&self) -> bool {
        self.tool.is_some()
            || self.verb.is_some()
            || self.activity.is_some()
            || self.subject.is_some()
            || self.curriculum_code_prefix.is_some()
    }
}

/// A parsed aggregates request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateRequest {
    pub group_by: Vec<Dimension>,
    pub metrics: Vec<Metric>,
    /// The statements' `timestamp` bounds, µs: `since` inclusive, `until` exclusive.
    pub since: i64,
    pub until: i64,
    pub filters: Filters,
}

/// The period when a request names none: the last 30 local days, today included.
pub const DEFAULT_DAYS: i32 = 30;

impl AggregateRequest {
    /// Parses the query string's parameters. `now` and `calendar` place dates and the default
    /// period.
    pub fn from_params(
        params: &[(String, String)],
        calendar: &Calendar,
        now: i64,
    ) -> Result<AggregateRequest, ValidationError> {
        let mut seen: Vec<&str> = Vec::new();
        let mut group_by = Vec::new();
        let mut metrics = Vec::new();
        let (mut since, mut until) = (None, None);
        let mut filters = Filters::default();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                return Err(ValidationError::at_str(
                    PARAMETER_RULE,
                    &format!("?{name}"),
                    format!("{name} is given more than once"),
                ));
            }
            seen.push(name);
            let filter = match name.as_str() {
                "group_by" => {
                    group_by = list(value, "?group_by", GROUP_BY_RULE, Dimension::parse)?;
                    if group_by.len() > 2 {
                        return Err(ValidationError::at_str(
                            GROUP_BY_RULE,
                            "?group_by",
                            "at most two dimensions",
                        ));
                    }
                    None
                }
                "metrics" => {
                    metrics = list(value, "?metrics", METRICS_RULE, Metric::parse)?;
                    None
                }
                "since" => {
                    since = Some(instant(value, calendar, "?since")?);
                    None
                }
                "until" => {
                    until = Some(instant(value, calendar, "?until")?);
                    None
                }
                "board" => Some(&mut filters.board),
                "school" => Some(&mut filters.school),
                "class" => Some(&mut filters.class),
                "grade" => Some(&mut filters.grade),
                "learner" => Some(&mut filters.learner),
                "tool" => Some(&mut filters.tool),
                "verb" => Some(&mut filters.verb),
                "activity" => Some(&mut filters.activity),
                "subject" => Some(&mut filters.subject),
                "curriculum_code_prefix" => Some(&mut filters.curriculum_code_prefix),
                other => {
                    return Err(ValidationError::at_str(
                        PARAMETER_RULE,
                        &format!("?{other}"),
                        format!("unknown parameter {other:?}"),
                    ));
                }
            };
            if let Some(slot) = filter {
                if value.is_empty() {
                    return Err(ValidationError::at_str(
                        PARAMETER_RULE,
                        &format!("?{name}"),
                        "a filter needs a value",
                    ));
                }
                *slot = Some(value.clone());
            }
        }
        if metrics.is_empty() {
            metrics = vec![Metric::Statements, Metric::ActiveLearners];
        }
        let today = calendar.day_of(now);
        let until = until.unwrap_or_else(|| calendar.start_of(today.next()));
        let since = since.unwrap_or_else(|| {
            calendar.start_of(calendar.day_of(until - 1).add_days(1 - DEFAULT_DAYS))
        });
        if since >= until {
            return Err(ValidationError::at_str(
                TIME_RULE,
                "?since",
                "since must be before until",
            ));
        }
        Ok(AggregateRequest {
            group_by,
            metrics,
            since,
            until,
            filters,
        })
    }

    /// The local days the period touches: `first..last` (exclusive).
    pub fn days(&self, calendar: &Calendar) -> (Day, Day) {
        (
            calendar.day_of(self.since),
            calendar.day_of(self.until - 1).next(),
        )
    }

    pub fn groups_by(&self, dimension: Dimension) -> bool {
        self.group_by.contains(&dimension)
    }
}

fn list<T>(
    value: &str,
    path: &str,
    rule: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ValidationError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            parse(item).ok_or_else(|| {
                ValidationError::at_str(rule, path, format!("unknown name {item:?}"))
            })
        })
        .collect()
}

/// A date (the local day's first instant) or an RFC 3339 timestamp.
fn instant(value: &str, calendar: &Calendar, path: &str) -> Result<i64, ValidationError> {
    if let Some(day) = Day::parse(value) {
        return Ok(calendar.start_of(day));
    }
    parse_timestamp(value).map_err(|_| {
        ValidationError::at_str(
            TIME_RULE,
            path,
            format!("{value:?} is neither a date nor a timestamp"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_request_names_dimensions_metrics_a_period_and_filters() {
        let calendar = Calendar::default();
        let request = AggregateRequest::from_params(
            &params(&[
                ("group_by", "class,day"),
                ("metrics", "statements,correct_rate"),
                ("since", "2026-10-01"),
                ("until", "2026-11-01"),
                ("school", "sch-1"),
            ]),
            &calendar,
            0,
        )
        .unwrap();
        assert_eq!(request.group_by, [Dimension::Class, Dimension::Day]);
        assert_eq!(request.metrics, [Metric::Statements, Metric::CorrectRate]);
        assert_eq!(request.filters.school.as_deref(), Some("sch-1"));
        // 2026-10-01T00:00+09:00
        assert_eq!(
            request.since,
            parse_timestamp("2026-09-30T15:00:00Z").unwrap()
        );
        let (first, last) = request.days(&calendar);
        assert_eq!(
            (first.to_string(), last.to_string()),
            ("2026-10-01".into(), "2026-11-01".into())
        );
    }

    #[test]
    fn without_a_period_the_last_thirty_local_days_are_asked() {
        let calendar = Calendar::default();
        let now = parse_timestamp("2026-10-05T23:30:00Z").unwrap(); // 10-06 in Tokyo
        let request = AggregateRequest::from_params(&[], &calendar, now).unwrap();
        let (first, last) = request.days(&calendar);
        assert_eq!(
            (first.to_string(), last.to_string()),
            ("2026-09-07".into(), "2026-10-07".into())
        );
        assert_eq!(
            request.metrics,
            [Metric::Statements, Metric::ActiveLearners]
        );
    }

    #[test]
    fn bad_parameters_are_refused_naming_the_parameter() {
        let calendar = Calendar::default();
        for (bad, path) in [
            (vec![("group_by", "class,day,month")], "?group_by"),
            (vec![("group_by", "colour")], "?group_by"),
            (vec![("metrics", "speed")], "?metrics"),
            (vec![("since", "yesterday")], "?since"),
            (
                vec![("since", "2026-10-02"), ("until", "2026-10-01")],
                "?since",
            ),
            (vec![("colour", "red")], "?colour"),
            (vec![("class", "a"), ("class", "b")], "?class"),
            (vec![("class", "")], "?class"),
        ] {
            let err = AggregateRequest::from_params(&params(&bad), &calendar, 0).unwrap_err();
            assert_eq!(err.path(), path, "{bad:?}");
        }
    }
}
