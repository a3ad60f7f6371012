//! The dashboard in a real headless Chromium (issue 13, "Tests"), against the real binary: a
//! full LTI 1.3 launch in the browser (this test is the platform: its authorization endpoint
//! answers the auto-submitting `form_post` of a signed id_token), the class view's numbers in the
//! DOM checked against counts computed here from the statements posted, a teacher refused another
//! class, the learner's own view, the school, board and prefecture views — each at 1280 and
//! 390 px, screenshots saved under `target/tmp/screenshots/`, and no console errors on any page.
//!
//! Without `chromedriver` the tests say they were skipped (under `CI=true` they fail instead).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};

use common::TestLrs;
use common::browser::Browser;
use common::lti::{
    ADMINISTRATOR, CLIENT_ID, DEPLOYMENT, INSTRUCTOR, ISSUER, LEARNER, PLATFORM_KEY, claims,
    platform_toml, sign, tokyo_today,
};
use common::roster::{bulk_roster_with, credential, default_users, enrollments};
use common::studylog::{CODE_EXT, EPORTAL, SUBJECT_EXT, civil_from_days, date_text, utc_text};
use serde_json::{Value, json};

const WIDTHS: [u32; 2] = [1280, 390];
const TOOLS: [&str; 3] = ["算数ドリル", "デジタル教科書", "MEXCBT"];
const SUBJECTS: [&str; 2] = ["算数", "国語"];
const CODES: [&str; 3] = ["8260213110000000", "8260223120000000", "8230211100000000"];

/// One statement as posted, with what the views group it by.
#[derive(Clone, Debug)]
struct Posted {
    learner: String,
    /// The Tokyo day, as days since the epoch.
    day: i64,
    /// The Tokyo hour.
    hour: i64,
    tool: &'static str,
    subject: &'static str,
    code: &'static str,
    success: Option<bool>,
}

impl Posted {
    fn json(&self) -> Value {
        let at = self.day * 86_400 + self.hour * 3600 - 9 * 3600;
        let mut statement = json!({
            "actor": {"objectType": "Agent", "account": {"homePage": EPORTAL, "name": self.learner}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"ja-JP": "解答した"}},
            "object": {"objectType": "Activity", "id": format!("https://drill.example.jp/q/{}", self.code),
                       "definition": {"name": {"ja-JP": "問題"},
                                      "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                      "extensions": {CODE_EXT: self.code}}},
            "context": {"platform": self.tool, "extensions": {SUBJECT_EXT: self.subject}},
            "timestamp": utc_text(at),
        });
        let mut result = json!({"duration": "PT1M"});
        if let Some(success) = self.success {
            result["success"] = json!(success);
        }
        statement["result"] = result;
        statement
    }
}

/// 48 statements over the last 20 days (the default period is the last 30): l1 and l3 in class
/// k1 (school s1), l2 in k2 (s2); l4 (k1) never studies. Tools, subjects, codes, hours and
/// answers vary with the index.
fn posted() -> Vec<Posted> {
    let today = tokyo_today();
    (0..48)
        .map(|i: usize| Posted {
            learner: ["l1", "l1", "l3", "l2"][i % 4].to_owned(),
            day: today - 1 - (i as i64 * 7) % 20,
            hour: 8 + (i as i64 * 5) % 10,
            tool: TOOLS[i % 3],
            subject: SUBJECTS[i % 2],
            code: CODES[(i / 2) % 3],
            success: match (i / 4) % 3 {
                0 => Some(true),
                1 => Some(false),
                _ => None,
            },
        })
        .collect()
}

/// The test roster (enrollments around today): l1, l3, l4 and teacher t1 in k1 (s1), l2 and t2
/// in k2 (s2), p1 the principal of s1.
fn roster() -> common::roster::Files {
    let day = |offset: i64| date_text(civil_from_days(tokyo_today() + offset));
    let (begin, end) = (day(-200), day(200));
    let rows: Vec<String> = [
        ("e1", "k1", "s1", "l1", "student"),
        ("e2", "k2", "s2", "l2", "student"),
        ("e3", "k1", "s1", "l3", "student"),
        ("e4", "k1", "s1", "t1", "teacher"),
        ("e5", "k2", "s2", "t2", "teacher"),
        ("e6", "k1", "s1", "l4", "student"),
    ]
    .iter()
    .map(|(id, class, school, user, role)| {
        format!("{id},active,{{M}},{class},{school},{user},{role},false,{begin},{end}")
    })
    .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let mut users = default_users();
    users.push_str("l4,active,2025-03-20T09:00:00.000Z,true,l4,四郎,青葉,,P4,,s1,シロウ\n");
    users.push_str("p1,active,2025-03-20T09:00:00.000Z,true,p1,校長,青葉,,,,s1,\n");
    let mut files = bulk_roster_with(users, enrollments(&rows));
    for (name, text) in &mut files {
        if *name == "roles.csv" {
            text.push_str(&format!(
                "r6,active,{},p1,primary,principal,,,s1\n",
                common::roster::MODIFIED
            ));
        }
    }
    files
}

/// The LRS with the test platform registered (its authorization endpoint served here, on
/// `localhost`, so the launch is a cross-site form POST to `127.0.0.1` as in production), the
/// roster, and the statements of [`posted`].
struct Scenario {
    lrs: TestLrs,
    _config: tempfile::TempDir,
    posted: Vec<Posted>,
}

impl Scenario {
    async fn start() -> Scenario {
        let auth_url = serve_platform();
        let config = tempfile::tempdir().unwrap();
        let path = config.path().join("lrs.toml");
        std::fs::write(&path, platform_toml(&auth_url)).unwrap();
        let lrs = TestLrs::start_with(&["--config", path.to_str().unwrap()]);
        let (status, body) = lrs.import_roster(&roster()).await;
        assert_eq!(status, 200, "{body}");
        let posted = posted();
        let batch: Vec<Value> = posted.iter().map(Posted::json).collect();
        let response = lrs.post_statements(&Value::Array(batch)).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        lrs.wait_applied().await;
        Scenario {
            lrs,
            _config: config,
            posted,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.lrs.root())
    }

