//! Parts several views share: activity per day and per hour of day (charts), usage per tool,
//! and the table of groups (classes, schools, boards) with their numbers. Each reads
//! `/api/v1/aggregates` for the view's reader, period and filters.

use std::collections::BTreeMap;
use std::fmt::Write;

use lrs_query::aggregates::{AggregateService, Reader};
use lrs_roster::{Calendar, Day};

use crate::dashboard::charts::{Chart, ChartKind, SUPPRESSED};
use crate::dashboard::html::{self, escape};
use crate::dashboard::numbers::{Numbers, by_first_key};
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{DashboardError, Viewer};

/// One aggregates question for the viewer: `group_by`, `metrics`, the view's period and
/// filters, and `extra` filters (`class`, `school`, `board`, `learner`).
pub async fn ask(
    service: &AggregateService,
    viewer: &Viewer,
    reader: &Reader,
    query: &ViewQuery,
    group_by: &str,
    metrics: &str,
    extra: &[(&str, &str)],
) -> Result<lrs_query::aggregates::AggregateAnswer, DashboardError> {
    let mut params = Vec::new();
    if !group_by.is_empty() {
        params.push(("group_by".to_owned(), group_by.to_owned()));
    }
    params.push(("metrics".to_owned(), metrics.to_owned()));
    params.extend(query.params());
    params.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Ok(service
        .aggregate(&viewer.tenant, reader, None, &params)
        .await?)
}

/// Statements per day of the period (every day, 0 included).
pub async fn per_day(
    service: &AggregateService,
    viewer: &Viewer,
    reader: &Reader,
    query: &ViewQuery,
    extra: &[(&str, &str)],
) -> Result<Vec<(Day, Option<u64>)>, DashboardError> {
    let answer = ask(service, viewer, reader, query, "day", "statements", extra).await?;
    let counted: BTreeMap<String, Numbers> = by_first_key(&answer).into_iter().collect();
    let mut days = Vec::new();
    let mut day = query.period.since;
    while day < query.period.until {
        let value = match counted.get(&day.to_string()) {
            Some(n) if n.suppressed => None,
            Some(n) => Some(n.statements.unwrap_or(0)),
            None => Some(0),
        };
        days.push((day, value));
        day = day.next();
    }
    Ok(days)
}

/// The activity-per-day chart; each day's number links to the view narrowed to that day.
pub fn day_chart(id: &str, days: &[(Day, Option<u64>)], query: &ViewQuery, path: &str) -> String {
    Chart {
        id,
        title: "日ごとの学習記録数",
        kind: ChartKind::Bars,
        keys: days.iter().map(|(d, _)| d.to_string()).collect(),
        labels: days.iter().map(|(d, _)| short_day(*d)).collect(),
        long_labels: days.iter().map(|(d, _)| html::day(*d)).collect(),
        series_label: "学習記録数",
        x_label: "日",
        values: days.iter().map(|(_, v)| *v).collect(),
        links: days
            .iter()
            .map(|(d, _)| {
                let mut one = query.clone();
                one.period.since = *d;
                one.period.until = d.next();
                one.period.is_default = false;
                Some(one.href(path))
            })
            .collect(),
    }
    .render()
}

/// Statements per hour of the day (0–23 in the deployment's zone).
pub async fn hour_chart(
    service: &AggregateService,
    viewer: &Viewer,
    reader: &Reader,
    query: &ViewQuery,
    extra: &[(&str, &str)],
) -> Result<String, DashboardError> {
    let answer = ask(service, viewer, reader, query, "hour", "statements", extra).await?;
    let counted: BTreeMap<String, Numbers> = by_first_key(&answer).into_iter().collect();
    let values: Vec<Option<u64>> = (0..24)
        .map(|hour: u32| match counted.get(&hour.to_string()) {
            Some(n) if n.suppressed => None,
            Some(n) => Some(n.statements.unwrap_or(0)),
            None => Some(0),
        })
        .collect();
    Ok(Chart {
        id: "by-hour",
        title: "時間帯ごとの学習記録数",
        kind: ChartKind::Bars,
        keys: (0..24).map(|h| h.to_string()).collect(),
        labels: (0..24).map(|h| format!("{h}時")).collect(),
        long_labels: (0..24).map(|h| format!("{h}時台")).collect(),
        series_label: "学習記録数",
        x_label: "時間帯",
        values,
        links: Vec::new(),
    }
    .render())
}

