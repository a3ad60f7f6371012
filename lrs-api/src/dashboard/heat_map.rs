//! The class view's heat map: correct rate by 学習指導要領コード prefix × learner, from
//! `/api/v1/aggregates?group_by=learner,curriculum_code&metrics=answered,correct&class=…`
//! summed by prefix. A table with coloured cells (the rate is also written in each cell, so
//! colour is never the only carrier), scrolling sideways on a phone with the learner column
//! kept in view.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use lrs_query::aggregates::{AggregateService, Reader};

use crate::dashboard::html::{self, escape};
use crate::dashboard::numbers::{Numbers, key};
use crate::dashboard::sections::ask;
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, Viewer};

/// A column's prefix length without a `curriculum_code_prefix` filter: the first six characters
/// (version, school type, subject … grade: digit 6 is the grade).
pub const PREFIX_CHARS: usize = 6;
/// With a filter of at least that length, columns are two characters longer than the filter.
pub const DRILL_CHARS: usize = 2;
/// The most columns shown: the prefixes answered most (the rest are said to be left out).
pub const MAX_COLUMNS: usize = 30;

/// Answers by learner and prefix.
pub struct HeatMap {
    /// (learner, prefix) → (answered, correct).
    cells: BTreeMap<(String, String), (u64, u64)>,
    /// The prefixes shown, in code order.
    pub columns: Vec<String>,
    /// Prefixes left out beyond [`MAX_COLUMNS`].
    pub left_out: usize,
}

/// How long a column's prefix is for the view's `curriculum_code_prefix` filter.
pub fn prefix_chars(filter: Option<&str>) -> usize {
    match filter.map(|f| f.chars().count()) {
        Some(n) if n >= PREFIX_CHARS => n + DRILL_CHARS,
        _ => PREFIX_CHARS,
    }
}

impl HeatMap {
    pub async fn load(
        service: &AggregateService,
        viewer: &Viewer,
        reader: &Reader,
        query: &ViewQuery,
        class: &str,
    ) -> Result<HeatMap, DashboardError> {
        let answer = ask(
            service,
            viewer,
            reader,
            query,
            "learner,curriculum_code",
            "answered,correct",
            &[("class", class)],
        )
        .await?;
        let chars = prefix_chars(query.filter("curriculum_code_prefix"));
        let mut cells: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        let mut per_column: BTreeMap<String, u64> = BTreeMap::new();
        for row in &answer.rows {
            let (Some(learner), Some(code)) = (key(row, 0), key(row, 1)) else {
                continue;
            };
            let numbers = Numbers::of(row);
            let answered = numbers.answered.unwrap_or(0);
            if answered == 0 {
                continue;
            }
            let prefix: String = code.chars().take(chars).collect();
            let cell = cells.entry((learner, prefix.clone())).or_default();
            cell.0 += answered;
            cell.1 += numbers.correct.unwrap_or(0);
            *per_column.entry(prefix).or_default() += answered;
        }
        let mut ranked: Vec<(String, u64)> = per_column.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let left_out = ranked.len().saturating_sub(MAX_COLUMNS);
        let columns: BTreeSet<String> = ranked.into_iter().take(MAX_COLUMNS).map(|c| c.0).collect();
        Ok(HeatMap {
            cells,
            columns: columns.into_iter().collect(),
            left_out,
        })
    }

    /// The section: a row per learner of `learners`, a column per prefix; each column head
    /// links to the view narrowed to that prefix.
    pub fn render(&self, learners: &[String], query: &ViewQuery, path: &str) -> String {
        let mut out =
            String::from("<section id=\"heat-map\"><h2>学習指導要領コード別の正答率</h2>");
        if self.columns.is_empty() {
            out.push_str(
                "<p class=\"note\">この期間に、学習指導要領コードの付いた解答はありません。</p></section>\n",
            );
            return out;
        }
        let _ = write!(
            out,
            "<p class=\"note\">列は学習指導要領コードの先頭{}文字です。列の見出しで、そのコードに絞り込めます。{}</p>",
            prefix_chars(query.filter("curriculum_code_prefix")),
            if self.left_out > 0 {
                format!("解答の少ない{}列は省略しています。", self.left_out)
            } else {
                String::new()
            }
        );
        out.push_str(
            "<div class=\"table-wrap heat-wrap\"><table class=\"heat-map\"><thead><tr>\
             <th scope=\"col\" class=\"sticky\">学習者</th>",
        );
        for prefix in &self.columns {
            let _ = write!(
                out,
                "<th scope=\"col\" class=\"code\"><a href=\"{}\">{}</a></th>",
                query
                    .with_filter("curriculum_code_prefix", prefix)
                    .href(path),
                escape(prefix)
            );
        }
        out.push_str("</tr></thead><tbody>\n");
        for learner in learners {
            let _ = write!(
                out,
                "<tr data-learner=\"{l}\"><th scope=\"row\" class=\"sticky\">{l}</th>",
                l = escape(learner)
            );
            for prefix in &self.columns {
                match self.cells.get(&(learner.clone(), prefix.clone())) {
                    Some(&(answered, correct)) if answered > 0 => {
                        let rate = correct as f64 / answered as f64;
                        let _ = write!(
                            out,
                            "<td class=\"heat h{}\" data-code=\"{}\" data-answered=\"{answered}\" \
                             data-correct=\"{correct}\" title=\"{} 正答 {}/{}\">{}</td>",
                            bucket(rate),
                            escape(prefix),
                            escape(prefix),
                            html::count(correct),
                            html::count(answered),
                            html::percent(rate)
                        );
                    }
                    _ => out.push_str("<td class=\"heat none\">—</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>");
        out.push_str(
            "<p class=\"legend\"><span class=\"heat h0\">40%未満</span>\
             <span class=\"heat h1\">40〜60%</span><span class=\"heat h2\">60〜80%</span>\
             <span class=\"heat h3\">80〜90%</span><span class=\"heat h4\">90%以上</span>\
             <span class=\"heat none\">— 解答なし</span></p></section>\n",
        );
        out
    }
}

/// The colour class of a rate: 0 (<40%) … 4 (≥90%).
fn bucket(rate: f64) -> u8 {
    match rate {
        r if r < 0.4 => 0,
        r if r < 0.6 => 1,
        r if r < 0.8 => 2,
        r if r < 0.9 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_deepen_with_the_code_filter_and_rates_fall_in_five_bands() {
        assert_eq!(prefix_chars(None), 6);
        assert_eq!(prefix_chars(Some("82")), 6);
        assert_eq!(prefix_chars(Some("826021")), 8);
        assert_eq!(
            [0.0, 0.39, 0.4, 0.6, 0.85, 0.9, 1.0].map(bucket),
            [0, 0, 1, 2, 3, 4, 4]
        );
    }
}