    fn of<'a>(&'a self, learners: &'a [&str]) -> impl Iterator<Item = &'a Posted> + 'a {
        self.posted
            .iter()
            .filter(move |p| learners.contains(&p.learner.as_str()))
    }

    /// The platform's launch link: the browser goes through `/lti/login`, the platform's
    /// authorization endpoint (which signs the id_token for `user` in `class` with `role`), and
    /// the auto-submitted launch; it ends on the landing page.
    async fn launch(&self, browser: &Browser, user: &str, class: &str, role: &str) {
        let login = reqwest::Url::parse_with_params(
            &self.url("/lti/login"),
            &[
                ("iss", ISSUER),
                ("login_hint", user),
                ("target_link_uri", &self.url("/dashboard")),
                ("lti_message_hint", &format!("{class} {role}")),
                ("client_id", CLIENT_ID),
                ("lti_deployment_id", DEPLOYMENT),
            ],
        )
        .unwrap();
        browser.open(login.as_str()).await;
        browser
            .wait_until(
                "location.port !== '' && location.hostname === '127.0.0.1' \
                 && location.pathname.startsWith('/dashboard') && document.readyState === 'complete'",
            )
            .await;
    }

    /// Board or prefecture staff log in with the form.
    async fn staff_login(&self, browser: &Browser, key: &str, secret: &str) {
        browser.open(&self.url("/dashboard/login")).await;
        browser
            .client
            .execute(
                "document.querySelector('input[name=key]').value = arguments[0];\
                 document.querySelector('input[name=secret]').value = arguments[1];\
                 document.querySelector('.login form').submit();",
                vec![json!(key), json!(secret)],
            )
            .await
            .unwrap();
        browser
            .wait_until("location.pathname === '/dashboard' && document.readyState === 'complete'")
            .await;
    }
}

