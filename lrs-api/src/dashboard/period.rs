//! A view's period, from the URL: `since` and `until`, dates `YYYY-MM-DD` in the deployment's
//! zone, `until` exclusive, like `/api/v1/aggregates`.

use lrs_roster::Day;

use crate::dashboard::DashboardError;

/// The period when the URL names none: the last 30 days, today included (the aggregates API's
/// default too).
pub const DEFAULT_DAYS: i32 = 30;
/// The longest period a view shows.
pub const MAX_DAYS: i32 = 366;

/// `[since, until)` in local days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub since: Day,
    pub until: Day,
    /// Neither bound was given.
    pub is_default: bool,
}

impl Period {
    /// From the query's `since` and `until` (each optional: `until` defaults to tomorrow,
    /// `since` to 30 days before `until`). Other parameters are refused.
    pub fn from_query(pairs: &[(String, String)], today: Day) -> Result<Period, DashboardError> {
        let (mut since, mut until) = (None, None);
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "since" => &mut since,
                "until" => &mut until,
                other => {
                    return Err(DashboardError::bad_request(
                        format!(
                            "「{other}」は指定できない条件です（期間は since と until、絞り込みは subject・curriculum_code_prefix・tool で指定します）。"
                        ),
                        format!("unknown parameter {other:?}"),
                    ));
                }
            };
            let day = Day::parse(value).ok_or_else(|| {
                DashboardError::bad_request(
                    format!("{name} の日付「{value}」は YYYY-MM-DD の形ではありません。"),
                    format!("{name} {value:?} is not YYYY-MM-DD"),
                )
            })?;
            if slot.replace(day).is_some() {
                return Err(DashboardError::bad_request(
                    format!("{name} が二回指定されています。"),
                    format!("{name} given twice"),
                ));
            }
        }
        let is_default = since.is_none() && until.is_none();
        let until = until.unwrap_or_else(|| today.next());
        let since = since.unwrap_or_else(|| until.add_days(-DEFAULT_DAYS));
        let days = until.days_since_epoch() - since.days_since_epoch();
        if days <= 0 {
            return Err(DashboardError::bad_request(
                "終了日（until）は開始日（since）より後の日付にしてください。",
                "until is not after since",
            ));
        }
        if days > MAX_DAYS {
            return Err(DashboardError::bad_request(
                format!("期間は最長{MAX_DAYS}日です。"),
                format!("the period is longer than {MAX_DAYS} days"),
            ));
        }
        Ok(Period {
            since,
            until,
            is_default,
        })
    }

    /// The period's last day (inclusive).
    pub fn last_day(&self) -> Day {
        self.until.add_days(-1)
    }

    /// The aggregates parameters naming this period.
    pub fn params(&self) -> [(String, String); 2] {
        [
            ("since".to_owned(), self.since.to_string()),
            ("until".to_owned(), self.until.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days_today_included() {
        let today = Day::parse("2025-10-14").unwrap();
        let period = Period::from_query(&[], today).unwrap();
        assert!(period.is_default);
        assert_eq!(period.until, Day::parse("2025-10-15").unwrap());
        assert_eq!(period.since, Day::parse("2025-09-15").unwrap());
        assert_eq!(period.last_day(), today);
        let named = Period::from_query(
            &pairs(&[("since", "2025-10-01"), ("until", "2025-11-01")]),
            today,
        )
        .unwrap();
        assert!(!named.is_default);
        assert_eq!(named.last_day(), Day::parse("2025-10-31").unwrap());
    }

    #[test]
    fn bad_dates_empty_or_long_periods_and_other_parameters_are_refused() {
        let today = Day::parse("2025-10-14").unwrap();
        for bad in [
            vec![("since", "2025/10/01")],
            vec![("since", "2025-10-02"), ("until", "2025-10-02")],
            vec![("since", "2024-01-01"), ("until", "2025-10-02")],
            vec![("since", "2025-10-01"), ("since", "2025-10-02")],
            vec![("class", "k1")],
        ] {
            assert!(Period::from_query(&pairs(&bad), today).is_err(), "{bad:?}");
        }
    }
}
