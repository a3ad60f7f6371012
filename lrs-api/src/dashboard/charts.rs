//! Charts: the numbers go into the page as JSON in a `<script type="application/json">` element
//! (no inline script: the page policy allows scripts from this site only), our
//! `dashboard.js` draws them with uPlot (`lrs_assets`), and the same numbers are in a table
//! beneath — the chart's text alternative, and all there is when the build had no charts.

use std::fmt::Write;

use serde_json::json;

use crate::dashboard::html::{self, escape};

/// Where the bundled scripts and styles are served.
pub const SCRIPT_PATH: &str = "/dashboard/assets/dashboard.js";
pub const UPLOT_JS_PATH: &str = "/dashboard/assets/uPlot.iife.min.js";
pub const UPLOT_CSS_PATH: &str = "/dashboard/assets/uPlot.min.css";

/// Our chart script (reads the JSON, calls uPlot).
pub const SCRIPT: &str = include_str!("dashboard.js");

/// Whether this build draws charts (uPlot was fetched at build time).
pub fn enabled() -> bool {
    lrs_assets::CHARTS
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    Bars,
    Line,
}

/// One chart: a label per x position (days, hours) and one series of counts.
pub struct Chart<'a> {
    /// The element id (unique in the page; tests find the chart by it).
    pub id: &'a str,
    pub title: &'a str,
    pub kind: ChartKind,
    /// Each position's key in the table (`2025-10-14`, `9`): `data-key` of its row.
    pub keys: Vec<String>,
    /// Short labels on the axis (`10/14`, `9時`).
    pub labels: Vec<String>,
    /// Long labels in the table (`2025年10月14日（火）`).
    pub long_labels: Vec<String>,
    pub series_label: &'a str,
    /// What the x axis counts (`日`, `時間帯`), named in the chart's legend.
    pub x_label: &'a str,
    /// `None`: no value (a suppressed cell).
    pub values: Vec<Option<u64>>,
    /// Where each table row links (same length as `values`, already escaped), or none.
    pub links: Vec<Option<String>>,
}

impl Chart<'_> {
    /// The chart's HTML: the drawing area, its data, and the table of its numbers.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<figure class=\"chart-box\" id=\"{id}\"><figcaption>{title}</figcaption>",
            id = escape(self.id),
            title = escape(self.title),
        );
        let suppressed = self.values.iter().filter(|v| v.is_none()).count();
        let drawn = enabled() && suppressed < self.values.len();
        if suppressed > 0 {
            out.push_str(if suppressed == self.values.len() {
                "<p class=\"note\">すべての区分が少人数のため、グラフは表示しません。</p>"
            } else {
                "<p class=\"note\">少人数のため非表示の区分は、グラフに描きません。</p>"
            });
        }
        if drawn {
            let data = json!({
                "kind": match self.kind { ChartKind::Bars => "bars", ChartKind::Line => "line" },
                "labels": self.labels,
                "series": self.series_label,
                "x": self.x_label,
                "values": self.values,
            });
            let _ = write!(
                out,
                "<div class=\"chart\" role=\"img\" aria-label=\"{}\"></div>\
                 <script type=\"application/json\" class=\"chart-data\">{}</script>\
                 <details><summary>数値を表で見る</summary>",
                escape(self.title),
                script_json(&data.to_string()),
            );
        } else if !enabled() {
            out.push_str(
                "<p class=\"note\">この版にはグラフ描画ライブラリが含まれていないため、表で表示します。</p>",
            );
        }
        let _ = write!(
            out,
            "<div class=\"table-wrap\"><table class=\"series\"><thead><tr><th scope=\"col\"></th>\
             <th scope=\"col\">{}</th></tr></thead><tbody>",
            escape(self.series_label)
        );
        for (i, value) in self.values.iter().enumerate() {
            let label = self.long_labels.get(i).map_or("", String::as_str);
            let text = value.map_or_else(|| SUPPRESSED.to_owned(), html::count);
            let text = match (value, self.links.get(i).and_then(Option::as_ref)) {
                (Some(n), Some(link)) if *n > 0 => format!("<a href=\"{link}\">{text}</a>"),
                _ => text,
            };
            let _ = write!(
                out,
                "<tr data-key=\"{}\"><th scope=\"row\">{}</th><td class=\"num\" data-value=\"{}\">{text}</td></tr>",
                escape(self.keys.get(i).map_or("", String::as_str)),
                escape(label),
                value.map_or_else(String::new, |n| n.to_string()),
            );
        }
        out.push_str("</tbody></table></div>");
        if drawn {
            out.push_str("</details>");
        }
        out.push_str("</figure>\n");
        out
    }
}

/// How a suppressed cell is shown (never a number).
pub const SUPPRESSED: &str = "非表示（少人数）";

/// JSON safe inside a `<script>` element: `<`, `>` and `&` as `\u` escapes (valid JSON).
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The elements a page with charts adds to its head.
pub fn head_elements() -> String {
    if enabled() {
        format!(
            "<link rel=\"stylesheet\" href=\"{UPLOT_CSS_PATH}\">\n\
             <script src=\"{UPLOT_JS_PATH}\" defer></script>\n\
             <script src=\"{SCRIPT_PATH}\" defer></script>\n"
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_data_cannot_close_its_script_element() {
        let json = json!({"labels": ["</script><script>alert(1)</script>"]}).to_string();
        let safe = script_json(&json);
        assert!(!safe.contains('<'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["labels"][0], "</script><script>alert(1)</script>");
    }
}
