//! The dashboard's doors through the real binary (issue 13, "Getting in"): an LTI 1.3 launch
//! signed by a test platform key (`tests/fixtures/lti/`, made with openssl; see
//! `make-jwks.sh` there), forged launches refused, a user or class the roster does not know
//! answered with a Japanese page, a teacher refused another class, board staff logging in with
//! a credential, and the cookies' attributes. The class view's counts are checked against
//! counts computed here from the statements posted.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};

use common::TestLrs;
use common::lti::{
    CLIENT_ID, DEPLOYMENT, INSTRUCTOR, ISSUER, LEARNER, PLATFORM_KEY, PLATFORM_PUBLIC, claims, now,
    sign, tokyo_today,
};
use common::roster::{bulk_roster_with, credential, default_users, enrollments};
use common::studylog::{civil_from_days, date_text, utc_text};
use serde_json::{Value, json};

const JWKS_ISSUER: &str = "https://jwks-portal.example.jp";
const AUTH_URL: &str = "https://eportal.example.jp/oidc/auth?portal=1";
const FORGER_KEY: &str = include_str!("fixtures/lti/forger-private.pem");
const PLATFORM_JWKS: &str = include_str!("fixtures/lti/platform-jwks.json");

/// The LRS with the two test platforms registered (one by PEM, one by a JWKS URL served by
/// `jwks`), the test roster (enrollments around today), and the statements of [`statements`].
struct Scenario {
    lrs: TestLrs,
    _config: tempfile::TempDir,
    /// Statements per learner, as posted.
    posted: BTreeMap<String, u64>,
    client: reqwest::Client,
}

fn config_file(jwks_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[[lti.platforms]]
issuer = "{ISSUER}"
client_id = "{CLIENT_ID}"
deployment_ids = ["{DEPLOYMENT}"]
auth_url = "{AUTH_URL}"
public_keys_pem = """
{PLATFORM_PUBLIC}"""
tenant = "board-a"

[[lti.platforms]]
issuer = "{JWKS_ISSUER}"
client_id = "{CLIENT_ID}"
deployment_ids = ["{DEPLOYMENT}"]
auth_url = "https://jwks-portal.example.jp/auth"
jwks_url = "{jwks_url}"
tenant = "board-a"
user_claim = "lis.person_sourcedid"
class_claim = "lis.course_section_sourcedid"
"#
    );
    std::fs::write(dir.path().join("lrs.toml"), text).unwrap();
    dir
}

/// The test roster with enrollments from 200 days before today to 200 days after: learners l1,
/// l3 and l4 (who never studies) and teacher t1 in k1, learner l2 and teacher t2 in k2.
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
    bulk_roster_with(users, enrollments(&rows))
}

/// An hour ago (inside the default period, the last 30 days): l1 answers twice (one correct)
/// and completes once, l3 answers once, l2 (class k2) answers twice.
fn statements() -> Vec<(String, Value)> {
    let at = utc_text(now() - 3600);
    let statement = |learner: &str, verb: &str, success: Option<bool>| {
        let mut s = common::statement_for(learner, verb, "https://drill.example.jp/q/1");
        s["timestamp"] = json!(at);
        if let Some(success) = success {
            s["result"] = json!({"success": success});
        }
        (learner.to_owned(), s)
    };
    vec![
        statement("l1", "answered", Some(true)),
        statement("l1", "answered", Some(false)),
        statement("l1", "completed", None),
        statement("l3", "answered", Some(true)),
        statement("l2", "answered", Some(true)),
        statement("l2", "answered", Some(false)),
    ]
}

impl Scenario {
    async fn start() -> Scenario {
        let jwks_url = serve_jwks();
        let config = config_file(&jwks_url);
        let path = config.path().join("lrs.toml");
        let lrs = TestLrs::start_with(&["--config", path.to_str().unwrap()]);
        let (status, body) = lrs.import_roster(&roster()).await;
        assert_eq!(status, 200, "{body}");
        let mut posted = BTreeMap::new();
        let mut batch = Vec::new();
        for (learner, statement) in statements() {
            *posted.entry(learner).or_insert(0) += 1;
            batch.push(statement);
        }
        let response = lrs.post_statements(&Value::Array(batch)).await;
        assert_eq!(response.status(), 200);
        lrs.wait_applied().await;
        Scenario {
            lrs,
            _config: config,
            posted,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.lrs.root())
    }

