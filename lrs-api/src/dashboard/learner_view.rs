//! The learner's own view (`/dashboard/me`, after a learner's launch): their totals, a
//! timeline of the days they studied, activity per day, per-subject summaries, usage per tool,
//! and the link to download their study log. The numbers are `/api/v1/aggregates?learner=<me>`
//! for their own reader.

use std::fmt::Write;

use lrs_roster::{Calendar, Day};
use lrs_store::now_micros;

use crate::dashboard::html::{self, SignedIn, escape};
use crate::dashboard::numbers::{Numbers, key};
use crate::dashboard::sections::{self, GroupRow};
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, Viewer};

const PATH: &str = "/dashboard/me";
/// Where "download my study log" points (issue 14 §1 defines the zip).
pub const EXPORT_PATH: &str = "/dashboard/me/export";
const METRICS: &str = "statements,learning_time_seconds,answered,correct,correct_rate,last_active";

pub struct LearnerView {
    pub learner: String,
    pub query: ViewQuery,
    pub totals: Numbers,
    pub days: Vec<(Day, Option<u64>)>,
    pub subjects: Vec<GroupRow>,
    pub tools: String,
}

impl LearnerView {
    pub async fn load(
        service: &lrs_query::aggregates::AggregateService,
        viewer: &Viewer,
        query: ViewQuery,
    ) -> Result<LearnerView, DashboardError> {
        let learner = viewer.user.clone().ok_or_else(|| {
            DashboardError::forbidden(
                "自分の学習記録の画面は、学習eポータルから児童生徒として開いたときに表示されます。",
                "the learner view needs a roster user",
            )
        })?;
        let today = service.calendar().day_of(now_micros());
        let reader = viewer
            .reader(service, query.period.last_day().min(today))
            .await?;
        let extra = [("learner", learner.as_str())];
        let totals = sections::ask(service, viewer, &reader, &query, "", METRICS, &extra)
            .await?
            .rows
            .first()
            .map(Numbers::of)
            .unwrap_or_default();
        let days = sections::per_day(service, viewer, &reader, &query, &extra).await?;
        let by_subject =
            sections::ask(service, viewer, &reader, &query, "subject", METRICS, &extra).await?;
        let mut subjects: Vec<GroupRow> = by_subject
            .rows
            .iter()
            .map(|row| {
                let subject = key(row, 0);
                GroupRow {
                    name: subject
                        .clone()
                        .unwrap_or_else(|| "教科の記録なし".to_owned()),
                    link: subject
                        .as_ref()
                        .map(|s| query.with_filter("subject", s).href(PATH)),
                    key: subject,
                    numbers: Numbers::of(row),
                }
            })
            .collect();
        subjects.sort_by(|a, b| {
            a.key
                .is_none()
                .cmp(&b.key.is_none())
                .then(a.key.cmp(&b.key))
        });
        let tools =
            sections::tool_table(service, viewer, &reader, &query, PATH, &extra, false).await?;
        Ok(LearnerView {
            learner,
            query,
            totals,
            days,
            subjects,
            tools,
        })
    }

    pub fn render(&self, calendar: &Calendar, signed_in: &SignedIn<'_>) -> String {
        let mut body = String::new();
        let _ = writeln!(body, "<h1>わたしの学習記録</h1>\n{}", self.query.form(PATH));
        let t = &self.totals;
        body.push_str(&html::cards(&[
            (
                "学習記録数",
                html::count(t.statements.unwrap_or(0)),
                "summary-statements",
            ),
            (
                "学習時間",
                html::duration(t.learning_seconds.unwrap_or(0.0)),
                "summary-time",
            ),
            (
                "正答率",
                t.correct_rate.map_or_else(|| "—".to_owned(), html::percent),
                "summary-rate",
            ),
            (
                "最後に学習した日時",
                t.last_active
                    .map_or_else(|| "—".to_owned(), |at| html::instant(calendar, at)),
                "summary-last",
            ),
        ]));
        let _ = writeln!(
            body,
            "<p class=\"download\"><a class=\"button\" id=\"download\" href=\"{}\" download>学習記録をダウンロード</a>\
             <span class=\"note\">この期間の自分の学習記録（xAPI の JSON）を zip ファイルで保存できます。</span></p>",
            self.query.href(EXPORT_PATH)
        );
        body.push_str("<div class=\"grid\">");
        body.push_str(&sections::day_chart(
            "by-day",
            &self.days,
            &self.query,
            PATH,
        ));
        body.push_str(&timeline(&self.days, &self.query));
        body.push_str("</div>\n");
        let _ = writeln!(
            body,
            "<section id=\"by-subject\"><h2>教科ごとのまとめ</h2>{}</section>",
            sections::group_table("教科", &self.subjects, calendar, false)
        );
        body.push_str(&self.tools);
        html::page_with("わたしの学習記録", Some(signed_in), &body, true)
    }
}

/// The days studied, the latest first (at most 14), each linking to that day.
fn timeline(days: &[(Day, Option<u64>)], query: &ViewQuery) -> String {
    let mut out =
        String::from("<section id=\"timeline\"><h2>最近の学習</h2><ol class=\"timeline\">");
    let studied: Vec<&(Day, Option<u64>)> = days
        .iter()
        .rev()
        .filter(|(_, n)| n.unwrap_or(0) > 0)
        .take(14)
        .collect();
    for (day, n) in &studied {
        let mut one = query.clone();
        one.period.since = *day;
        one.period.until = day.next();
        one.period.is_default = false;
        let _ = write!(
            out,
            "<li data-day=\"{day}\"><span class=\"when\">{}</span> <a href=\"{}\">{}件</a></li>",
            escape(&html::day(*day)),
            one.href(PATH),
            html::count(n.unwrap_or(0))
        );
    }
    if studied.is_empty() {
        out.push_str("<li>この期間の学習記録はありません。</li>");
    }
    out.push_str("</ol></section>");
    out
}
