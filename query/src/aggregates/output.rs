//! Rows as the API answers them: `{"rows": [{"class": "…", "statements": 929, …}],
//! "consistent_through": "…"}`, or CSV.

use std::collections::BTreeMap;

use lrs_schema::{FactDim, format_timestamp};
use serde_json::{Map, Value, json};

use crate::aggregates::engine::{MetricValue, Part, Tally, TenantView, metric_value};
use crate::aggregates::request::{Dimension, Metric};

/// One answered row: a value per grouped dimension (`None`: null) and per metric.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateRow {
    pub dims: Vec<(Dimension, Option<Value>)>,
    pub metrics: Vec<(Metric, Option<MetricValue>)>,
    /// A cross-board cell with fewer active learners than the threshold: its metrics are null.
    pub suppressed: bool,
}

/// What `GET /api/v1/aggregates` answers.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateAnswer {
    pub group_by: Vec<Dimension>,
    pub metrics: Vec<Metric>,
    pub rows: Vec<AggregateRow>,
    pub consistent_through: i64,
    /// Rows carry `"suppressed"` (cross-board answers).
    pub with_suppression: bool,
}

/// The text of one part of a row key, in a tenant.
pub fn part_value(view: &TenantView, dimension: Dimension, part: Part) -> Option<Value> {
    let roster = &view.roster;
    Some(match part {
        Part::Null => return None,
        Part::Board => Value::from(view.tenant.clone()),
        Part::Org(org) => Value::from(roster.org_sourced_id(org)),
        Part::Class(class) => Value::from(roster.class_sourced_id(class)),
        Part::Grade(grade) => Value::from(grade.as_str()),
        Part::Learner(learner) => Value::from(view.learner_text(learner)),
        Part::Day(day) => Value::from(day.to_string()),
        Part::Month(month) => Value::from(month.to_string()),
        Part::SchoolYear(year) => Value::from(year.year()),
        Part::Hour(hour) => Value::from(hour),
        Part::Dim(key) => {
            let dim = match dimension {
                Dimension::Tool => FactDim::Tool,
                Dimension::Verb => FactDim::Verb,
                Dimension::Activity => FactDim::Activity,
                Dimension::ActivityType => FactDim::ActivityType,
                Dimension::Subject => FactDim::Subject,
                _ => FactDim::CurriculumCode,
            };
            Value::from(
                view.dims
                    .get(&(dim, key))
                    .cloned()
                    .unwrap_or_else(|| format!("#{:016x}", key.0)),
            )
        }
    })
}

/// The rows of one tenant's tallies, keyed by their dimension values (so several tenants' rows
/// can be merged by value).
pub fn keyed_rows(
    view: &TenantView,
    group_by: &[Dimension],
    tallies: BTreeMap<[Part; 2], Tally>,
) -> Vec<(Vec<Option<Value>>, Tally)> {
    tallies
        .into_iter()
        .map(|(key, tally)| {
            let values = group_by
                .iter()
                .zip(key)
                .map(|(&d, part)| part_value(view, d, part))
                .collect();
            (values, tally)
        })
        .collect()
}

impl AggregateAnswer {
    /// Rows from merged tallies, sorted by their dimension values; with `suppress_below`,
    /// cells with fewer active learners get null metrics and `"suppressed": true`.
    pub fn new(
        group_by: Vec<Dimension>,
        metrics: Vec<Metric>,
        mut keyed: Vec<(Vec<Option<Value>>, Tally)>,
        consistent_through: i64,
        suppress_below: Option<usize>,
    ) -> AggregateAnswer {
        keyed.sort_by(|a, b| compare_values(&a.0, &b.0));
        let rows = keyed
            .into_iter()
            .map(|(values, tally)| {
                let suppressed =
                    suppress_below.is_some_and(|min| tally.active_learners() < min as u64);
                AggregateRow {
                    dims: group_by.iter().copied().zip(values).collect(),
                    metrics: metrics
                        .iter()
                        .map(|&m| (m, (!suppressed).then(|| metric_value(m, &tally)).flatten()))
                        .collect(),
                    suppressed,
                }
            })
            .collect();
        AggregateAnswer {
            group_by,
            metrics,
            rows,
            consistent_through,
            with_suppression: suppress_below.is_some(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                for (dimension, value) in &row.dims {
                    object.insert(
                        dimension.as_str().into(),
                        value.clone().unwrap_or(Value::Null),
                    );
                }
                for (metric, value) in &row.metrics {
                    object.insert(metric.as_str().into(), json_value(*value));
                }
                if self.with_suppression {
                    object.insert("suppressed".into(), Value::from(row.suppressed));
                }
                Value::Object(object)
            })
            .collect();
        serde_json::to_vec(&json!({
            "rows": rows,
            "consistent_through": format_timestamp(self.consistent_through),
        }))
        .expect("JSON values serialize")
    }

