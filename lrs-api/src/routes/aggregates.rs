//! Study-log aggregates (issue 11 §6–§7), outside the xAPI surface: `GET /api/v1/aggregates` and
//! the early-warning list `GET /api/v1/learners/inactive`. Both need the `aggregates` scope (or
//! `all`, `all/read`); what a principal sees follows its roster user's roles
//! (`lrs_query::aggregates::AggregateService::reader`). Every answer carries
//! `X-Experience-API-Consistent-Through`, as statement reads do.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use lrs_auth::Access;
use lrs_query::aggregates::{AggregateRequest, AggregateService, Reader};
use lrs_roster::{Day, DayRange};
use lrs_schema::format_timestamp;
use lrs_store::now_micros;
use serde_json::json;

use crate::app::AppState;
use crate::class_summary::{self, SummaryEncoding};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::routes::params::query_pairs;
use crate::routes::statements::CONSISTENT_THROUGH_LOWER;

const INACTIVE_RULE: &str = "LRS learners/inactive: the parameters are class (required), days (required, 1 to 200 school days) and date (YYYY-MM-DD, default today), each at most once";

/// The longest look-back of the inactive list, in school days (about a school year).
pub const MAX_INACTIVE_SCHOOL_DAYS: u32 = 200;

/// `GET /api/v1/aggregates?group_by=…&metrics=…&since=…&until=…&<filters>`: rows as JSON, or
/// CSV when `Accept` prefers `text/csv`.
pub async fn aggregates(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> HttpResponse {
    let answered = async {
        auth.require(Access::ReadAggregates)?;
        let service = service(&state)?;
        let params = query_pairs(&req)?;
        let now = now_micros();
        let calendar = service.calendar();
        // What a bound principal may see is decided on the period's last day (not after today).
        let request = AggregateRequest::from_params(&params, calendar, now)?;
        let day = calendar.day_of(request.until - 1).min(calendar.day_of(now));
        let reader = reader(&service, &auth, day).await?;
        let answer = service
            .aggregate(auth.tenant(), &reader, Some(auth.writer()), &params)
            .await?;
        let through = format_timestamp(answer.consistent_through);
        let response = if wants_csv(&req) {
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((CONSISTENT_THROUGH_LOWER, through))
                .body(answer.to_csv())
        } else {
            HttpResponse::Ok()
                .content_type("application/json")
                .insert_header((CONSISTENT_THROUGH_LOWER, through))
                .body(answer.to_json())
        };
        Ok::<_, ApiError>(response)
    }
    .await;
    answered.unwrap_or_else(|err| error_with_consistent_through(&state, &err))
}

/// `GET /api/v1/learners/inactive?class=…&days=N[&date=YYYY-MM-DD]`: the class's learners
/// (enrolled on `date`) with no statement on the last `days` school days up to `date`.
pub async fn inactive(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> HttpResponse {
    let answered = async {
        auth.require(Access::ReadAggregates)?;
        let service = service(&state)?;
        let calendar = service.calendar();
        let today = calendar.day_of(now_micros());
        let params = InactiveParams::parse(&query_pairs(&req)?, today)?;
        let reader = reader(&service, &auth, params.date.min(today)).await?;
        let (learners, through) = service
            .inactive(
                auth.tenant(),
                &reader,
                Some(auth.writer()),
                &params.class,
                params.school_days,
                params.date,
            )
            .await?;
        let learners: Vec<_> = learners
            .iter()
            .map(|l| {
                json!({
                    "learner": l.learner,
                    "last_active": l.last_active.map(format_timestamp),
                })
            })
            .collect();
        let through = format_timestamp(through);
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .insert_header((CONSISTENT_THROUGH_LOWER, through.clone()))
                .json(json!({
                    "learners": learners,
                    "school_days": params.school_days,
                    "date": params.date.to_string(),
                    "consistent_through": through,
                })),
        )
    }
    .await;
    answered.unwrap_or_else(|err| error_with_consistent_through(&state, &err))
}

const SUMMARY_RULE: &str = "LRS class summary: the parameters are since and until (YYYY-MM-DD, until exclusive; default the last 30 days) and encoding (utf-8 or cp932), each at most once";

/// The header saying how many characters CP932 could not hold (each written as 〓).
pub const REPLACED_CHARACTERS: &str = "x-lrs-replaced-characters";

/// `GET /api/v1/classes/{sourcedId}/summary.csv?since=…&until=…&encoding=utf-8|cp932`: per
/// learner of the class, the period's statements, learning time and correct rate per subject
/// (`crate::class_summary`), for a school-affairs system. The same access as
/// `/api/v1/aggregates?class=…`.
pub async fn class_summary(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> HttpResponse {
    let answered = async {
        auth.require(Access::ReadAggregates)?;
        let service = service(&state)?;
        let class = path.into_inner();
        let mut encoding = SummaryEncoding::Utf8;
        let mut params: Vec<(String, String)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in query_pairs(&req)? {
            if seen.contains(&name) {
                return Err(ApiError::bad_request(
                    SUMMARY_RULE,
                    &format!("?{name}"),
                    format!("{name} given more than once"),
                ));
            }
            seen.push(name.clone());
            match name.as_str() {
                "since" | "until" => params.push((name, value)),
                "encoding" => {
                    encoding = SummaryEncoding::parse(&value).ok_or_else(|| {
                        ApiError::bad_request(
                            SUMMARY_RULE,
                            "?encoding",
                            format!("unknown encoding {value:?}"),
                        )
                    })?;
                }
                _ => {
                    return Err(ApiError::bad_request(
                        SUMMARY_RULE,
                        &format!("?{name}"),
                        format!("unexpected parameter {name:?}"),
                    ));
                }
            }
        }
        params.push(("group_by".into(), "learner,subject".into()));
        params.push((
            "metrics".into(),
            class_summary::METRICS
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ));
        params.push(("class".into(), class.clone()));
        let now = now_micros();
        let calendar = service.calendar();
        let request = AggregateRequest::from_params(&params, calendar, now)?;
        let (first, end) = request.days(calendar);
        let day = calendar.day_of(request.until - 1).min(calendar.day_of(now));
        let reader = reader(&service, &auth, day).await?;
        let members = service
            .class_members(auth.tenant(), &reader, &class, DayRange::new(first, end))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("the roster has no class {class:?}")))?;
        let answer = service
            .aggregate(auth.tenant(), &reader, Some(auth.writer()), &params)
            .await?;
        let text = class_summary::summary_csv(&members.learners, &answer);
        let (body, replaced) = match encoding {
            SummaryEncoding::Utf8 => (text.into_bytes(), 0),
            SummaryEncoding::Cp932 => class_summary::encode_cp932(&text),
        };
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type(format!("text/csv; charset={}", encoding.charset()))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"class-summary-{}.csv\"",
                        safe_file_name(&class)
                    ),
                ))
                .insert_header((REPLACED_CHARACTERS, replaced.to_string()))
                .insert_header((
                    CONSISTENT_THROUGH_LOWER,
                    format_timestamp(answer.consistent_through),
                ))
                .body(body),
        )
    }
    .await;
    answered.unwrap_or_else(|err| error_with_consistent_through(&state, &err))
}

