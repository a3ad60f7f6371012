//! The class summary a school-affairs system imports (issue 14 §5, standard-model item 5.7):
//! per learner of a class, the period's statements, learning time and correct rate per subject,
//! as CSV in UTF-8 or, as many of those systems still require, Shift_JIS (CP932).
//!
//! One row per learner the roster enrolls in the class during the period (those without a
//! statement too), sorted by `userSourcedId`; per subject (sorted by name) three columns:
//! `<subject> 件数`, `<subject> 学習時間(分)`, `<subject> 正答率(%)`, then the same three for the
//! whole period (`合計`). Statements without a subject count in `合計` only. An empty cell is a
//! rate without any answered item.
//!
//! CP932 cannot hold every character (e.g. 𠮷, U+20BB7, in a name-like subject or sourcedId):
//! each such character becomes 〓 (the geta mark, CP932 0x81AC) and is counted, never dropped;
//! the handler says the count in a header.

use std::collections::{BTreeMap, BTreeSet};

use encoding_rs::{EncoderResult, SHIFT_JIS};
use lrs_query::aggregates::engine::MetricValue;
use lrs_query::aggregates::{AggregateAnswer, Dimension, Metric};
use serde_json::Value;

/// The metrics the summary asks the aggregate service for, in this order.
pub const METRICS: [Metric; 4] = [
    Metric::Statements,
    Metric::LearningTimeSeconds,
    Metric::Answered,
    Metric::Correct,
];

/// The character an unencodable one becomes in CP932 output.
pub const CP932_REPLACEMENT: char = '〓';

/// [`CP932_REPLACEMENT`] in CP932.
const CP932_GETA: [u8; 2] = [0x81, 0xAC];

/// The text encodings of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryEncoding {
    Utf8,
    Cp932,
}

impl SummaryEncoding {
    /// `utf-8` (default) or `cp932` (also `shift_jis`, `windows-31j`), any case.
    pub fn parse(value: &str) -> Option<SummaryEncoding> {
        match value.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(SummaryEncoding::Utf8),
            "cp932" | "shift_jis" | "shift-jis" | "sjis" | "windows-31j" => {
                Some(SummaryEncoding::Cp932)
            }
            _ => None,
        }
    }

    pub fn charset(self) -> &'static str {
        match self {
            SummaryEncoding::Utf8 => "utf-8",
            SummaryEncoding::Cp932 => "Shift_JIS",
        }
    }
}

/// One learner's tallies in one subject (or in all).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Cell {
    statements: u64,
    learning_seconds: f64,
    answered: u64,
    correct: u64,
}

impl Cell {
    fn add(&mut self, other: Cell) {
        self.statements += other.statements;
        self.learning_seconds += other.learning_seconds;
        self.answered += other.answered;
        self.correct += other.correct;
    }

    fn columns(&self) -> [String; 3] {
        let rate = if self.answered == 0 {
            String::new()
        } else {
            format!("{:.1}", self.correct as f64 * 100.0 / self.answered as f64)
        };
        [
            self.statements.to_string(),
            format!("{:.1}", self.learning_seconds / 60.0),
            rate,
        ]
    }
}

/// The summary's CSV text (UTF-8, CRLF line ends, a header row) from the class's learners and
/// the aggregate answer grouped by learner and subject with [`METRICS`].
pub fn summary_csv(learners: &[String], answer: &AggregateAnswer) -> String {
    let learner_at = answer
        .group_by
        .iter()
        .position(|d| *d == Dimension::Learner);
    let subject_at = answer
        .group_by
        .iter()
        .position(|d| *d == Dimension::Subject);
    let mut cells: BTreeMap<(String, Option<String>), Cell> = BTreeMap::new();
    let mut subjects: BTreeSet<String> = BTreeSet::new();
    for row in &answer.rows {
        let text = |at: Option<usize>| match at.and_then(|i| row.dims.get(i)) {
            Some((_, Some(Value::String(s)))) => Some(s.clone()),
            _ => None,
        };
        let Some(learner) = text(learner_at) else {
            continue;
        };
        let subject = text(subject_at);
        if let Some(subject) = &subject {
            subjects.insert(subject.clone());
        }
        let mut cell = Cell::default();
        for (metric, value) in &row.metrics {
            let number = match value {
                Some(MetricValue::Count(n)) => *n as f64,
                Some(MetricValue::Number(x)) => *x,
                _ => 0.0,
            };
            match metric {
                Metric::Statements => cell.statements = number as u64,
                Metric::LearningTimeSeconds => cell.learning_seconds = number,
                Metric::Answered => cell.answered = number as u64,
                Metric::Correct => cell.correct = number as u64,
                _ => {}
            }
        }
        cells.entry((learner, subject)).or_default().add(cell);
    }

    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut header = vec!["userSourcedId".to_owned()];
    for subject in subjects.iter().map(String::as_str).chain(["合計"]) {
        header.push(format!("{subject} 件数"));
        header.push(format!("{subject} 学習時間(分)"));
        header.push(format!("{subject} 正答率(%)"));
    }
    writer.write_record(&header).expect("CSV into memory");
    let mut every: BTreeSet<&str> = learners.iter().map(String::as_str).collect();
    every.extend(cells.keys().map(|(learner, _)| learner.as_str()));
    for learner in every {
        let mut record = vec![learner.to_owned()];
        let mut total = Cell::default();
        for (key, cell) in cells.range((learner.to_owned(), None)..) {
            if key.0 != learner {
                break;
            }
            total.add(*cell);
        }
        for subject in &subjects {
            let cell = cells
                .get(&(learner.to_owned(), Some(subject.clone())))
                .copied()
                .unwrap_or_default();
            record.extend(cell.columns());
        }
        record.extend(total.columns());
        writer.write_record(&record).expect("CSV into memory");
    }
    String::from_utf8(writer.into_inner().expect("CSV into memory")).expect("UTF-8 in, UTF-8 out")
}

