//! One aggregates row as the views use it: its dimension values as text and its metrics typed
//! (`None`: no value — nothing answered, or a suppressed cell).

use lrs_query::aggregates::engine::MetricValue;
use lrs_query::aggregates::{AggregateAnswer, AggregateRow, Metric};

/// The metrics a view may ask for, read off one row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Numbers {
    pub statements: Option<u64>,
    pub active_learners: Option<u64>,
    pub learning_seconds: Option<f64>,
    pub answered: Option<u64>,
    pub correct: Option<u64>,
    pub correct_rate: Option<f64>,
    /// µs.
    pub last_active: Option<i64>,
    /// A cross-board cell with too few learners: every metric is hidden.
    pub suppressed: bool,
}

impl Numbers {
    pub fn of(row: &AggregateRow) -> Numbers {
        let mut numbers = Numbers {
            suppressed: row.suppressed,
            ..Numbers::default()
        };
        for (metric, value) in &row.metrics {
            match (metric, value) {
                (Metric::Statements, Some(MetricValue::Count(n))) => numbers.statements = Some(*n),
                (Metric::ActiveLearners, Some(MetricValue::Count(n))) => {
                    numbers.active_learners = Some(*n)
                }
                (Metric::LearningTimeSeconds, Some(MetricValue::Number(s))) => {
                    numbers.learning_seconds = Some(*s)
                }
                (Metric::Answered, Some(MetricValue::Count(n))) => numbers.answered = Some(*n),
                (Metric::Correct, Some(MetricValue::Count(n))) => numbers.correct = Some(*n),
                (Metric::CorrectRate, Some(MetricValue::Number(r))) => {
                    numbers.correct_rate = Some(*r)
                }
                (Metric::LastActive, Some(MetricValue::Instant(at))) => {
                    numbers.last_active = Some(*at)
                }
                _ => {}
            }
        }
        numbers
    }
}

/// The `index`th dimension value of a row as text (`None`: null, e.g. no class attributed).
pub fn key(row: &AggregateRow, index: usize) -> Option<String> {
    match row.dims.get(index).and_then(|(_, v)| v.as_ref())? {
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The rows of an answer keyed by their first dimension (rows without a value left out).
pub fn by_first_key(answer: &AggregateAnswer) -> Vec<(String, Numbers)> {
    answer
        .rows
        .iter()
        .filter_map(|row| Some((key(row, 0)?, Numbers::of(row))))
        .collect()
}
