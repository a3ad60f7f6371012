//! The views above a class: a school per class (`/dashboard/school/{schoolSourcedId}`, for its
//! principal), a board per school (`/dashboard/board/{board}`, board staff), the prefecture per
//! board (`/dashboard/prefecture`, a prefecture credential; small cells shown as suppressed,
//! never as a number). Each also shows activity per day, per hour of day and per tool. The
//! numbers are `/api/v1/aggregates` for the viewer's reader, which also decides access.

use std::fmt::Write;

use lrs_query::aggregates::{AggregateService, Reader};
use lrs_store::now_micros;

use crate::dashboard::charts::SUPPRESSED;
use crate::dashboard::html::{self, SignedIn, escape, url_component};
use crate::dashboard::numbers::{Numbers, key};
use crate::dashboard::sections::{self, GroupRow};
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, DashboardErrorKind, Viewer};

const ROW_METRICS: &str =
    "statements,active_learners,learning_time_seconds,correct_rate,last_active";

/// Which view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Per class of the school.
    School(String),
    /// Per school of the board.
    Board(String),
    /// Per board.
    Prefecture,
}

impl Scope {
    fn path(&self) -> String {
        match self {
            Scope::School(school) => format!("/dashboard/school/{}", url_component(school)),
            Scope::Board(board) => format!("/dashboard/board/{}", url_component(board)),
            Scope::Prefecture => "/dashboard/prefecture".to_owned(),
        }
    }
}

pub struct GroupView {
    pub scope: Scope,
    pub title: String,
    pub query: ViewQuery,
    pub totals: Numbers,
    pub rows: Vec<GroupRow>,
    pub days: Vec<(lrs_roster::Day, Option<u64>)>,
    pub hours: String,
    pub tools: String,
    pub suppression: bool,
}