    /// RFC 4180 CSV: a header of the dimensions then the metrics (then `suppressed`), one line
    /// per row, empty cells for null.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::new();
        let mut header: Vec<&str> = self.group_by.iter().map(|d| d.as_str()).collect();
        header.extend(self.metrics.iter().map(|m| m.as_str()));
        if self.with_suppression {
            header.push("suppressed");
        }
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let mut cells: Vec<String> = row
                .dims
                .iter()
                .map(|(_, v)| v.as_ref().map_or_else(String::new, cell_text))
                .collect();
            cells.extend(row.metrics.iter().map(|(_, v)| cell_text(&json_value(*v))));
            if self.with_suppression {
                cells.push(row.suppressed.to_string());
            }
            let escaped: Vec<String> = cells.iter().map(|c| csv_escape(c)).collect();
            out.push_str(&escaped.join(","));
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

fn json_value(value: Option<MetricValue>) -> Value {
    match value {
        None => Value::Null,
        Some(MetricValue::Count(n)) => Value::from(n),
        Some(MetricValue::Number(x)) => {
            // Three decimals are plenty for rates and seconds, and keep answers stable.
            let rounded = (x * 1000.0).round() / 1000.0;
            serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
        }
        Some(MetricValue::Instant(micros)) => Value::from(format_timestamp(micros)),
    }
}

fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_escape(cell: &str) -> String {
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// Null last; strings by text, numbers by value.
fn compare_values(a: &[Option<Value>], b: &[Option<Value>]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let ordering = match (x, y) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(Value::Number(m)), Some(Value::Number(n))) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(std::cmp::Ordering::Equal),
            (Some(x), Some(y)) => cell_text(x).cmp(&cell_text(y)),
        };
        if ordering.is_ne() {
            return ordering;
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::engine::Learner;
    use lrs_schema::envelope::Key16;

    fn tally(statements: u64, learners: u8) -> Tally {
        let mut tally = Tally {
            statements,
            answered: 2,
            correct: 1,
            ..Tally::default()
        };
        for n in 0..learners {
            tally.learners.insert(Learner::Actor(Key16([n; 16])));
        }
        tally
    }

    #[test]
    fn rows_are_sorted_and_written_as_json_and_csv() {
        let answer = AggregateAnswer::new(
            vec![Dimension::Class],
            vec![Metric::Statements, Metric::CorrectRate],
            vec![
                (vec![Some(Value::from("3-2"))], tally(5, 2)),
                (vec![None], tally(1, 1)),
                (vec![Some(Value::from("3-1,\"a\""))], tally(7, 3)),
            ],
            0,
            None,
        );
        let json: Value = serde_json::from_slice(&answer.to_json()).unwrap();
        assert_eq!(json["rows"][0]["class"], "3-1,\"a\"");
        assert_eq!(json["rows"][0]["correct_rate"], 0.5);
        assert_eq!(json["rows"][2]["class"], Value::Null);
        assert!(json["rows"][0].get("suppressed").is_none());
        let csv = String::from_utf8(answer.to_csv()).unwrap();
        assert_eq!(
            csv,
            "class,statements,correct_rate\r\n\"3-1,\"\"a\"\"\",7,0.5\r\n3-2,5,0.5\r\n,1,0.5\r\n"
        );
    }

    #[test]
    fn small_cells_are_suppressed_with_null_metrics() {
        let answer = AggregateAnswer::new(
            vec![Dimension::Board],
            vec![Metric::Statements],
            vec![
                (vec![Some(Value::from("a"))], tally(50, 12)),
                (vec![Some(Value::from("b"))], tally(9, 3)),
            ],
            0,
            Some(10),
        );
        let json: Value = serde_json::from_slice(&answer.to_json()).unwrap();
        assert_eq!(json["rows"][0]["statements"], 50);
        assert_eq!(json["rows"][0]["suppressed"], false);
        assert_eq!(json["rows"][1]["statements"], Value::Null);
        assert_eq!(json["rows"][1]["suppressed"], true);
    }
}
