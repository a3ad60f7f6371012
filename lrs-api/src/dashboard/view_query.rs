//! What a view's URL asks for: the period (`since`, `until`) and the filters `subject`,
//! `curriculum_code_prefix` and `tool`, so a view can be bookmarked and shared. The filters are
//! passed to `/api/v1/aggregates` as they are.

use std::fmt::Write;

use lrs_roster::Day;

use crate::dashboard::DashboardError;
use crate::dashboard::html::{self, escape, url_component};
use crate::dashboard::period::Period;

/// The filters a view takes, by their URL (and aggregates) names.
pub const FILTERS: [(&str, &str); 3] = [
    ("subject", "教科"),
    ("curriculum_code_prefix", "学習指導要領コード（前方一致）"),
    ("tool", "ツール"),
];

/// The longest filter value accepted (a 学習指導要領コード is 16 characters; tool names are short).
const MAX_FILTER_CHARS: usize = 200;

/// A view's period and filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewQuery {
    pub period: Period,
    /// Today in the deployment's zone (the period presets count from it).
    pub today: Day,
    /// `(name, value)` in the order of [`FILTERS`], only those given.
    pub filters: Vec<(&'static str, String)>,
}

impl ViewQuery {
    /// From the URL's query pairs: `since`, `until` and the filters, each at most once; anything
    /// else is refused (400 page naming it).
    pub fn from_query(pairs: &[(String, String)], today: Day) -> Result<ViewQuery, DashboardError> {
        let mut filters: Vec<(&'static str, String)> = Vec::new();
        let mut period_pairs = Vec::new();
        for (name, value) in pairs {
            let Some((filter, _)) = FILTERS.iter().find(|(f, _)| f == name) else {
                period_pairs.push((name.clone(), value.clone()));
                continue;
            };
            if filters.iter().any(|(f, _)| f == filter) {
                return Err(DashboardError::bad_request(
                    format!("{name} が二回指定されています。"),
                    format!("{name} given twice"),
                ));
            }
            if value.chars().count() > MAX_FILTER_CHARS {
                return Err(DashboardError::bad_request(
                    format!("{name} が長すぎます（{MAX_FILTER_CHARS}文字まで）。"),
                    format!("{name} longer than {MAX_FILTER_CHARS} characters"),
                ));
            }
            // An empty field of the filter form means "no filter".
            if !value.trim().is_empty() {
                filters.push((filter, value.trim().to_owned()));
            }
        }
        filters.sort_by_key(|(f, _)| FILTERS.iter().position(|(g, _)| g == f));
        Ok(ViewQuery {
            period: Period::from_query(&period_pairs, today)?,
            today,
            filters,
        })
    }

    /// The value of filter `name`, when given.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.as_str())
    }