/// Usage per tool: statements, learners (`with_learners`: not on one learner's own view) and
/// time, a bar each, most used first; each tool links to the view narrowed to it.
pub async fn tool_table(
    service: &AggregateService,
    viewer: &Viewer,
    reader: &Reader,
    query: &ViewQuery,
    path: &str,
    extra: &[(&str, &str)],
    with_learners: bool,
) -> Result<String, DashboardError> {
    let answer = ask(
        service,
        viewer,
        reader,
        query,
        "tool",
        "statements,active_learners,learning_time_seconds",
        extra,
    )
    .await?;
    let mut rows = by_first_key(&answer);
    rows.sort_by(|a, b| b.1.statements.cmp(&a.1.statements).then(a.0.cmp(&b.0)));
    let most = rows
        .iter()
        .filter_map(|(_, n)| n.statements)
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "<section class=\"tools\" id=\"by-tool\"><h2>ツールごとの利用</h2>\
         <div class=\"table-wrap\"><table class=\"tools\"><thead><tr>\
         <th scope=\"col\">ツール</th><th scope=\"col\">学習記録数</th>\
         <th scope=\"col\" class=\"bar-col\">割合</th>{}\
         <th scope=\"col\">学習時間</th></tr></thead><tbody>",
        if with_learners {
            "<th scope=\"col\">学習した人数</th>"
        } else {
            ""
        }
    );
    for (tool, numbers) in &rows {
        let statements = numbers.statements.unwrap_or(0);
        let _ = write!(
            out,
            "<tr data-tool=\"{tool_attr}\"><th scope=\"row\"><a href=\"{link}\">{tool_text}</a></th>\
             <td class=\"num\" data-statements=\"{statements}\">{count}</td>\
             <td class=\"bar-col\"><meter min=\"0\" max=\"{most}\" value=\"{statements}\"></meter></td>\
             {learners}<td class=\"num\">{time}</td></tr>",
            tool_attr = escape(tool),
            tool_text = escape(tool),
            link = query.with_filter("tool", tool).href(path),
            count = cell(numbers.suppressed, numbers.statements, html::count),
            learners = if with_learners {
                format!(
                    "<td class=\"num\">{}</td>",
                    cell(numbers.suppressed, numbers.active_learners, html::count)
                )
            } else {
                String::new()
            },
            time = cell(numbers.suppressed, numbers.learning_seconds, html::duration),
        );
    }
    if rows.is_empty() {
        out.push_str("<tr><td colspan=\"5\">この期間の学習記録はありません。</td></tr>");
    }
    out.push_str("</tbody></table></div></section>\n");
    Ok(out)
}

/// A metric's cell text: the suppression mark, a dash for no value, or the number.
pub fn cell<T: Copy>(suppressed: bool, value: Option<T>, show: impl Fn(T) -> String) -> String {
    if suppressed {
        return format!("<span class=\"suppressed\">{SUPPRESSED}</span>");
    }
    value.map_or_else(|| "—".to_owned(), show)
}

/// One group (a class, school or board) of a group table.
pub struct GroupRow {
    /// The sourcedId (or board); `None`: statements attributed to no group.
    pub key: Option<String>,
    pub name: String,
    pub numbers: Numbers,
    /// Its own view, where the viewer may open it.
    pub link: Option<String>,
}

/// The table of groups: statements, learners (`with_learners`), time, correct rate, last
/// active.
pub fn group_table(
    column: &str,
    rows: &[GroupRow],
    calendar: &Calendar,
    with_learners: bool,
) -> String {
    let mut out = format!(
        "<div class=\"table-wrap\"><table class=\"groups\"><thead><tr>\
         <th scope=\"col\">{column}</th><th scope=\"col\">学習記録数</th>{}\
         <th scope=\"col\">学習時間</th>\
         <th scope=\"col\">正答率</th><th scope=\"col\">最終学習日時</th></tr></thead><tbody>\n",
        if with_learners {
            "<th scope=\"col\">学習した人数</th>"
        } else {
            ""
        }
    );
    for row in rows {
        let n = &row.numbers;
        let name = match &row.link {
            Some(link) => format!("<a href=\"{link}\">{}</a>", escape(&row.name)),
            None => escape(&row.name),
        };
        let statements = cell(n.suppressed, n.statements, html::count);
        let statements = match (&row.link, n.suppressed) {
            (Some(link), false) => format!("<a href=\"{link}\">{statements}</a>"),
            _ => statements,
        };
        let _ = writeln!(
            out,
            "<tr data-key=\"{key}\"{suppressed}><th scope=\"row\">{name}</th>\
             <td class=\"num\" data-statements=\"{raw}\">{statements}</td>\
             {learners}<td class=\"num\">{time}</td>\
             <td class=\"num\">{rate}</td><td>{last}</td></tr>",
            key = escape(row.key.as_deref().unwrap_or("")),
            suppressed = if n.suppressed {
                " class=\"suppressed-row\""
            } else {
                ""
            },
            raw = n.statements.map_or_else(String::new, |s| s.to_string()),
            learners = if with_learners {
                format!(
                    "<td class=\"num\">{}</td>",
                    cell(n.suppressed, n.active_learners, html::count)
                )
            } else {
                String::new()
            },
            time = cell(n.suppressed, n.learning_seconds, html::duration),
            rate = cell(n.suppressed, n.correct_rate, html::percent),
            last = cell(n.suppressed, n.last_active, |at| html::instant(
                calendar, at
            )),
        );
    }
    if rows.is_empty() {
        out.push_str("<tr><td colspan=\"6\">この期間の学習記録はありません。</td></tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// A day on a chart's axis: `10/14`.
pub fn short_day(day: Day) -> String {
    let text = day.to_string();
    let mut parts = text.splitn(3, '-').skip(1);
    let month = parts.next().unwrap_or("").trim_start_matches('0');
    let date = parts.next().unwrap_or("").trim_start_matches('0');
    format!("{month}/{date}")
}