/// `text` in CP932, each character it cannot hold replaced by [`CP932_REPLACEMENT`]; answers the
/// bytes and how many characters were replaced.
pub fn encode_cp932(text: &str) -> (Vec<u8>, usize) {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut replaced = 0;
    let mut rest = text;
    loop {
        let room = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len() * 2 + 16);
        out.reserve(room);
        let (result, read) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return (out, replaced),
            EncoderResult::OutputFull => continue,
            EncoderResult::Unmappable(_) => {
                replaced += 1;
                out.extend_from_slice(&CP932_GETA);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lrs_query::aggregates::AggregateRow;

    fn row(learner: &str, subject: Option<&str>, counts: [f64; 4]) -> AggregateRow {
        AggregateRow {
            dims: vec![
                (Dimension::Learner, Some(Value::from(learner))),
                (Dimension::Subject, subject.map(Value::from)),
            ],
            metrics: METRICS
                .iter()
                .zip(counts)
                .map(|(&m, x)| {
                    let value = if m == Metric::LearningTimeSeconds {
                        MetricValue::Number(x)
                    } else {
                        MetricValue::Count(x as u64)
                    };
                    (m, Some(value))
                })
                .collect(),
            suppressed: false,
        }
    }

    fn answer(rows: Vec<AggregateRow>) -> AggregateAnswer {
        AggregateAnswer {
            group_by: vec![Dimension::Learner, Dimension::Subject],
            metrics: METRICS.to_vec(),
            rows,
            consistent_through: 0,
            with_suppression: false,
        }
    }

    #[test]
    fn one_row_per_enrolled_learner_with_columns_per_subject_and_a_total() {
        let csv = summary_csv(
            &["l1".into(), "l2".into(), "l3".into()],
            &answer(vec![
                row("l1", Some("算数"), [3.0, 600.0, 2.0, 1.0]),
                row("l1", Some("国語"), [1.0, 90.0, 0.0, 0.0]),
                row("l1", None, [2.0, 30.0, 0.0, 0.0]),
                row("l2", Some("算数"), [1.0, 60.0, 1.0, 1.0]),
            ]),
        );
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "userSourcedId,国語 件数,国語 学習時間(分),国語 正答率(%),算数 件数,算数 学習時間(分),算数 正答率(%),合計 件数,合計 学習時間(分),合計 正答率(%)"
        );
        assert_eq!(lines[1], "l1,1,1.5,,3,10.0,50.0,6,12.0,50.0");
        assert_eq!(lines[2], "l2,0,0.0,,1,1.0,100.0,1,1.0,100.0");
        assert_eq!(lines[3], "l3,0,0.0,,0,0.0,,0,0.0,");
        assert_eq!(lines[4], "");
    }

    #[test]
    fn cp932_holds_japanese_text_and_replaces_what_it_cannot_visibly_and_counts_it() {
        let (bytes, replaced) = encode_cp932("算数,𠮷田,髙橋,①,😀\r\n");
        assert_eq!(replaced, 2, "𠮷 and the emoji");
        let (back, _, had_errors) = SHIFT_JIS.decode(&bytes);
        assert!(!had_errors);
        assert_eq!(back, "算数,〓田,髙橋,①,〓\r\n");
        // 算 is 0x8E5A in Shift_JIS.
        assert_eq!(&bytes[..2], &[0x8E, 0x5A]);
    }

    #[test]
    fn the_replacement_is_the_geta_mark_in_cp932() {
        let geta = CP932_REPLACEMENT.to_string();
        let (bytes, _, _) = SHIFT_JIS.encode(&geta);
        assert_eq!(&bytes[..], &CP932_GETA);
    }

    #[test]
    fn a_long_text_is_encoded_whole() {
        let text = "国語の学習ログ𠮷".repeat(5_000);
        let (bytes, replaced) = encode_cp932(&text);
        assert_eq!(replaced, 5_000);
        assert_eq!(SHIFT_JIS.decode(&bytes).0, text.replace('𠮷', "〓"));
    }

    #[test]
    fn encodings_are_named_as_systems_name_them() {
        for name in ["cp932", "CP932", "Shift_JIS", "windows-31j", "sjis"] {
            assert_eq!(
                SummaryEncoding::parse(name),
                Some(SummaryEncoding::Cp932),
                "{name}"
            );
        }
        assert_eq!(SummaryEncoding::parse("UTF-8"), Some(SummaryEncoding::Utf8));
        assert_eq!(SummaryEncoding::parse("latin1"), None);
    }
}