/// A sourcedId as a file name: ASCII letters, digits, `-` and `_` kept, anything else `_`.
fn safe_file_name(id: &str) -> String {
    id.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn service(state: &AppState) -> Result<Arc<AggregateService>, ApiError> {
    state
        .aggregates
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance serves no study-log aggregates"))
}

/// The principal as an aggregates reader on `day`: bound to its roster user, the whole tenant,
/// or the prefecture.
async fn reader(
    service: &AggregateService,
    auth: &Authenticated,
    day: Day,
) -> Result<Reader, ApiError> {
    let principal = &auth.0;
    Ok(service
        .reader(
            &principal.tenant,
            principal.user.as_deref(),
            principal.prefecture,
            day,
        )
        .await?)
}

/// Whether `Accept` asks for CSV: its first media range (q > 0) that is `text/csv` or JSON
/// decides; JSON when it names neither.
fn wants_csv(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        if media.eq_ignore_ascii_case("text/csv") {
            return true;
        }
        if media.eq_ignore_ascii_case("application/json") {
            return false;
        }
    }
    false
}

fn error_with_consistent_through(state: &AppState, err: &ApiError) -> HttpResponse {
    let mut response = err.error_response();
    let through = format_timestamp(state.visibility().consistent_through());
    if let Ok(value) = HeaderValue::from_str(&through) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(CONSISTENT_THROUGH_LOWER), value);
    }
    response
}

