//! What an extract covers: a tenant, a period of local days, the time grain, k, and what
//! identifying extras it may include.

use lrs_roster::{Calendar, Day};

use crate::extract::ExtractError;

/// The longest period one extract covers, in days (two school years and a day).
pub const MAX_EXTRACT_DAYS: i32 = 731;

/// The k of the k-anonymity report when none is given.
pub const DEFAULT_K: usize = 5;

/// How far time is coarsened in the `time` column (and in the quasi-identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeGrain {
    /// The local hour: `2026-10-05T14`.
    Hour,
    /// The local day: `2026-10-05`.
    Day,
    /// The Monday of the local week: `2026-10-05`.
    Week,
}

impl TimeGrain {
    pub fn parse(text: &str) -> Result<TimeGrain, ExtractError> {
        match text {
            "hour" => Ok(TimeGrain::Hour),
            "day" => Ok(TimeGrain::Day),
            "week" => Ok(TimeGrain::Week),
            _ => Err(ExtractError::Invalid(format!(
                "time {text:?}: the time grain is hour, day or week"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeGrain::Hour => "hour",
            TimeGrain::Day => "day",
            TimeGrain::Week => "week",
        }
    }

    /// The `time` value of a statement stamped at `micros` (local to `calendar`).
    pub fn bucket(self, calendar: &Calendar, micros: i64) -> String {
        let (day, hour) = calendar.day_and_hour(micros);
        match self {
            TimeGrain::Hour => format!("{day}T{hour:02}"),
            TimeGrain::Day => day.to_string(),
            TimeGrain::Week => day.week_start().to_string(),
        }
    }
}

/// One extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractRequest {
    pub tenant: String,
    /// The first local day of the period.
    pub since: Day,
    /// The last local day of the period (inclusive).
    pub until: Day,
    pub time: TimeGrain,
    /// Quasi-identifier combinations with fewer distinct learners than this are reported.
    pub k: usize,
    /// Drop the rows of those combinations.
    pub suppress: bool,
    /// Write `result.response` (free text: identifying, off by default).
    pub include_response: bool,
}

impl ExtractRequest {
    /// A request for `tenant` over `since..=until` (`YYYY-MM-DD`), the other settings at their
    /// defaults (day grain, k = 5, no suppression, no free text).
    pub fn new(tenant: &str, since: &str, until: &str) -> Result<ExtractRequest, ExtractError> {
        let day = |name: &str, text: &str| {
            Day::parse(text).ok_or_else(|| {
                ExtractError::Invalid(format!("{name} {text:?} is not a date like 2026-10-01"))
            })
        };
        let since = day("since", since)?;
        let until = day("until", until)?;
        if tenant.is_empty() {
            return Err(ExtractError::Invalid("tenant is empty".into()));
        }
        if until < since {
            return Err(ExtractError::Invalid(format!(
                "until {until} is before since {since}"
            )));
        }
        let days = until.days_since_epoch() - since.days_since_epoch() + 1;
        if days > MAX_EXTRACT_DAYS {
            return Err(ExtractError::Invalid(format!(
                "the period has {days} days; one extract covers at most {MAX_EXTRACT_DAYS}"
            )));
        }
        Ok(ExtractRequest {
            tenant: tenant.to_owned(),
            since,
            until,
            time: TimeGrain::Day,
            k: DEFAULT_K,
            suppress: false,
            include_response: false,
        })
    }

    /// `--include` / `include=` values: only `response` is known.
    pub fn include(&mut self, what: &str) -> Result<(), ExtractError> {
        match what {
            "response" => {
                self.include_response = true;
                Ok(())
            }
            _ => Err(ExtractError::Invalid(format!(
                "include {what:?}: the only free-text field an extract may include is response"
            ))),
        }
    }

    /// Sets k (at least 1).
    pub fn with_k(mut self, k: usize) -> Result<ExtractRequest, ExtractError> {
        if k == 0 {
            return Err(ExtractError::Invalid("k must be at least 1".into()));
        }
        self.k = k;
        Ok(self)
    }

    /// The local days of the period, in order.
    pub fn days(&self) -> impl Iterator<Item = Day> + use<> {
        let (first, last) = (self.since.days_since_epoch(), self.until.days_since_epoch());
        (first..=last).map(Day::from_days_since_epoch)
    }

    /// The columns this request writes.
    pub fn columns(&self) -> Vec<&'static str> {
        crate::extract::COLUMNS
            .iter()
            .copied()
            .filter(|c| *c != "response" || self.include_response)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_ending_before_it_starts_or_longer_than_the_limit_is_refused() {
        assert!(ExtractRequest::new("b", "2026-10-02", "2026-10-01").is_err());
        assert!(ExtractRequest::new("b", "2026-10-01", "2028-10-01").is_err());
        assert!(ExtractRequest::new("b", "2026-10-1x", "2026-10-01").is_err());
        let request = ExtractRequest::new("b", "2026-10-01", "2026-10-03").unwrap();
        assert_eq!(request.days().count(), 3);
        assert!(!request.columns().contains(&"response"));
    }

    #[test]
    fn time_is_coarsened_to_the_local_hour_day_or_monday() {
        let calendar = Calendar::default();
        // 2026-10-07 (a Wednesday) 23:30 UTC is 2026-10-08 08:30 in Tokyo.
        let micros = (Day::parse("2026-10-07").unwrap().days_since_epoch() as i64 * 86_400
            + 23 * 3600
            + 1800)
            * 1_000_000;
        assert_eq!(TimeGrain::Hour.bucket(&calendar, micros), "2026-10-08T08");
        assert_eq!(TimeGrain::Day.bucket(&calendar, micros), "2026-10-08");
        assert_eq!(TimeGrain::Week.bucket(&calendar, micros), "2026-10-05");
        assert!(TimeGrain::parse("minute").is_err());
    }
}