/// Serves the platform's OIDC authorization endpoint at `http://localhost:PORT/auth` from a
/// thread, for as long as the test process lives: it answers the authentication request with
/// the page a platform sends, a form that posts the signed id_token and the state to the
/// `redirect_uri` at once. `lti_message_hint` carries "class role" (`instructor`, `learner`,
/// `administrator`).
fn serve_platform() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request);
            let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let url = reqwest::Url::parse(&format!("http://localhost{target}")).unwrap();
            let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            let body = if url.path() == "/auth" {
                let hint = query.get("lti_message_hint").cloned().unwrap_or_default();
                let (class, role) = hint.split_once(' ').unwrap_or(("", ""));
                let role = match role {
                    "instructor" => INSTRUCTOR,
                    "learner" => LEARNER,
                    _ => ADMINISTRATOR,
                };
                let token = sign(
                    PLATFORM_KEY,
                    None,
                    &claims(&query["login_hint"], class, &[role], &query["nonce"]),
                );
                format!(
                    "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>学習eポータル</title>\
                     <link rel=\"icon\" href=\"data:,\"></head><body><p>ツールを起動しています…</p>\
                     <form id=\"launch\" method=\"post\" action=\"{}\">\
                     <input type=\"hidden\" name=\"id_token\" value=\"{token}\">\
                     <input type=\"hidden\" name=\"state\" value=\"{}\"></form>\
                     <script>document.getElementById('launch').submit();</script></body></html>",
                    query["redirect_uri"], query["state"]
                )
            } else {
                String::new()
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://localhost:{port}/auth")
}

/// Runs `script` (a function body returning a value) in the page.
async fn page_value(browser: &Browser, script: &str) -> Value {
    browser.client.execute(script, vec![]).await.unwrap()
}

/// The HTTP status of the page shown (Navigation Timing).
async fn status(browser: &Browser) -> u64 {
    page_value(
        browser,
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
    )
    .await
    .as_u64()
    .unwrap_or(0)
}

/// How many charts the page has, once dashboard.js has drawn each (`data-charts`); in a build
/// without the chart library (no npm) the charts are tables only, and nothing is waited for.
async fn charts_drawn(browser: &Browser) -> u64 {
    let with_library = page_value(
        browser,
        "return document.querySelectorAll('script.chart-data').length > 0;",
    )
    .await;
    if with_library == Value::Bool(true) {
        browser
            .wait_until("document.documentElement.hasAttribute('data-charts')")
            .await;
    }
    let drawn = page_value(
        browser,
        "return [document.querySelectorAll('figure.chart-box').length,\
                 document.querySelectorAll('figure.chart-box canvas').length,\
                 document.querySelectorAll('script.chart-data').length];",
    )
    .await;
    assert_eq!(drawn[1], drawn[2], "a canvas per chart with data: {drawn}");
    drawn[0].as_u64().unwrap()
}

/// No console errors so far (every page is checked).
async fn assert_clean(browser: &Browser, page: &str) {
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors on {page}: {errors:?}");
}

/// Saves a screenshot at each width (the window resized), the page reloaded each time.
async fn screenshots(browser: &Browser, name: &str) {
    for width in WIDTHS {
        browser
            .client
            .set_window_size(width, 900)
            .await
            .expect("window size");
        browser.client.refresh().await.unwrap();
        browser
            .wait_until("document.readyState === 'complete'")
            .await;
        // A reload keeps the scroll position: start at the top.
        browser
            .client
            .execute("window.scrollTo(0, 0);", vec![])
            .await
            .unwrap();
        let at = format!("{name}-{width}");
        browser.screenshot(&at).await;
        // The rest of the page, a window at a time (at most four more).
        let height = page_value(browser, "return document.documentElement.scrollHeight;")
            .await
            .as_u64()
            .unwrap_or(0);
        for part in 1..=4u64.min(height.saturating_sub(1) / 800) {
            browser
                .client
                .execute(&format!("window.scrollTo(0, {});", part * 800), vec![])
                .await
                .unwrap();
            browser.screenshot(&format!("{at}-{part}")).await;
        }
        let overflow = page_value(
            browser,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "{at}: the page scrolls sideways by {overflow}px (only tables may)"
        );
        assert_clean(browser, &at).await;
    }
}

/// `(key → text)` of the cells `cell` of the rows `row` (the row's `attribute` as key).
async fn cells(
    browser: &Browser,
    row: &str,
    attribute: &str,
    cell: &str,
) -> BTreeMap<String, String> {
    let value = page_value(
        browser,
        &format!(
            "return Array.from(document.querySelectorAll({row:?})).map(r => \
             [r.getAttribute({attribute:?}), (r.querySelector({cell:?}) || {{}}).textContent || null]);"
        ),
    )
    .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or_default().to_owned(),
                pair[1].as_str().unwrap_or("(none)").to_owned(),
            )
        })
        .collect()
}

/// A count as the pages write it: `1,234`.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(correct: usize, answered: usize) -> String {
    format!("{:.1}%", correct as f64 * 100.0 / answered as f64)
}