    /// `/lti/login` as the platform starts it; the redirect's `state` and `nonce`, and the
    /// state cookie as a `Cookie` header value.
    async fn login(&self, issuer: &str, login_hint: &str) -> Login {
        let response = self
            .client
            .get(self.url("/lti/login"))
            .query(&[
                ("iss", issuer),
                ("login_hint", login_hint),
                ("target_link_uri", &self.url("/dashboard")),
                ("lti_message_hint", "message-7"),
                ("client_id", CLIENT_ID),
                ("lti_deployment_id", DEPLOYMENT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        let location =
            reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let query: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
        let cookie = set_cookie(&response, "lti_state_").expect("a state cookie");
        Login {
            state: query["state"].clone(),
            nonce: query["nonce"].clone(),
            cookie: cookie.split(';').next().unwrap().to_owned(),
            query,
            location,
            set_cookie: cookie,
        }
    }

    /// Posts the launch form with `cookie` (the state cookie, or another).
    async fn launch(&self, id_token: &str, state: &str, cookie: &str) -> reqwest::Response {
        self.client
            .post(self.url("/lti/launch"))
            .header("Cookie", cookie)
            .form(&[("id_token", id_token), ("state", state)])
            .send()
            .await
            .unwrap()
    }

    async fn get_page(&self, path: &str, session: &str) -> (reqwest::StatusCode, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("Cookie", session)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// A launch of `user` from class `class` with `roles`, signed by the platform: the session
    /// cookie (`lrs_session=…`) and where it landed.
    async fn launch_as(&self, user: &str, class: &str, roles: &[&str]) -> (String, String) {
        let login = self.login(ISSUER, user).await;
        let token = sign(
            PLATFORM_KEY,
            None,
            &claims(user, class, roles, &login.nonce),
        );
        let response = self.launch(&token, &login.state, &login.cookie).await;
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        let landing = response.headers()["location"].to_str().unwrap().to_owned();
        let session = set_cookie(&response, "lrs_session=").expect("a session cookie");
        (session.split(';').next().unwrap().to_owned(), landing)
    }
}

struct Login {
    state: String,
    nonce: String,
    /// `lti_state_…=…`, to send back.
    cookie: String,
    query: BTreeMap<String, String>,
    location: reqwest::Url,
    /// The whole `Set-Cookie` value, attributes included.
    set_cookie: String,
}

/// The first `Set-Cookie` whose value starts with `prefix`.
fn set_cookie(response: &reqwest::Response, prefix: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(prefix))
        .map(str::to_owned)
}

fn has_attribute(cookie: &str, attribute: &str) -> bool {
    cookie
        .split(';')
        .skip(1)
        .any(|a| a.trim().eq_ignore_ascii_case(attribute))
}

/// Each learner row's statement count on a class page (`<tr data-learner="…">` … `data-statements="N"`).
fn statements_shown(html: &str) -> BTreeMap<String, u64> {
    let mut shown = BTreeMap::new();
    for row in html.split("<tr data-learner=\"").skip(1) {
        let learner = row.split('"').next().unwrap().to_owned();
        let count = row
            .split("data-statements=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("a statement count in the row");
        shown.insert(learner, count);
    }
    shown
}

/// Serves `platform-jwks.json` at `http://127.0.0.1:PORT/jwks` from a thread (one response per
/// connection) for as long as the test process lives.
fn serve_jwks() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PLATFORM_JWKS}",
                PLATFORM_JWKS.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}/jwks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teachers_launch_lands_on_their_class_showing_each_learners_statement_count() {
    let scenario = Scenario::start().await;
    let login = scenario.login(ISSUER, "t1").await;
    // The authentication request (OIDC Core §3.1.2.1, LTI 1.3 Security Framework §5.1.1.2).
    assert!(
        login
            .location
            .as_str()
            .starts_with("https://eportal.example.jp/oidc/auth?portal=1&"),
        "{}",
        login.location
    );
    for (name, value) in [
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", CLIENT_ID),
        ("login_hint", "t1"),
        ("lti_message_hint", "message-7"),
    ] {
        assert_eq!(login.query[name], value, "{name}");
    }
    assert_eq!(login.query["redirect_uri"], scenario.url("/lti/launch"));
    assert!(login.state.len() >= 32 && login.nonce.len() >= 32);
    assert!(
        login
            .set_cookie
            .starts_with(&format!("lti_state_{}=", login.state))
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=None"] {
        assert!(
            has_attribute(&login.set_cookie, attribute),
            "{attribute}: {}",
            login.set_cookie
        );
    }

    let token = sign(
        PLATFORM_KEY,
        None,
        &claims("t1", "k1", &[INSTRUCTOR], &login.nonce),
    );
    let response = scenario.launch(&token, &login.state, &login.cookie).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard/class/k1");
    let session = set_cookie(&response, "lrs_session=").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(has_attribute(&session, attribute), "{attribute}: {session}");
    }
    assert!(
        session.split(';').any(|a| a.trim().starts_with("Max-Age=")),
        "an expiring session: {session}"
    );
    assert!(
        !has_attribute(&session, "Secure"),
        "plain HTTP: no Secure: {session}"
    );
    let session = session.split(';').next().unwrap().to_owned();

    let (status, page) = scenario.get_page("/dashboard/class/k1", &session).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"ja\">"), "{page}");
    assert!(page.contains("4年1組"), "the class title: {page}");
    let expected: BTreeMap<String, u64> = ["l1", "l3", "l4"]
        .iter()
        .map(|l| {
            (
                (*l).to_owned(),
                scenario.posted.get(*l).copied().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(statements_shown(&page), expected, "{page}");
    assert!(
        page.contains("<tr data-learner=\"l4\" class=\"inactive\">"),
        "l4, who never studied, is flagged: {page}"
    );
    assert!(
        !page.contains("<tr data-learner=\"l1\" class=\"inactive\">"),
        "{page}"
    );
    assert!(
        page.contains("50.0%"),
        "l1 answered two, one correctly: {page}"
    );
    assert!(
        page.contains("既定の期間"),
        "the default period is stated: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_replayed_and_mismatched_launches_are_refused() {
    let scenario = Scenario::start().await;
    let teacher = |nonce: &str| claims("t1", "k1", &[INSTRUCTOR], nonce);
    let refused = |response: &reqwest::Response, what: &str| {
        assert_eq!(response.status(), 401, "{what}");
        assert!(
            set_cookie(response, "lrs_session=").is_none(),
            "{what}: no session"
        );
    };

    let login = scenario.login(ISSUER, "t1").await;
    let forged = sign(FORGER_KEY, None, &teacher(&login.nonce));
    let response = scenario.launch(&forged, &login.state, &login.cookie).await;
    refused(&response, "signed by another key");
    let page = response.text().await.unwrap();
    assert!(page.contains("lang=\"ja\"") && page.contains("起動を確認できませんでした"));

    let mut wrong_aud = teacher(&login.nonce);
    wrong_aud["aud"] = json!("another-tool");
    let token = sign(PLATFORM_KEY, None, &wrong_aud);
    refused(
        &scenario.launch(&token, &login.state, &login.cookie).await,
        "another audience",
    );

    let mut expired = teacher(&login.nonce);
    expired["exp"] = json!(now() - 3600);
    let token = sign(PLATFORM_KEY, None, &expired);
    refused(
        &scenario.launch(&token, &login.state, &login.cookie).await,
        "expired",
    );

    let mut wrong_deployment = teacher(&login.nonce);
    wrong_deployment["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] =
        json!("deployment-9");
    let token = sign(PLATFORM_KEY, None, &wrong_deployment);
    refused(
        &scenario.launch(&token, &login.state, &login.cookie).await,
        "an unregistered deployment",
    );

    let token = sign(
        PLATFORM_KEY,
        None,
        &teacher("a-nonce-this-login-never-issued"),
    );
    refused(
        &scenario.launch(&token, &login.state, &login.cookie).await,
        "another nonce",
    );

    // State mismatch: no state cookie, or the cookie of another login.
    let good = sign(PLATFORM_KEY, None, &teacher(&login.nonce));
    refused(
        &scenario.launch(&good, &login.state, "other=1").await,
        "no state cookie",
    );
    let other = scenario.login(ISSUER, "t1").await;
    refused(
        &scenario.launch(&good, &other.state, &other.cookie).await,
        "the state of another login",
    );

    // The genuine launch works once; the same id_token again is a replay.
    let response = scenario.launch(&good, &login.state, &login.cookie).await;
    assert_eq!(response.status(), 303);
    refused(
        &scenario.launch(&good, &login.state, &login.cookie).await,
        "a replayed nonce",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_for_a_user_or_class_the_roster_does_not_know_gets_a_japanese_page() {
    let scenario = Scenario::start().await;
    let login = scenario.login(ISSUER, "ghost").await;
    let token = sign(
        PLATFORM_KEY,
        None,
        &claims("ghost", "k1", &[INSTRUCTOR], &login.nonce),
    );
    let response = scenario.launch(&token, &login.state, &login.cookie).await;
    assert_eq!(response.status(), 403);
    assert!(set_cookie(&response, "lrs_session=").is_none());
    let page = response.text().await.unwrap();
    assert!(page.contains("<html lang=\"ja\">"), "{page}");
    assert!(page.contains("名簿に登録されていない利用者です"), "{page}");

    let login = scenario.login(ISSUER, "t1").await;
    let token = sign(
        PLATFORM_KEY,
        None,
        &claims("t1", "k9", &[INSTRUCTOR], &login.nonce),
    );
    let response = scenario.launch(&token, &login.state, &login.cookie).await;
    assert_eq!(response.status(), 404);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("クラスが見つかりません") && page.contains("k9"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_opening_another_class_is_refused_and_a_visitor_is_sent_to_the_login() {
    let scenario = Scenario::start().await;
    let (session, landing) = scenario.launch_as("t1", "k1", &[INSTRUCTOR]).await;
    assert_eq!(landing, "/dashboard/class/k1");
    let (status, page) = scenario.get_page("/dashboard/class/k2", &session).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("表示する権限がありません"), "{page}");
    assert!(!page.contains("data-learner=\"l2\""), "{page}");

    // The teacher launching from k2 (which they do not teach) is refused as well.
    let login = scenario.login(ISSUER, "t1").await;
    let token = sign(
        PLATFORM_KEY,
        None,
        &claims("t1", "k2", &[INSTRUCTOR], &login.nonce),
    );
    assert_eq!(
        scenario
            .launch(&token, &login.state, &login.cookie)
            .await
            .status(),
        403
    );

    let response = scenario
        .client
        .get(scenario.url("/dashboard/class/k1?since=2025-10-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/dashboard/login?next=%2Fdashboard%2Fclass%2Fk1%3Fsince%3D2025-10-01"
    );

    // A learner's launch lands on their own view; the landing view shows their own class only.
    let (session, landing) = scenario.launch_as("l2", "k2", &[LEARNER]).await;
    assert_eq!(landing, "/dashboard/me");
    let (status, page) = scenario.get_page("/dashboard", &session).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("data-key=\"k2\"") && !page.contains("data-key=\"k1\""),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_with_a_jwks_url_is_verified_with_the_key_its_kid_names() {
    let scenario = Scenario::start().await;
    let login = scenario.login(JWKS_ISSUER, "t1").await;
    let mut claims = claims("someone-else", "not-a-class", &[INSTRUCTOR], &login.nonce);
    claims["iss"] = json!(JWKS_ISSUER);
    // This platform names the roster user and class with the LIS claims.
    claims["https://purl.imsglobal.org/spec/lti/claim/lis"] =
        json!({"person_sourcedid": "t1", "course_section_sourcedid": "k1"});
    let token = sign(PLATFORM_KEY, Some("platform-1"), &claims);
    let response = scenario.launch(&token, &login.state, &login.cookie).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(response.headers()["location"], "/dashboard/class/k1");

    let login = scenario.login(JWKS_ISSUER, "t1").await;
    claims["nonce"] = json!(login.nonce);
    let forged = sign(FORGER_KEY, Some("platform-1"), &claims);
    assert_eq!(
        scenario
            .launch(&forged, &login.state, &login.cookie)
            .await
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_staff_log_in_with_key_and_secret_and_see_every_class_of_the_board() {
    let scenario = Scenario::start().await;
    let client = &scenario.client;
    let form = client
        .get(scenario.url("/dashboard/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let csrf_cookie = set_cookie(&form, "lrs_login_csrf=").expect("a CSRF cookie");
    assert!(
        has_attribute(&csrf_cookie, "HttpOnly") && has_attribute(&csrf_cookie, "SameSite=Strict")
    );
    let csrf_cookie = csrf_cookie.split(';').next().unwrap().to_owned();
    let page = form.text().await.unwrap();
    assert!(page.contains("<html lang=\"ja\">"));
    assert!(
        page.contains("name=\"key\"") && page.contains("name=\"secret\""),
        "{page}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_owned();
    let (key, secret) = (scenario.lrs.key.clone(), scenario.lrs.secret.clone());
    let post = |fields: Vec<(&'static str, String)>, cookie: String, tls: bool| {
        let mut request = client
            .post(scenario.url("/dashboard/login"))
            .header("Cookie", cookie)
            .form(&fields);
        if tls {
            request = request.header("X-Forwarded-Proto", "https");
        }
        request.send()
    };

    // The form without its CSRF token, or with a wrong secret, is refused.
    let response = post(
        vec![("key", key.clone()), ("secret", secret.clone())],
        csrf_cookie.clone(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403);
    let response = post(
        vec![
            ("key", key.clone()),
            ("secret", secret.clone()),
            ("csrf", csrf.clone()),
        ],
        "other=1".into(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403, "the token without its cookie");
    let response = post(
        vec![
            ("key", key.clone()),
            ("secret", "wrong".into()),
            ("csrf", csrf.clone()),
        ],
        csrf_cookie.clone(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    assert!(set_cookie(&response, "lrs_session=").is_none());

    // A credential that may not read aggregates may not log in.
    let (writer_key, writer_secret) = credential(
        &scenario.lrs.data_dir(),
        &["--tenant", "board-a", "--scopes", "statements/write"],
    );
    let response = post(
        vec![
            ("key", writer_key),
            ("secret", writer_secret),
            ("csrf", csrf.clone()),
        ],
        csrf_cookie.clone(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403);

    // Behind a TLS proxy the session cookie is Secure.
    let response = post(
        vec![
            ("key", key.clone()),
            ("secret", secret.clone()),
            ("csrf", csrf.clone()),
        ],
        csrf_cookie.clone(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboard");
    let session = set_cookie(&response, "lrs_session=").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(has_attribute(&session, attribute), "{attribute}: {session}");
    }
    let session = session.split(';').next().unwrap().to_owned();

    let (status, page) = scenario.get_page("/dashboard", &session).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("data-key=\"k1\"") && page.contains("data-key=\"k2\""),
        "{page}"
    );
    let (status, page) = scenario.get_page("/dashboard/class/k2", &session).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        statements_shown(&page),
        BTreeMap::from([("l2".to_owned(), scenario.posted["l2"])])
    );

    // Logout needs the session's CSRF token.
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let response = client
        .post(scenario.url("/dashboard/logout"))
        .header("Cookie", &session)
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = client
        .post(scenario.url("/dashboard/logout"))
        .header("Cookie", &session)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let removed = set_cookie(&response, "lrs_session=").expect("the session cookie removed");
    assert!(removed.contains("Max-Age=0"), "{removed}");
}