/// The inactive list's parameters, typed.
struct InactiveParams {
    class: String,
    school_days: u32,
    date: Day,
}

impl InactiveParams {
    fn parse(params: &[(String, String)], today: Day) -> Result<InactiveParams, ApiError> {
        let bad = |name: &str, message: String| {
            ApiError::bad_request(INACTIVE_RULE, &format!("?{name}"), message)
        };
        let (mut class, mut days, mut date) = (None, None, None);
        for (name, value) in params {
            let slot = match name.as_str() {
                "class" => &mut class,
                "days" => &mut days,
                "date" => &mut date,
                other => return Err(bad(other, format!("unknown parameter {other:?}"))),
            };
            if slot.replace(value.as_str()).is_some() {
                return Err(bad(name, format!("{name} is given more than once")));
            }
        }
        let class = class.filter(|c| !c.is_empty()).ok_or_else(|| {
            bad(
                "class",
                "class (a classes.csv sourcedId) is required".into(),
            )
        })?;
        let days = days.ok_or_else(|| bad("days", "days is required".into()))?;
        let school_days = days
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_INACTIVE_SCHOOL_DAYS).contains(n))
            .ok_or_else(|| {
                bad(
                    "days",
                    format!("days {days:?} is not a number from 1 to {MAX_INACTIVE_SCHOOL_DAYS}"),
                )
            })?;
        let date = match date {
            None => today,
            Some(text) => Day::parse(text)
                .ok_or_else(|| bad("date", format!("date {text:?} is not YYYY-MM-DD")))?,
        };
        Ok(InactiveParams {
            class: class.to_owned(),
            school_days,
            date,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn csv_is_answered_when_accept_names_it_before_json() {
        let with = |accept: &str| {
            wants_csv(
                &TestRequest::default()
                    .insert_header((header::ACCEPT, accept))
                    .to_http_request(),
            )
        };
        assert!(with("text/csv"));
        assert!(with("Text/CSV; charset=utf-8"));
        assert!(with("text/html, text/csv;q=0.5, application/json;q=0.1"));
        assert!(!with("application/json, text/csv"));
        assert!(!with("text/csv;q=0, application/json"));
        assert!(!with("*/*"));
        assert!(!wants_csv(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn the_inactive_list_needs_a_class_and_a_number_of_school_days() {
        let today = Day::parse("2025-10-14").unwrap();
        let ok = InactiveParams::parse(&pairs(&[("class", "c1"), ("days", "5")]), today).unwrap();
        assert_eq!(
            (ok.class.as_str(), ok.school_days, ok.date),
            ("c1", 5, today)
        );
        let dated = InactiveParams::parse(
            &pairs(&[("days", "200"), ("class", "c1"), ("date", "2025-09-01")]),
            today,
        )
        .unwrap();
        assert_eq!(dated.date, Day::parse("2025-09-01").unwrap());
        for bad in [
            vec![("days", "5")],
            vec![("class", "c1")],
            vec![("class", ""), ("days", "5")],
            vec![("class", "c1"), ("days", "0")],
            vec![("class", "c1"), ("days", "201")],
            vec![("class", "c1"), ("days", "x")],
            vec![("class", "c1"), ("days", "5"), ("date", "2025-13-01")],
            vec![("class", "c1"), ("days", "5"), ("class", "c2")],
            vec![("class", "c1"), ("days", "5"), ("limit", "3")],
        ] {
            assert!(
                InactiveParams::parse(&pairs(&bad), today).is_err(),
                "{bad:?}"
            );
        }
    }
}
