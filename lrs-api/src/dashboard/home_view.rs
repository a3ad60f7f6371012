//! The landing view (`/dashboard`): what the viewer may see, per class (board staff, school
//! staff, a teacher, a learner — each sees the classes their roster role allows) or, for a
//! prefecture credential, per board with small cells shown as suppressed. Each class links to
//! its class view, each board to its board view; above the table, links to the other views the
//! viewer may open (their school, their board, the prefecture, their own study log).

use std::fmt::Write;

use lrs_query::aggregates::engine::MetricValue;
use lrs_query::aggregates::{AggregateService, Metric, Reader};
use lrs_store::now_micros;

use crate::dashboard::charts::SUPPRESSED;
use crate::dashboard::html::{self, SignedIn, escape, url_component};
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, Viewer};

/// One row: a class (or a board) and its numbers (`None`: suppressed).
pub struct HomeRow {
    pub key: String,
    pub statements: Option<u64>,
    pub active_learners: Option<u64>,
}

pub struct HomeView {
    pub by_board: bool,
    pub query: ViewQuery,
    pub rows: Vec<HomeRow>,
    /// The other views this viewer may open: (label, path).
    pub views: Vec<(String, String)>,
}

impl HomeView {
    pub async fn load(
        service: &AggregateService,
        viewer: &Viewer,
        query: ViewQuery,
    ) -> Result<HomeView, DashboardError> {
        let today = service.calendar().day_of(now_micros());
        let reader = viewer
            .reader(service, query.period.last_day().min(today))
            .await?;
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
        params.extend(query.params());
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
        let mut views = Vec::new();
        match &reader {
            Reader::Prefecture => views.push((
                "都道府県の学習状況".to_owned(),
                "/dashboard/prefecture".to_owned(),
            )),
            Reader::Tenant => views.push((
                format!("教育委員会（{}）の学校ごとの状況", viewer.tenant),
                format!("/dashboard/board/{}", url_component(&viewer.tenant)),
            )),
            Reader::Bound { visibility, .. } => {
                if visibility.is_whole_tenant() {
                    views.push((
                        format!("教育委員会（{}）の学校ごとの状況", viewer.tenant),
                        format!("/dashboard/board/{}", url_component(&viewer.tenant)),
                    ));
                }
                let roster = service.roster(&viewer.tenant).await?;
                for school in visibility.schools().into_iter().flatten() {
                    let name = roster
                        .org_key(school.as_str())
                        .and_then(|k| roster.org(k))
                        .map_or_else(|| school.to_string(), |o| o.name.clone());
                    views.push((
                        format!("学校（{name}）のクラスごとの状況"),
                        format!("/dashboard/school/{}", url_component(school.as_str())),
                    ));
                }
                if viewer.session.role.as_deref() == Some("learner") {
                    views.push(("わたしの学習記録".to_owned(), "/dashboard/me".to_owned()));
                }
            }
        }
        Ok(HomeView {
            by_board,
            query,
            rows,
            views,
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
            self.query.form("/dashboard")
        );
        if !self.views.is_empty() {
            body.push_str("<nav class=\"views\"><ul>");
            for (label, path) in &self.views {
                let _ = write!(
                    body,
                    "<li><a href=\"{}\">{}</a></li>",
                    self.query.href(path),
                    escape(label)
                );
            }
            body.push_str("</ul></nav>\n");
        }
        if self.by_board {
            body.push_str(
                "<p class=\"note\">個人が特定されないよう、学習した人数が少ない区分の数値は「非表示（少人数）」とし、表示しません。</p>\n",
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
        let cell = |n: Option<u64>| {
            n.map_or_else(
                || format!("<span class=\"suppressed\">{SUPPRESSED}</span>"),
                html::count,
            )
        };
        for row in &self.rows {
            let view = if self.by_board { "board" } else { "class" };
            let name = format!(
                "<a href=\"{}\">{}</a>",
                self.query
                    .href(&format!("/dashboard/{view}/{}", url_component(&row.key))),
                escape(&row.key)
            );
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