/// Statements per Tokyo day (ISO date) of `statements`, over the default period (30 days to
/// today), zero days included.
fn per_day<'a>(statements: impl Iterator<Item = &'a Posted>) -> BTreeMap<String, String> {
    let today = tokyo_today();
    let mut days: BTreeMap<i64, usize> = (today - 29..=today).map(|d| (d, 0)).collect();
    for p in statements {
        *days.get_mut(&p.day).expect("in the period") += 1;
    }
    days.into_iter()
        .map(|(d, n)| (date_text(civil_from_days(d)), count(n)))
        .collect()
}

fn per_tool<'a>(statements: impl Iterator<Item = &'a Posted>) -> BTreeMap<String, String> {
    let mut tools: BTreeMap<String, usize> = BTreeMap::new();
    for p in statements {
        *tools.entry(p.tool.to_owned()).or_default() += 1;
    }
    tools.into_iter().map(|(t, n)| (t, count(n))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teachers_launch_in_the_browser_shows_the_class_as_the_posted_statements_add_up() {
    let Some(browser) = Browser::start(1280).await else {
        return;
    };
    let scenario = Scenario::start().await;
    scenario.launch(&browser, "t1", "k1", "instructor").await;
    assert_eq!(
        browser.url().await,
        scenario.url("/dashboard/class/k1"),
        "an Instructor lands on the class they launched from"
    );
    assert_eq!(status(&browser).await, 200);
    assert_eq!(charts_drawn(&browser).await, 1, "activity per day");
    assert_clean(&browser, "class view").await;

    // One row per learner of k1, l4 (who never studied) included and flagged.
    let class = ["l1", "l3", "l4"];
    let expected: BTreeMap<String, String> = class
        .iter()
        .map(|l| (l.to_string(), count(scenario.of(&[l]).count())))
        .collect();
    assert_eq!(
        cells(
            &browser,
            "#learners tr[data-learner]",
            "data-learner",
            "td[data-statements]"
        )
        .await,
        expected
    );
    assert_eq!(
        browser.texts("#learners tr.inactive th").await,
        ["l4 ★未学習"],
        "l4 is flagged, the others studied this week"
    );
    let learners_posted: Vec<&Posted> = scenario.of(&class).collect();
    assert_eq!(
        browser.text("#summary-statements .card-value").await,
        count(learners_posted.len())
    );
    let answered = learners_posted
        .iter()
        .filter(|p| p.success.is_some())
        .count();
    let correct = learners_posted
        .iter()
        .filter(|p| p.success == Some(true))
        .count();
    assert_eq!(
        browser.text("#summary-rate .card-value").await,
        percent(correct, answered)
    );

    // The heat map: correct rate per learner × the code's first six characters.
    let mut heat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for p in &learners_posted {
        if let Some(success) = p.success {
            let cell = heat
                .entry(format!("{} {}", p.learner, &p.code[..6]))
                .or_default();
            cell.0 += 1;
            cell.1 += usize::from(success);
        }
    }
    let shown = page_value(
        &browser,
        "return Array.from(document.querySelectorAll('#heat-map td.heat[data-code]')).map(td =>\
         [td.parentElement.getAttribute('data-learner') + ' ' + td.getAttribute('data-code'), td.textContent]);",
    )
    .await;
    let shown: BTreeMap<String, String> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = heat
        .iter()
        .map(|(k, (a, c))| (k.clone(), percent(*c, *a)))
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(
        browser.texts("#heat-map thead th.code").await,
        ["823021", "826021", "826022"]
    );

    // Activity per day and usage per tool.
    assert_eq!(
        cells(&browser, "#by-day tr[data-key]", "data-key", "td").await,
        per_day(learners_posted.iter().copied())
    );
    assert_eq!(
        cells(
            &browser,
            "#by-tool tr[data-tool]",
            "data-tool",
            "td[data-statements]"
        )
        .await,
        per_tool(learners_posted.iter().copied())
    );
    screenshots(&browser, "class-view").await;

    // 年度 starts on April 1: the preset link says so.
    let (year, month, _) = civil_from_days(tokyo_today());
    let school_year = if month >= 4 { year } else { year - 1 };
    let presets = page_value(
        &browser,
        "return Array.from(document.querySelectorAll('.presets a')).map(a => [a.textContent, a.getAttribute('href')]);",
    )
    .await;
    assert_eq!(presets[2][0], "今年度");
    assert!(
        presets[2][1].as_str().unwrap().starts_with(&format!(
            "/dashboard/class/k1?since={school_year}-04-01&until="
        )),
        "{presets}"
    );

    // A filter in the URL narrows every number; the period and the filter stay in the links.
    browser
        .open(&scenario.url("/dashboard/class/k1?tool=MEXCBT"))
        .await;
    charts_drawn(&browser).await;
    let mexcbt: Vec<&Posted> = learners_posted
        .iter()
        .copied()
        .filter(|p| p.tool == "MEXCBT")
        .collect();
    assert_eq!(
        browser.text("#summary-statements .card-value").await,
        count(mexcbt.len())
    );
    assert_eq!(
        cells(&browser, "#by-day tr[data-key]", "data-key", "td").await,
        per_day(mexcbt.iter().copied())
    );
    assert_clean(&browser, "class view, one tool").await;

    // Another class's URL is refused with a Japanese page.
    browser.open(&scenario.url("/dashboard/class/k2")).await;
    assert_eq!(status(&browser).await, 403);
    assert_eq!(browser.text("h1").await, "表示する権限がありません");
    browser.screenshot("class-view-refused-1280").await;
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|e| e.contains("403")),
        "only the refusal itself is logged: {errors:?}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_launch_shows_their_own_study_log_and_the_download_link() {
    let Some(browser) = Browser::start(1280).await else {
        return;
    };
    let scenario = Scenario::start().await;
    scenario.launch(&browser, "l1", "k1", "learner").await;
    assert_eq!(browser.url().await, scenario.url("/dashboard/me"));
    assert_eq!(status(&browser).await, 200);
    assert_eq!(charts_drawn(&browser).await, 1);
    let mine: Vec<&Posted> = scenario.of(&["l1"]).collect();
    assert_eq!(
        browser.text("#summary-statements .card-value").await,
        count(mine.len())
    );
    assert_eq!(
        cells(&browser, "#by-day tr[data-key]", "data-key", "td").await,
        per_day(mine.iter().copied())
    );
    let mut subjects: BTreeMap<String, usize> = BTreeMap::new();
    for p in &mine {
        *subjects.entry(p.subject.to_owned()).or_default() += 1;
    }
    assert_eq!(
        cells(
            &browser,
            "#by-subject tr[data-key]",
            "data-key",
            "td[data-statements]"
        )
        .await,
        subjects.into_iter().map(|(s, n)| (s, count(n))).collect()
    );
    let studied_days: std::collections::BTreeSet<i64> = mine.iter().map(|p| p.day).collect();
    assert_eq!(
        browser.texts("#timeline li").await.len(),
        studied_days.len().min(14),
        "the timeline lists the days studied"
    );
    let link = page_value(
        &browser,
        "return document.getElementById('download').getAttribute('href');",
    )
    .await;
    assert!(
        link.as_str()
            .unwrap()
            .starts_with("/dashboard/me/export?since="),
        "{link}"
    );
    assert_eq!(browser.text("#download").await, "学習記録をダウンロード");
    // The download with the browser's own session (the page's CSP allows it no fetch: the
    // session cookie is read over WebDriver): a zip of the learner's own statements, as many as
    // they posted, each naming them.
    let session = browser
        .client
        .get_named_cookie("lrs_session")
        .await
        .expect("the launch's session cookie");
    let download = reqwest::Client::new()
        .get(scenario.url(link.as_str().unwrap()))
        .header("Cookie", format!("lrs_session={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/zip");
    let zip = download.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    let mut exported: Vec<Value> = Vec::new();
    let mut manifest = Value::Null;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().expect("a UTF-8 name").to_string();
        let mut text = String::new();
        if name == "manifest.json" || name.starts_with("statements/") {
            file.read_to_string(&mut text).unwrap();
        }
        if name == "manifest.json" {
            manifest = serde_json::from_str(&text).unwrap();
        } else if name.starts_with("statements/") {
            let page: Vec<Value> = serde_json::from_str(&text).unwrap();
            exported.extend(page);
        }
    }
    assert_eq!(manifest["user_sourced_id"], "l1", "{manifest}");
    assert_eq!(exported.len(), mine.len());
    assert_eq!(manifest["counts"]["statements"], mine.len());
    assert!(
        exported
            .iter()
            .all(|s| s["actor"]["account"]["name"] == "l1"),
        "only the learner's own statements"
    );
    let mut codes: Vec<&str> = exported
        .iter()
        .map(|s| {
            s["object"]["definition"]["extensions"][CODE_EXT]
                .as_str()
                .unwrap()
        })
        .collect();
    let mut posted_codes: Vec<&str> = mine.iter().map(|p| p.code).collect();
    codes.sort_unstable();
    posted_codes.sort_unstable();
    assert_eq!(codes, posted_codes);
    assert_clean(&browser, "learner view").await;
    screenshots(&browser, "learner-view").await;

    // A learner cannot open their class's view.
    browser.open(&scenario.url("/dashboard/class/k1")).await;
    assert_eq!(status(&browser).await, 403);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_school_board_and_prefecture_views_add_up_and_hide_small_cells() {
    let Some(browser) = Browser::start(1280).await else {
        return;
    };
    let scenario = Scenario::start().await;

    // The principal of s1: per class, and activity by hour of day.
    scenario.launch(&browser, "p1", "k1", "administrator").await;
    assert_clean(&browser, "landing view").await;
    browser.open(&scenario.url("/dashboard/school/s1")).await;
    assert_eq!(status(&browser).await, 200);
    assert_eq!(charts_drawn(&browser).await, 2, "per day and per hour");
    let s1: Vec<&Posted> = scenario.of(&["l1", "l3", "l4"]).collect();
    assert_eq!(
        cells(
            &browser,
            "#groups tr[data-key]",
            "data-key",
            "td[data-statements]"
        )
        .await,
        BTreeMap::from([("k1".to_owned(), count(s1.len()))])
    );
    let mut hours: BTreeMap<String, usize> = (0..24).map(|h| (h.to_string(), 0)).collect();
    for p in &s1 {
        *hours.get_mut(&p.hour.to_string()).unwrap() += 1;
    }
    assert_eq!(
        cells(&browser, "#by-hour tr[data-key]", "data-key", "td").await,
        hours.into_iter().map(|(h, n)| (h, count(n))).collect()
    );
    let link = page_value(
        &browser,
        "return document.querySelector('#groups tr[data-key=k1] td a').getAttribute('href');",
    )
    .await;
    assert!(
        link.as_str()
            .unwrap()
            .starts_with("/dashboard/class/k1?since="),
        "the number links to the class: {link}"
    );
    screenshots(&browser, "school-view").await;
    browser.open(&scenario.url("/dashboard/school/s2")).await;
    assert_eq!(status(&browser).await, 403, "not their school");
    let _ = browser.console_errors().await;

    // Board staff: per school.
    scenario
        .staff_login(&browser, &scenario.lrs.key, &scenario.lrs.secret)
        .await;
    browser
        .open(&scenario.url("/dashboard/board/board-a"))
        .await;
    assert_eq!(status(&browser).await, 200);
    charts_drawn(&browser).await;
    assert_eq!(
        cells(
            &browser,
            "#groups tr[data-key]",
            "data-key",
            "td[data-statements]"
        )
        .await,
        BTreeMap::from([
            ("s1".to_owned(), count(s1.len())),
            ("s2".to_owned(), count(scenario.of(&["l2"]).count())),
        ])
    );
    screenshots(&browser, "board-view").await;

    // A prefecture credential: per board, and three learners are too few to show.
    let (key, secret) = credential(
        &scenario.lrs.data_dir(),
        &["--all-tenants", "--scopes", "aggregates"],
    );
    scenario.staff_login(&browser, &key, &secret).await;
    browser.open(&scenario.url("/dashboard/prefecture")).await;
    assert_eq!(status(&browser).await, 200);
    charts_drawn(&browser).await;
    let row = browser.text("#groups tr[data-key=board-a]").await;
    assert!(row.contains("非表示（少人数）"), "{row}");
    assert!(
        !row.chars().any(|c| c.is_ascii_digit()),
        "no number of a small cell: {row}"
    );
    assert!(
        browser.text("#summary-statements .card-value").await == "非表示（少人数）",
        "nor of the total"
    );
    screenshots(&browser, "prefecture-view").await;
    browser.close().await;
}

/// The class view of 35 learners × 30 days (5 statements a learner a day), opened in Chromium:
/// the Navigation Timing of the page (until interactive, until loaded, until the chart is
/// drawn) and its weight (HTML, CSS, JS; as sent and decoded). Run with
/// `cargo test -p lrs --test dashboard_browser -- --ignored --nocapture`; the numbers are in
/// docs/dashboard.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by hand"]
async fn benchmark_the_class_view_of_35_learners_over_30_days() {
    let Some(browser) = Browser::start(1280).await else {
        return;
    };
    let auth_url = serve_platform();
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("lrs.toml");
    std::fs::write(&path, platform_toml(&auth_url)).unwrap();
    let lrs = TestLrs::start_with(&["--config", path.to_str().unwrap()]);
    let day = |offset: i64| date_text(civil_from_days(tokyo_today() + offset));
    let (begin, end) = (day(-200), day(200));
    let mut users = default_users();
    let mut rows = vec![format!(
        "e-t1,active,{{M}},k1,s1,t1,teacher,false,{begin},{end}"
    )];
    for n in 0..35 {
        users.push_str(&format!(
            "b{n:02},active,2025-03-20T09:00:00.000Z,true,b{n:02},学習者{n},青葉,,P4,,s1,\n"
        ));
        rows.push(format!(
            "e-b{n:02},active,{{M}},k1,s1,b{n:02},student,false,{begin},{end}"
        ));
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let (status_code, body) = lrs
        .import_roster(&bulk_roster_with(users, enrollments(&rows)))
        .await;
    assert_eq!(status_code, 200, "{body}");
    let today = tokyo_today();
    let mut statements = Vec::new();
    for n in 0..35usize {
        for d in 0..30usize {
            for k in 0..5usize {
                statements.push(
                    Posted {
                        learner: format!("b{n:02}"),
                        day: today - d as i64,
                        hour: 8 + ((n + k) % 9) as i64,
                        tool: TOOLS[(n + k) % 3],
                        subject: SUBJECTS[k % 2],
                        code: CODES[(n + d + k) % 3],
                        success: Some((n + d + k) % 4 != 0),
                    }
                    .json(),
                );
            }
        }
    }
    for chunk in statements.chunks(500) {
        let response = lrs.post_statements(&Value::Array(chunk.to_vec())).await;
        assert_eq!(response.status(), 200);
    }
    lrs.wait_applied().await;
    let scenario = Scenario {
        lrs,
        _config: config,
        posted: Vec::new(),
    };
    scenario.launch(&browser, "t1", "k1", "instructor").await;
    charts_drawn(&browser).await;
    let mut runs = Vec::new();
    for run in 0..6 {
        browser.open(&scenario.url("/dashboard/class/k1")).await;
        charts_drawn(&browser).await;
        let timing = page_value(
            &browser,
            "const n = performance.getEntriesByType('navigation')[0];\
             const r = performance.getEntriesByType('resource');\
             const sum = (f, t) => r.filter(e => t.test(e.name)).reduce((a, e) => a + e[f], 0);\
             return {response: n.responseEnd, interactive: n.domInteractive,\
                     loaded: n.loadEventEnd, charts: Number(document.documentElement.getAttribute('data-charts-at')),\
                     html: n.decodedBodySize, html_sent: n.encodedBodySize,\
                     css: sum('decodedBodySize', /\\.css$/), css_sent: sum('encodedBodySize', /\\.css$/),\
                     js: sum('decodedBodySize', /\\.js$/), js_sent: sum('encodedBodySize', /\\.js$/),\
                     rows: document.querySelectorAll('#learners tr[data-learner]').length};",
        )
        .await;
        println!("run {run}: {timing}");
        if run > 0 {
            runs.push(timing);
        }
    }
    assert_eq!(runs[0]["rows"], 35);
    let weight = &runs[0];
    println!(
        "page weight: HTML {} B (sent {} B), CSS {} B (sent {} B), JS {} B (sent {} B)",
        weight["html"],
        weight["html_sent"],
        weight["css"],
        weight["css_sent"],
        weight["js"],
        weight["js_sent"]
    );
    let median = |field: &str| {
        let mut values: Vec<f64> = runs.iter().map(|r| r[field].as_f64().unwrap()).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "class view, 35 learners x 30 days ({} statements), median of {} warm runs: response {:.0} ms, \
         interactive {:.0} ms, loaded {:.0} ms, chart drawn {:.0} ms",
        statements.len(),
        runs.len(),
        median("response"),
        median("interactive"),
        median("loaded"),
        median("charts"),
    );
    browser.close().await;
}
