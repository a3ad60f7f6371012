//! The class view (`/dashboard/class/{classSourcedId}`): one row per learner of the class in
//! the period — statements, learning time, correct rate, last active — with the learners
//! inactive for `dashboard.inactive_school_days` school days flagged; a heat map of correct rate
//! by 学習指導要領コード prefix × learner; activity per day; usage per tool. The numbers are
//! `/api/v1/aggregates?…&class=…` (with the view's filters) and `/api/v1/learners/inactive` for
//! the same reader.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use lrs_query::aggregates::engine::MetricValue;
use lrs_query::aggregates::{AggregateService, Dimension, Metric};
use lrs_roster::{Calendar, Day, DayRange};
use lrs_store::now_micros;

use crate::dashboard::heat_map::HeatMap;
use crate::dashboard::html::{self, SignedIn, escape, url_component};
use crate::dashboard::sections;
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, DashboardErrorKind, Viewer};

const METRICS: &str = "statements,learning_time_seconds,answered,correct,correct_rate,last_active";

/// One learner's row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LearnerRow {
    pub learner: String,
    pub statements: u64,
    pub learning_seconds: f64,
    pub answered: u64,
    pub correct: u64,
    /// `None`: nothing answered.
    pub correct_rate: Option<f64>,
    /// µs.
    pub last_active: Option<i64>,
    pub inactive: bool,
}

/// What the class view shows.
pub struct ClassView {
    pub class: String,
    pub title: String,
    pub query: ViewQuery,
    pub rows: Vec<LearnerRow>,
    pub heat_map: HeatMap,
    pub days: Vec<(Day, Option<u64>)>,
    /// The usage-per-tool section (HTML).
    pub tools: String,
    pub inactive_school_days: u32,
    /// The day inactivity is judged on: the period's last day, or today if earlier.
    pub judged_on: Day,
}

impl ClassView {
    /// Reads the class for `viewer`: 403 when the viewer may not see it, 404 when the roster has
    /// no such class.
    pub async fn load(
        service: &AggregateService,
        viewer: &Viewer,
        class: &str,
        query: ViewQuery,
        inactive_school_days: u32,
    ) -> Result<ClassView, DashboardError> {
        let period = query.period;
        let calendar = service.calendar();
        let today = calendar.day_of(now_micros());
        // As the API: what a bound reader may see is decided on the period's last day (not
        // after today).
        let judged_on = period.last_day().min(today);
        let reader = viewer.reader(service, judged_on).await?;
        let members = service
            .class_members(
                &viewer.tenant,
                &reader,
                class,
                DayRange::new(period.since, period.until),
            )
            .await?
            .ok_or_else(|| unknown_class(class))?;
        let mut params = vec![
            (
                "group_by".to_owned(),
                Dimension::Learner.as_str().to_owned(),
            ),
            ("metrics".to_owned(), METRICS.to_owned()),
            ("class".to_owned(), class.to_owned()),
        ];
        params.extend(query.params());
        let answer = service
            .aggregate(&viewer.tenant, &reader, None, &params)
            .await?;
        let mut rows: BTreeMap<String, LearnerRow> = members
            .learners
            .into_iter()
            .map(|learner| {
                let row = LearnerRow {
                    learner: learner.clone(),
                    ..LearnerRow::default()
                };
                (learner, row)
            })
            .collect();
        for answered in &answer.rows {
            let Some(Some(serde_json::Value::String(learner))) =
                answered.dims.first().map(|(_, v)| v.clone())
            else {
                continue;
            };
            let row = rows.entry(learner.clone()).or_insert_with(|| LearnerRow {
                learner,
                ..LearnerRow::default()
            });
            for (metric, value) in &answered.metrics {
                match (metric, value) {
                    (Metric::Statements, Some(MetricValue::Count(n))) => row.statements = *n,
                    (Metric::LearningTimeSeconds, Some(MetricValue::Number(s))) => {
                        row.learning_seconds = *s
                    }
                    (Metric::Answered, Some(MetricValue::Count(n))) => row.answered = *n,
                    (Metric::Correct, Some(MetricValue::Count(n))) => row.correct = *n,
                    (Metric::CorrectRate, Some(MetricValue::Number(r))) => {
                        row.correct_rate = Some(*r)
                    }
                    (Metric::LastActive, Some(MetricValue::Instant(at))) => {
                        row.last_active = Some(*at)
                    }
                    _ => {}
                }
            }
        }
        let (inactive, _) = service
            .inactive(
                &viewer.tenant,
                &reader,
                None,
                class,
                inactive_school_days,
                judged_on,
            )
            .await?;
        let inactive: BTreeSet<String> = inactive.into_iter().map(|l| l.learner).collect();
        for row in rows.values_mut() {
            row.inactive = inactive.contains(&row.learner);
        }
        let extra = [("class", class)];
        let heat_map = HeatMap::load(service, viewer, &reader, &query, class).await?;
        let days = sections::per_day(service, viewer, &reader, &query, &extra).await?;
        let path = format!("/dashboard/class/{}", url_component(class));
        let tools =
            sections::tool_table(service, viewer, &reader, &query, &path, &extra, true).await?;
        Ok(ClassView {
            class: class.to_owned(),
            title: members.title,
            query,
            rows: rows.into_values().collect(),
            heat_map,
            days,
            tools,
            inactive_school_days,
            judged_on,
        })
    }