impl GroupView {
    pub async fn load(
        service: &AggregateService,
        viewer: &Viewer,
        scope: Scope,
        query: ViewQuery,
    ) -> Result<GroupView, DashboardError> {
        let today = service.calendar().day_of(now_micros());
        let reader = viewer
            .reader(service, query.period.last_day().min(today))
            .await?;
        let prefecture = matches!(reader, Reader::Prefecture);
        let (group_by, extra, title): (&str, Vec<(&str, &str)>, String) = match &scope {
            Scope::Prefecture => {
                if !prefecture {
                    return Err(DashboardError::forbidden(
                        "都道府県の画面は、都道府県のキーでログインした方だけが見られます。",
                        "the prefecture view needs a prefecture credential",
                    ));
                }
                (
                    "board",
                    Vec::new(),
                    "都道府県: 教育委員会ごとの学習状況".to_owned(),
                )
            }
            Scope::Board(board) => {
                if !prefecture && *board != viewer.tenant {
                    return Err(DashboardError::forbidden(
                        "この教育委員会の学習状況は、あなたの権限では表示できません。",
                        format!("board {board} is not the viewer's tenant"),
                    ));
                }
                let extra = if prefecture {
                    vec![("board", board.as_str())]
                } else {
                    Vec::new()
                };
                ("school", extra, format!("教育委員会: {board}（学校ごと）"))
            }
            Scope::School(school) => {
                let name = if prefecture {
                    school.clone()
                } else {
                    let roster = service.roster(&viewer.tenant).await?;
                    let org = roster
                        .org_key(school)
                        .ok_or_else(|| unknown_school(school))?;
                    roster
                        .org(org)
                        .map_or_else(|| school.clone(), |o| format!("{}（{school}）", o.name))
                };
                (
                    "class",
                    vec![("school", school.as_str())],
                    format!("学校: {name}（クラスごと）"),
                )
            }
        };
        let answer = sections::ask(
            service,
            viewer,
            &reader,
            &query,
            group_by,
            ROW_METRICS,
            &extra,
        )
        .await?;
        let roster = if prefecture {
            None
        } else {
            Some(service.roster(&viewer.tenant).await?)
        };
        let mut rows: Vec<GroupRow> = answer
            .rows
            .iter()
            .map(|row| {
                let id = key(row, 0);
                let name = match (&id, &roster, group_by) {
                    (None, _, "class") => "クラスの登録なし".to_owned(),
                    (None, _, _) => "学校の登録なし".to_owned(),
                    (Some(id), Some(roster), "class") => roster
                        .class_key(id)
                        .and_then(|k| roster.class(k))
                        .filter(|c| !c.title.is_empty())
                        .map_or_else(|| id.clone(), |c| format!("{}（{id}）", c.title)),
                    (Some(id), Some(roster), "school") => roster
                        .org_key(id)
                        .and_then(|k| roster.org(k))
                        .map_or_else(|| id.clone(), |o| format!("{}（{id}）", o.name)),
                    (Some(id), _, _) => id.clone(),
                };
                let link = id.as_ref().and_then(|id| match group_by {
                    "class" => Some(query.href(&format!("/dashboard/class/{}", url_component(id)))),
                    "school" if !prefecture => {
                        Some(query.href(&format!("/dashboard/school/{}", url_component(id))))
                    }
                    "board" => Some(query.href(&format!("/dashboard/board/{}", url_component(id)))),
                    _ => None,
                });
                GroupRow {
                    key: id,
                    name,
                    numbers: Numbers::of(row),
                    link,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            a.key
                .is_none()
                .cmp(&b.key.is_none())
                .then(a.key.cmp(&b.key))
        });
        let totals = sections::ask(service, viewer, &reader, &query, "", ROW_METRICS, &extra)
            .await?
            .rows
            .first()
            .map(Numbers::of)
            .unwrap_or_default();
        let days = sections::per_day(service, viewer, &reader, &query, &extra).await?;
        let hours = sections::hour_chart(service, viewer, &reader, &query, &extra).await?;
        let tools = sections::tool_table(
            service,
            viewer,
            &reader,
            &query,
            &scope.path(),
            &extra,
            true,
        )
        .await?;
        Ok(GroupView {
            title,
            query,
            totals,
            rows,
            days,
            hours,
            tools,
            suppression: prefecture,
            scope,
        })
    }

    pub fn render(&self, calendar: &lrs_roster::Calendar, signed_in: &SignedIn<'_>) -> String {
        let path = self.scope.path();
        let mut body = String::new();
        let _ = writeln!(
            body,
            "<h1>{}</h1>\n{}",
            escape(&self.title),
            self.query.form(&path)
        );
        let t = &self.totals;
        let shown = |value: Option<String>| {
            if t.suppressed {
                SUPPRESSED.to_owned()
            } else {
                value.unwrap_or_else(|| "—".to_owned())
            }
        };
        body.push_str(&html::cards(&[
            (
                "学習記録数",
                shown(Some(html::count(t.statements.unwrap_or(0)))),
                "summary-statements",
            ),
            (
                "学習した人数",
                shown(Some(format!(
                    "{}人",
                    html::count(t.active_learners.unwrap_or(0))
                ))),
                "summary-studied",
            ),
            (
                "学習時間",
                shown(Some(html::duration(t.learning_seconds.unwrap_or(0.0)))),
                "summary-time",
            ),
            (
                "正答率",
                shown(t.correct_rate.map(html::percent)),
                "summary-rate",
            ),
        ]));
        if self.suppression {
            body.push_str(
                "<p class=\"note\">個人が特定されないよう、学習した人数が少ない区分の数値は「非表示（少人数）」とし、表示しません。</p>\n",
            );
        }
        let (heading, column) = match self.scope {
            Scope::School(_) => ("クラスごとの状況", "クラス"),
            Scope::Board(_) => ("学校ごとの状況", "学校"),
            Scope::Prefecture => ("教育委員会ごとの状況", "教育委員会"),
        };
        let _ = writeln!(
            body,
            "<section id=\"groups\"><h2>{heading}</h2>{}</section>",
            sections::group_table(column, &self.rows, calendar, true)
        );
        body.push_str("<div class=\"grid\">");
        body.push_str(&sections::day_chart(
            "by-day",
            &self.days,
            &self.query,
            &path,
        ));
        body.push_str(&self.hours);
        body.push_str("</div>\n");
        body.push_str(&self.tools);
        html::page_with(&self.title, Some(signed_in), &body, true)
    }
}

fn unknown_school(school: &str) -> DashboardError {
    DashboardError::new(
        DashboardErrorKind::NotFound,
        "学校が見つかりません",
        format!("学校「{school}」は名簿（OneRoster）に登録されていません。"),
        format!("school {school} is not in the roster"),
    )
}
