//! Spawns the real `lrs` binary on port 0 with a fresh data directory, and talks HTTP to it.

#![allow(dead_code)]

pub mod attachments;
pub mod browser;
pub mod deployment;
pub mod disk_bytes;
pub mod documents;
pub mod lti;
pub mod postgres;
pub mod roster;
pub mod studylog;
pub mod tmpfs;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_lrs");

/// A running `lrs serve` and a credential for one tenant.
pub struct TestLrs {
    pub dir: tempfile::TempDir,
    pub child: Child,
    /// e.g. `http://127.0.0.1:41234/xapi`
    pub endpoint: String,
    pub key: String,
    pub secret: String,
    pub client: reqwest::Client,
}

/// Creates a credential with the CLI; returns (key, secret).
pub fn create_credential(data_dir: &Path, tenant: &str, scopes: &str) -> (String, String) {
    let out = Command::new(BIN)
        .args(["credentials", "create", "--data-dir"])
        .arg(data_dir)
        .args(["--tenant", tenant, "--scopes", scopes])
        .output()
        .expect("running lrs credentials create");
    assert!(
        out.status.success(),
        "credentials create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let mut parts = line.split_whitespace();
    let key = parts.next().expect("key").to_owned();
    let secret = parts.next().expect("secret").to_owned();
    assert!(parts.next().is_none(), "one line: KEY SECRET");
    (key, secret)
}

/// Starts `lrs serve` on an existing data directory; returns the child and its endpoint.
pub fn spawn_server(data_dir: &Path, extra: &[&str]) -> (Child, String) {
    spawn_server_env(data_dir, extra, &[])
}

/// Like [`spawn_server`], with extra environment variables (e.g. `LRS__LOG__URI`).
pub fn spawn_server_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("LRS__LOGGING__LEVEL", "warn")
        // A 1 MiB disk reserve rather than the default 512 MiB: the tests share a machine whose
        // disk may be nearly full; tests/full_disk.rs sets its own.
        .env("LRS__STORAGE__MIN_FREE_BYTES", "1048576")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning lrs serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let endpoint = loop {
        let line = lines
            .next()
            .expect("lrs serve exited before listening")
            .expect("reading stdout");
        if let Some(url) = line.strip_prefix("lrs listening on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, endpoint)
}

impl TestLrs {
    pub fn start() -> TestLrs {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> TestLrs {
        Self::start_with_env(extra, &[])
    }

    /// Like [`TestLrs::start_with`], with extra environment variables (settings such as
    /// `LRS__LOG__MAX_INGEST_LAG_BYTES`).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> TestLrs {
        let dir = tempfile::tempdir().unwrap();
        let (key, secret) = create_credential(dir.path(), "board-a", "all");
        let (child, endpoint) = spawn_server_env(dir.path(), extra, env);
        TestLrs::of(dir, child, endpoint, key, secret)
    }

    /// Starts the server on a data dir the test prepared (records in its log, credentials),
    /// speaking as `key`/`secret`.
    pub fn start_in(dir: tempfile::TempDir, key: String, secret: String) -> TestLrs {
        let (child, endpoint) = spawn_server(dir.path(), &[]);
        TestLrs::of(dir, child, endpoint, key, secret)
    }

    fn of(
        dir: tempfile::TempDir,
        child: Child,
        endpoint: String,
        key: String,
        secret: String,
    ) -> TestLrs {
        TestLrs {
            dir,
            child,
            endpoint,
            key,
            secret,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    /// A request with our credential and the 2.0.0 version header.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(
            method,
            path,
            &self.key.clone(),
            &self.secret.clone(),
            "2.0.0",
        )
    }

    pub fn request_as(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        secret: &str,
        version: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(key, Some(secret))
            .header("X-Experience-API-Version", version)
    }

    pub async fn post_statements(&self, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/statements")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Waits until ingest has applied everything acknowledged (`/ready` reports no lag): what
    /// another credential's reads need, since a reader waits for its own writes only.
    pub async fn wait_applied(&self) {
        let ready = self.endpoint.replace("/xapi", "/ready");
        for _ in 0..500 {
            let lag = match self.client.get(&ready).send().await {
                Ok(response) => response.json::<Value>().await.ok(),
                Err(_) => None,
            }
            .and_then(|v| v["ingest_lag_records"].as_u64());
            if lag == Some(0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("ingest did not catch up within 10 s");
    }

    /// Polls the purge job at `location` (`/api/v1/admin/purges/{id}`, as a purge's `202`
    /// names it) with `key`/`secret` until it is complete; its record.
    pub async fn purge_completed(&self, location: &str, key: &str, secret: &str) -> Value {
        let path = location.strip_prefix("/api/v1").expect("a job URL");
        for _ in 0..1200 {
            let (status, job) =
                send_json(self.api_as(reqwest::Method::GET, path, key, secret)).await;
            assert_eq!(status, 200, "{job}");
            if job["state"] == "complete" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the purge {location} did not complete in 120 s");
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        send_json(self.request(reqwest::Method::GET, path)).await
    }

    /// Like [`TestLrs::get_json`], with another credential (xAPI 2.0.0).
    pub async fn get_json_as(
        &self,
        path: &str,
        key: &str,
        secret: &str,
    ) -> (reqwest::StatusCode, Value) {
        send_json(self.request_as(reqwest::Method::GET, path, key, secret, "2.0.0")).await
    }

    /// Follows `more` links, returning every statement of the query.
    pub async fn get_all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = path.to_owned();
        loop {
            let (status, page) = self.get_json(&next).await;
            assert_eq!(status, 200, "GET {next}: {page}");
            out.extend(page["statements"].as_array().unwrap().iter().cloned());
            let more = page["more"].as_str().unwrap_or("");
            if more.is_empty() {
                return out;
            }
            let base_path = reqwest::Url::parse(&self.endpoint)
                .unwrap()
                .path()
                .to_owned();
            next = more
                .strip_prefix(&base_path)
                .expect("more starts with the base path")
                .to_owned();
        }
    }

    /// Kills the server without warning (SIGKILL).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data directory.
    pub fn restart(&mut self) {
        let (child, endpoint) = spawn_server(self.dir.path(), &[]);
        self.child = child;
        self.endpoint = endpoint;
    }

    /// Graceful stop (SIGTERM) and wait.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for TestLrs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends the request; its status and JSON body (`Null` when the body is not JSON).
pub async fn send_json(request: reqwest::RequestBuilder) -> (reqwest::StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let value = response.json().await.unwrap_or(Value::Null);
    (status, value)
}

/// The ids of a `{"statements": […]}` page, in order.
pub fn ids(page: &Value) -> Vec<&str> {
    page["statements"]
        .as_array()
        .expect("a statement result")
        .iter()
        .map(|s| s["id"].as_str().expect("a statement id"))
        .collect()
}

/// The Japanese example statements shipped as a fixture (one copy, in `schema/tests/fixtures`).
pub fn japan_statements() -> Vec<Value> {
    let text = include_str!("../../../schema/tests/fixtures/japan-statements.json");
    serde_json::from_str::<Value>(text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A minimal valid statement for a learner account name.
pub fn statement_for(learner: &str, verb: &str, activity: &str) -> Value {
    serde_json::json!({
        "actor": {"objectType": "Agent", "account": {"homePage": "https://eportal.example.jp", "name": learner}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": {"en": verb, "ja-JP": "した"}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"name": {"ja-JP": "算数ドリル"}, "type": "http://adlnet.gov/expapi/activities/assessment"}},
        "timestamp": "2025-10-14T10:12:45+09:00"
    })
}

/// A statement by `mbox` voiding `target`.
pub fn voiding_statement(mbox: &str, target: &str) -> Value {
    serde_json::json!({
        "actor": {"mbox": mbox},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
        "object": {"objectType": "StatementRef", "id": target}
    })
}

/// A staff login at `root` (the form's CSRF cookie and field, then key and secret): the
/// `lrs_session=…` cookie.
pub async fn staff_login(root: &str, key: &str, secret: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(name))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    };
    let form = client
        .get(format!("{root}/dashboard/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let csrf_cookie = cookie_of(&form, "lrs_login_csrf=").expect("a CSRF cookie");
    let page = form.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_owned();
    let response = client
        .post(format!("{root}/dashboard/login"))
        .header("Cookie", csrf_cookie)
        .form(&[("key", key), ("secret", secret), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "staff login at {root}");
    cookie_of(&response, "lrs_session=").expect("a session cookie")
}
