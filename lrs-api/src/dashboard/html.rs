//! Server-rendered HTML: one escaping helper every value passes through, the page layout, the
//! bundled stylesheet, and numbers and dates the Japanese way (桁区切り, 2025年10月14日（火）,
//! 1時間5分, times in the deployment's zone — JST by default).

use std::fmt::Write;

use lrs_roster::{Calendar, Day};

/// The stylesheet, bundled into the binary (`/dashboard/assets/dashboard.css`).
pub const STYLESHEET: &str = include_str!("dashboard.css");
pub const STYLESHEET_PATH: &str = "/dashboard/assets/dashboard.css";

/// The tab icon (`/dashboard/assets/favicon.svg`): without one, browsers ask for `/favicon.ico`
/// and log the 404 as a console error.
pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#0b5cad\"/>\
<rect x=\"3\" y=\"8\" width=\"2\" height=\"5\" fill=\"#fff\"/>\
<rect x=\"7\" y=\"5\" width=\"2\" height=\"8\" fill=\"#fff\"/>\
<rect x=\"11\" y=\"3\" width=\"2\" height=\"10\" fill=\"#fff\"/></svg>";

/// The Content-Security-Policy of every dashboard page: its own stylesheets and scripts (no
/// inline script or style), forms posting to itself, no framing by other sites.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'";

/// `text` with `& < > " '` escaped: safe in element content and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment or query value, percent-encoded (RFC 3986 unreserved characters kept).
pub fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The logout form of a signed-in page (its CSRF token, the session's).
pub struct SignedIn<'a> {
    /// Who is signed in, as shown (a roster sourcedId or a credential's tenant).
    pub who: String,
    pub csrf: &'a str,
}

/// A whole page: `lang="ja"`, the stylesheet, a header (with a logout form when signed in),
/// then `body` (already HTML).
pub fn page(title: &str, signed_in: Option<&SignedIn<'_>>, body: &str) -> String {
    page_with(title, signed_in, body, false)
}

/// A page, with the chart scripts when `charts` (the body holds `charts::Chart`s).
pub fn page_with(
    title: &str,
    signed_in: Option<&SignedIn<'_>>,
    body: &str,
    charts: bool,
) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{} — 学習ダッシュボード</title>", escape(title));
    let _ = writeln!(out, "<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">");
    out.push_str(
        "<link rel=\"icon\" href=\"/dashboard/assets/favicon.svg\" type=\"image/svg+xml\">\n",
    );
    if charts {
        out.push_str(&crate::dashboard::charts::head_elements());
    }
    out.push_str("</head>\n<body>\n<header class=\"bar\">\n");
    out.push_str("<a class=\"home\" href=\"/dashboard\">学習ダッシュボード</a>\n");
    if let Some(user) = signed_in {
        let _ = writeln!(
            out,
            "<form method=\"post\" action=\"/dashboard/logout\" class=\"logout\">\
             <span class=\"who\">{}</span>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">ログアウト</button></form>",
            escape(&user.who),
            escape(user.csrf)
        );
    }
    out.push_str("</header>\n<main>\n");
    out.push_str(body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// An error page: a heading and a message (both plain text, escaped here).
pub fn error_page(heading: &str, message: &str) -> String {
    page(
        heading,
        None,
        &format!(
            "<section class=\"error\"><h1>{}</h1><p>{}</p>\
             <p><a href=\"/dashboard/login\">ログイン画面へ</a></p></section>\n",
            escape(heading),
            escape(message)
        ),
    )
}

/// The staff login form: `key`, `secret`, the CSRF field, and where to go after.
pub fn login_page(csrf_field: &str, next: &str) -> String {
    page(
        "ログイン",
        None,
        &format!(
            "<section class=\"login\"><h1>教育委員会・都道府県の方のログイン</h1>\
             <p class=\"note\">発行されたキーとシークレットを入力してください。\
             先生と児童生徒は学習eポータルから開いてください。</p>\
             <form method=\"post\" action=\"/dashboard/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"next\" value=\"{}\">\
             <label>キー<input type=\"text\" name=\"key\" autocomplete=\"username\" required></label>\
             <label>シークレット<input type=\"password\" name=\"secret\" autocomplete=\"current-password\" required></label>\
             <button type=\"submit\">ログイン</button></form></section>\n",
            escape(csrf_field),
            escape(next)
        ),
    )
}

/// Key figures as cards: `(label, value text, element id)`; values are plain text.
pub fn cards(items: &[(&str, String, &str)]) -> String {
    let mut out = String::from("<ul class=\"cards\">");
    for (label, value, id) in items {
        let _ = write!(
            out,
            "<li id=\"{}\"><span class=\"card-label\">{}</span><span class=\"card-value{}\">{}</span></li>",
            escape(id),
            escape(label),
            // A date or the suppression mark: smaller, so it fits the card.
            if value.chars().count() > 8 {
                " long"
            } else {
                ""
            },
            escape(value)
        );
    }
    out.push_str("</ul>");
    out
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate (0–1) as a percentage with one decimal: `85.0%`.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A duration in seconds: `1時間5分`, `12分`, `40秒`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (hours, minutes) = (total / 3600, total / 60 % 60);
    if hours > 0 {
        format!("{}時間{minutes}分", count(hours))
    } else if minutes > 0 {
        format!("{minutes}分")
    } else {
        format!("{total}秒")
    }
}

const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// A day: `2025年10月14日（火）`.
pub fn day(day: Day) -> String {
    let text = day.to_string();
    let mut parts = text.splitn(3, '-');
    let (year, month, date) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("").trim_start_matches('0'),
        parts.next().unwrap_or("").trim_start_matches('0'),
    );
    let weekday = (day.days_since_epoch() + 3).rem_euclid(7) as usize;
    format!("{year}年{month}月{date}日（{}）", WEEKDAYS[weekday])
}

/// An instant (µs) in the calendar's zone: `2025年10月14日（火） 10:12`.
pub fn instant(calendar: &Calendar, micros: i64) -> String {
    let local_day = calendar.day_of(micros);
    let since_midnight = (micros - calendar.start_of(local_day)).max(0) / 60_000_000;
    format!(
        "{} {:02}:{:02}",
        day(local_day),
        since_midnight / 60,
        since_midnight % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_component("4年1組/x?y"), "4%E5%B9%B41%E7%B5%84%2Fx%3Fy");
    }

    #[test]
    fn numbers_and_dates_are_written_the_japanese_way() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(0.8567), "85.7%");
        assert_eq!(duration(3_900.0), "1時間5分");
        assert_eq!(duration(720.0), "12分");
        assert_eq!(duration(40.2), "40秒");
        assert_eq!(
            day(Day::parse("2025-10-14").unwrap()),
            "2025年10月14日（火）"
        );
        let calendar = Calendar::default();
        // 2025-10-14T01:12:00Z is 10:12 in Tokyo.
        assert_eq!(
            instant(&calendar, 1_760_404_320_000_000),
            "2025年10月14日（火） 10:12"
        );
    }
}
