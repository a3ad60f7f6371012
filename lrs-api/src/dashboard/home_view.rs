//! The landing view (`/dashboard`): what the viewer may see, per class (board staff, school
//! staff, a teacher, a learner — each sees the classes their roster role allows) or, for a
//! prefecture credential, per board with small cells shown as suppressed. Each class links to
//! its class view.

use std::fmt::Write;

use lrs_query::aggregates::engine::MetricValue;
use lrs_query::aggregates::{AggregateService, Metric, Reader};
use lrs_store::now_micros;

use crate::dashboard::class_view::period_form;
use crate::dashboard::html::{self, SignedIn, escape, url_component};
use crate::dashboard::period::Period;
use crate::dashboard::{DashboardError, Viewer};

/// One row: a class (or a board) and its numbers (`None`: suppressed).
pub struct HomeRow {
    pub key: String,
    pub statements: Option<u64>,
    pub active_learners: Option<u64>,
}

pub struct HomeView {
    pub by_board: bool,
    pub period: Period,
    pub rows: Vec<HomeRow>,
}

impl HomeView {
    pub async fn load(
        service: &AggregateService,
        viewer: &Viewer,
        period: Period,
    ) -> Result<HomeView, DashboardError> {
        let today = service.calendar().day_of(now_micros());
        let reader = viewer.reader(service, period.last_day().min(today)).await?;
        let by_board = matches!(reader, Reader::Prefecture);
        let mut params = vec![
            (
                "group_by".to_owned(),
                if by_board { "board" } else { "class" }.to_owned(),
            ),
            (
                "metrics".to_owned(),
                "statements,active_learners".to_owned(),
            ),
        ];
        params.extend(period.params());
        let answer = service
            .aggregate(&viewer.tenant, &reader, None, &params)
            .await?;
        let rows = answer
            .rows
            .iter()
            .filter_map(|row| {
                let key = match row.dims.first() {
                    Some((_, Some(serde_json::Value::String(key)))) => key.clone(),
                    _ => return None,
                };
                let count = |wanted: Metric| {
                    row.metrics.iter().find_map(|(m, v)| match (m, v) {
                        (m, Some(MetricValue::Count(n))) if *m == wanted => Some(*n),
                        _ => None,
                    })
                };
                Some(HomeRow {
                    key,
                    statements: count(Metric::Statements),
                    active_learners: count(Metric::ActiveLearners),
                })
            })
            .collect();
        Ok(HomeView {
            by_board,
            period,
            rows,
        })
    }

    pub fn render(&self, signed_in: &SignedIn<'_>) -> String {
        let mut body = String::new();
        let (heading, column) = if self.by_board {
            ("教育委員会ごとの学習状況", "教育委員会")
        } else {
            ("クラスごとの学習状況", "クラス")
        };
        let _ = writeln!(
            body,
            "<h1>{heading}</h1>\n{}",
            period_form("/dashboard", &self.period)
        );
        if self.by_board {
            body.push_str(
                "<p class=\"note\">学習者が少ない区分は、個人が特定されないよう「秘匿」と表示します。</p>\n",
            );
        } else {
            body.push_str(
                "<p class=\"note\">表示できるクラスのうち、この期間に学習記録があるクラスです。クラス名から学習者ごとの表を開けます。</p>\n",
            );
        }
        let _ = write!(
            body,
            "<div class=\"table-wrap\"><table class=\"groups\">\n<thead><tr>\
             <th scope=\"col\">{column}</th><th scope=\"col\">学習記録数</th>\
             <th scope=\"col\">学習した人数</th></tr></thead>\n<tbody>\n"
        );
        let cell = |n: Option<u64>| n.map_or_else(|| "秘匿".to_owned(), html::count);
        for row in &self.rows {
            let name = if self.by_board {
                escape(&row.key)
            } else {
                format!(
                    "<a href=\"/dashboard/class/{}?since={}&amp;until={}\">{}</a>",
                    url_component(&row.key),
                    self.period.since,
                    self.period.until,
                    escape(&row.key)
                )
            };
            let _ = writeln!(
                body,
                "<tr data-key=\"{}\"><th scope=\"row\">{name}</th>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&row.key),
                cell(row.statements),
                cell(row.active_learners),
            );
        }
        if self.rows.is_empty() {
            body.push_str("<tr><td colspan=\"3\">この期間の学習記録はありません。</td></tr>\n");
        }
        body.push_str("</tbody></table></div>\n");
        html::page(heading, Some(signed_in), &body)
    }
}