    /// The page.
    pub fn render(&self, calendar: &Calendar, signed_in: &SignedIn<'_>) -> String {
        let mut body = String::new();
        let title = if self.title.is_empty() {
            self.class.clone()
        } else {
            format!("{}（{}）", self.title, self.class)
        };
        let path = format!("/dashboard/class/{}", url_component(&self.class));
        let _ = writeln!(
            body,
            "<h1>クラス: {}</h1>\n{}",
            escape(&title),
            self.query.form(&path)
        );
        let _ = writeln!(body, "{}", summary(&self.rows));
        let _ = writeln!(
            body,
            "<p class=\"note\">★印は、{}までの直近{}学校日（月〜金）に学習記録がない学習者です。\
             日時は{}の時刻です。</p>",
            html::day(self.judged_on),
            self.inactive_school_days,
            zone_label(calendar)
        );
        body.push_str(
            "<section id=\"learners\"><h2>学習者ごとの状況</h2>\
             <div class=\"table-wrap\"><table class=\"learners\">\n<thead><tr>\
             <th scope=\"col\">学習者</th><th scope=\"col\">学習記録数</th>\
             <th scope=\"col\">学習時間</th><th scope=\"col\">正答率</th>\
             <th scope=\"col\">最終学習日時</th></tr></thead>\n<tbody>\n",
        );
        for row in &self.rows {
            let _ = writeln!(
                body,
                "<tr data-learner=\"{learner}\"{class}><th scope=\"row\">{learner}{flag}</th>\
                 <td class=\"num\" data-statements=\"{n}\">{count}</td>\
                 <td class=\"num\">{time}</td><td class=\"num\">{rate}</td><td>{last}</td></tr>",
                learner = escape(&row.learner),
                class = if row.inactive {
                    " class=\"inactive\""
                } else {
                    ""
                },
                flag = if row.inactive {
                    " <span class=\"flag\">★未学習</span>"
                } else {
                    ""
                },
                n = row.statements,
                count = html::count(row.statements),
                time = if row.statements == 0 {
                    "—".to_owned()
                } else {
                    html::duration(row.learning_seconds)
                },
                rate = row
                    .correct_rate
                    .map_or_else(|| "—".to_owned(), html::percent),
                last = row
                    .last_active
                    .map_or_else(|| "—".to_owned(), |at| html::instant(calendar, at)),
            );
        }
        if self.rows.is_empty() {
            body.push_str("<tr><td colspan=\"5\">この期間に在籍する学習者はいません。</td></tr>\n");
        }
        body.push_str("</tbody></table></div></section>\n");
        body.push_str("<div class=\"grid\">");
        body.push_str(&sections::day_chart(
            "by-day",
            &self.days,
            &self.query,
            &path,
        ));
        body.push_str(&self.tools);
        body.push_str("</div>\n");
        let learners: Vec<String> = self.rows.iter().map(|r| r.learner.clone()).collect();
        body.push_str(&self.heat_map.render(&learners, &self.query, &path));
        html::page_with(&title, Some(signed_in), &body, true)
    }
}

fn unknown_class(class: &str) -> DashboardError {
    DashboardError::new(
        DashboardErrorKind::NotFound,
        "クラスが見つかりません",
        format!(
            "クラス「{class}」は名簿（OneRoster）に登録されていません。名簿の取り込みを確認してください。"
        ),
        format!("class {class} is not in the roster"),
    )
}

/// The time zone as the page names it.
pub fn zone_label(calendar: &Calendar) -> String {
    match calendar.zone_name() {
        "Asia/Tokyo" => "日本標準時（JST）".to_owned(),
        other => other.to_owned(),
    }
}

/// The class at a glance: learners, how many studied, statements, correct rate, flagged.
fn summary(rows: &[LearnerRow]) -> String {
    let statements: u64 = rows.iter().map(|r| r.statements).sum();
    let studied = rows.iter().filter(|r| r.statements > 0).count() as u64;
    let answered: u64 = rows.iter().map(|r| r.answered).sum();
    let correct: u64 = rows.iter().map(|r| r.correct).sum();
    let flagged = rows.iter().filter(|r| r.inactive).count() as u64;
    let rate = if answered == 0 {
        "—".to_owned()
    } else {
        html::percent(correct as f64 / answered as f64)
    };
    html::cards(&[
        (
            "学習者",
            format!("{}人", html::count(rows.len() as u64)),
            "summary-learners",
        ),
        (
            "学習した人数",
            format!("{}人", html::count(studied)),
            "summary-studied",
        ),
        ("学習記録数", html::count(statements), "summary-statements"),
        ("正答率", rate, "summary-rate"),
        (
            "★未学習",
            format!("{}人", html::count(flagged)),
            "summary-flagged",
        ),
    ])
}