    /// The aggregates parameters: the period and the filters.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = self.period.params().into_iter().collect();
        params.extend(
            self.filters
                .iter()
                .map(|(f, v)| ((*f).to_owned(), v.clone())),
        );
        params
    }

    /// The same query with filter `name` set to `value`.
    pub fn with_filter(&self, name: &'static str, value: &str) -> ViewQuery {
        let mut next = self.clone();
        next.filters.retain(|(f, _)| *f != name);
        next.filters.push((name, value.to_owned()));
        next.filters
            .sort_by_key(|(f, _)| FILTERS.iter().position(|(g, _)| g == f));
        next
    }

    /// `path?since=…&until=…&…`, escaped for an HTML attribute.
    pub fn href(&self, path: &str) -> String {
        let mut url = format!(
            "{path}?since={}&until={}",
            self.period.since, self.period.until
        );
        for (name, value) in &self.filters {
            let _ = write!(url, "&{name}={}", url_component(value));
        }
        escape(&url)
    }

    /// The period line, the filters in force, and the form changing them (GET, so they stay in
    /// the URL).
    pub fn form(&self, action: &str) -> String {
        let period = &self.period;
        let mut out = format!(
            "<div class=\"period\"><p>期間: {} 〜 {}（{}日間{}）</p>",
            html::day(period.since),
            html::day(period.last_day()),
            period.until.days_since_epoch() - period.since.days_since_epoch(),
            if period.is_default {
                "、既定の期間: 今日までの直近30日"
            } else {
                ""
            },
        );
        if !self.filters.is_empty() {
            out.push_str("<p class=\"filters-on\">絞り込み: ");
            for (i, (name, value)) in self.filters.iter().enumerate() {
                let label = FILTERS
                    .iter()
                    .find(|(f, _)| f == name)
                    .map_or(*name, |(_, l)| *l);
                let _ = write!(
                    out,
                    "{}<span class=\"chip\">{}: {}</span>",
                    if i > 0 { " " } else { "" },
                    label,
                    escape(value)
                );
            }
            let cleared = ViewQuery {
                filters: Vec::new(),
                ..self.clone()
            };
            let _ = write!(
                out,
                " <a href=\"{}\">絞り込みを解除</a></p>",
                cleared.href(action)
            );
        }
        let _ = write!(
            out,
            "<form method=\"get\" action=\"{}\">\
             <label>開始日<input type=\"date\" name=\"since\" value=\"{}\"></label>\
             <label>終了日の翌日<input type=\"date\" name=\"until\" value=\"{}\"></label>",
            escape(action),
            period.since,
            period.until,
        );
        for (name, label) in FILTERS {
            let _ = write!(
                out,
                "<label>{label}<input type=\"text\" name=\"{name}\" value=\"{}\"{}></label>",
                escape(self.filter(name).unwrap_or("")),
                if name == "curriculum_code_prefix" {
                    " inputmode=\"numeric\" size=\"16\""
                } else {
                    " size=\"10\""
                }
            );
        }
        out.push_str("<button type=\"submit\">表示</button></form>");
        out.push_str("<p class=\"presets\">");
        for (label, since, until) in self.presets() {
            let mut preset = self.clone();
            preset.period = Period {
                since,
                until,
                is_default: false,
            };
            let _ = write!(out, "<a href=\"{}\">{label}</a>", preset.href(action));
        }
        out.push_str("</p></div>");
        out
    }

    /// Periods a click away (the filters kept): the last 7 and 30 days, this 年度 (from April 1
    /// to today) and the last one (April to March).
    pub fn presets(&self) -> [(&'static str, Day, Day); 4] {
        let tomorrow = self.today.next();
        let this_year = self.today.school_year().first_day();
        let last_year =
            lrs_roster::SchoolYear::new(self.today.school_year().year() - 1).first_day();
        [
            ("直近7日", tomorrow.add_days(-7), tomorrow),
            ("直近30日", tomorrow.add_days(-30), tomorrow),
            ("今年度", this_year, tomorrow),
            ("前年度", last_year, this_year),
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
    fn filters_ride_along_with_the_period_and_round_trip_through_the_url() {
        let today = Day::parse("2025-10-14").unwrap();
        let query = ViewQuery::from_query(
            &pairs(&[
                ("tool", "算数ドリル"),
                ("since", "2025-10-01"),
                ("subject", ""),
                ("curriculum_code_prefix", "826021"),
            ]),
            today,
        )
        .unwrap();
        assert_eq!(query.filter("subject"), None, "an empty field is no filter");
        assert_eq!(query.filter("tool"), Some("算数ドリル"));
        assert_eq!(
            query.href("/dashboard/class/k1"),
            "/dashboard/class/k1?since=2025-10-01&amp;until=2025-10-15\
             &amp;curriculum_code_prefix=826021&amp;tool=%E7%AE%97%E6%95%B0%E3%83%89%E3%83%AA%E3%83%AB"
        );
        let params = query.params();
        assert!(params.contains(&("curriculum_code_prefix".into(), "826021".into())));
        assert!(params.contains(&("since".into(), "2025-10-01".into())));
        let narrower = query.with_filter("curriculum_code_prefix", "8260213");
        assert_eq!(narrower.filter("curriculum_code_prefix"), Some("8260213"));
        assert_eq!(narrower.filters.len(), 2);
    }

    #[test]
    fn the_school_year_presets_start_on_april_first() {
        let query = ViewQuery::from_query(&[], Day::parse("2026-03-31").unwrap()).unwrap();
        let presets: Vec<(String, String)> = query
            .presets()
            .iter()
            .map(|(_, since, until)| (since.to_string(), until.to_string()))
            .collect();
        assert_eq!(
            presets,
            [
                ("2026-03-25".into(), "2026-04-01".into()),
                ("2026-03-02".into(), "2026-04-01".into()),
                ("2025-04-01".into(), "2026-04-01".into()),
                ("2024-04-01".into(), "2025-04-01".into()),
            ]
        );
        let april = ViewQuery::from_query(&[], Day::parse("2026-04-01").unwrap()).unwrap();
        assert_eq!(april.presets()[2].1.to_string(), "2026-04-01");
    }

    #[test]
    fn a_filter_twice_or_an_unknown_parameter_is_refused() {
        let today = Day::parse("2025-10-14").unwrap();
        for bad in [
            vec![("tool", "a"), ("tool", "b")],
            vec![("class", "k1")],
            vec![("since", "yesterday")],
        ] {
            assert!(
                ViewQuery::from_query(&pairs(&bad), today).is_err(),
                "{bad:?}"
            );
        }
    }
}
