//! The k-anonymity report. The quasi-identifiers are what a row says about where and when its
//! learner was: school, class, grade and the coarsened time. Everything else in a row describes
//! the activity (the same for every learner who did it), and the learner column is a pseudonym.
//! A combination seen for fewer than k distinct learners could single one out.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use crate::aggregates::Learner;
use crate::extract::ExtractError;

/// One combination of quasi-identifier values (absent values are empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuasiIdentifier {
    pub school: Option<String>,
    pub class: Option<String>,
    pub grade: Option<String>,
    pub time: String,
}

/// Per combination: its learners and its rows.
#[derive(Default)]
pub struct Tallies {
    groups: HashMap<QuasiIdentifier, (HashSet<Learner>, u64)>,
}

impl Tallies {
    pub fn add(&mut self, quasi: QuasiIdentifier, learner: Learner) {
        let entry = self.groups.entry(quasi).or_default();
        entry.0.insert(learner);
        entry.1 += 1;
    }

    /// Whether the combination has fewer than `k` learners (one never tallied has none).
    pub fn below(&self, quasi: &QuasiIdentifier, k: usize) -> bool {
        self.groups.get(quasi).is_none_or(|(l, _)| l.len() < k)
    }

    /// The combinations with fewer than `k` learners, sorted.
    pub fn small(&self, k: usize) -> Vec<(&QuasiIdentifier, usize, u64)> {
        let mut small: Vec<_> = self
            .groups
            .iter()
            .filter(|(_, (learners, _))| learners.len() < k)
            .map(|(q, (learners, rows))| (q, learners.len(), *rows))
            .collect();
        small.sort();
        small
    }

    /// Writes `k_anonymity.csv`: one line per combination below k (school, class, grade, time,
    /// learners, rows, suppressed).
    pub fn write_report(
        &self,
        out: impl Write,
        k: usize,
        suppressed: bool,
    ) -> Result<usize, ExtractError> {
        let failed = |e: csv::Error| ExtractError::Output(format!("k_anonymity.csv: {e}"));
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record([
                "school",
                "class",
                "grade",
                "time",
                "learners",
                "rows",
                "suppressed",
            ])
            .map_err(failed)?;
        let small = self.small(k);
        for (q, learners, rows) in &small {
            writer
                .write_record([
                    q.school.as_deref().unwrap_or(""),
                    q.class.as_deref().unwrap_or(""),
                    q.grade.as_deref().unwrap_or(""),
                    &q.time,
                    &learners.to_string(),
                    &rows.to_string(),
                    if suppressed { "true" } else { "false" },
                ])
                .map_err(failed)?;
        }
        writer
            .flush()
            .map_err(|e| ExtractError::Output(format!("k_anonymity.csv: {e}")))?;
        Ok(small.len())
    }
}
