//! A real headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! which `.ci/run` installs): a `chromedriver` on a free loopback port, one browser session with
//! a Japanese locale, screenshots saved as test artefacts, and the page's console errors.
//!
//! Without `chromedriver` on the `PATH` (or named by `LRS_TEST_CHROMEDRIVER`) [`Browser::start`]
//! answers `None` and the browser tests say they were skipped; under `CI=true` a missing driver
//! fails them instead, so CI can never pass without running them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Window height of every screenshot; widths are the test's (1280 desktop, 390 phone).
const HEIGHT: u32 = 900;

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium session `width` pixels wide; `None` (with a
    /// message) when no driver is installed outside CI.
    pub async fn start(width: u32) -> Option<Browser> {
        let driver_bin =
            std::env::var("LRS_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = match Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must run the browser tests, but {driver_bin} cannot start: {e}"
                );
                eprintln!(
                    "skipped: no {driver_bin} ({e}); apt-get install chromium chromium-driver"
                );
                return None;
            }
        };
        let driver_url = format!("http://127.0.0.1:{port}");
        let mut browser = DriverGuard(Some(driver));
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            let ready = http
                .get(format!("{driver_url}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success());
            if ready == Some(true) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer /status on {driver_url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let binary = std::env::var("LRS_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let binary = which(&binary).unwrap_or(PathBuf::from(binary));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--lang=ja-JP", "--hide-scrollbars", format!("--window-size={width},{HEIGHT}"),
                ],
                "prefs": {"intl.accept_languages": "ja-JP,ja"},
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver_url)
            .await
            .expect("a WebDriver session in headless Chromium");
        client
            .set_window_size(width, HEIGHT)
            .await
            .expect("window size");
        Some(Browser {
            client,
            driver: browser.0.take().expect("driver"),
            driver_url,
        })
    }

    /// Opens `url` and waits until the document has loaded.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.wait_until("document.readyState === 'complete'").await;
    }

    /// Waits (up to 10 s) until the JavaScript expression is true.
    pub async fn wait_until(&self, expression: &str) {
        let started = Instant::now();
        loop {
            let value = self
                .client
                .execute(&format!("return !!({expression});"), vec![])
                .await
                .expect("execute script");
            if value == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still false after 10 s: {expression} (at {})",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The visible text of the first element `css` matches.
    pub async fn text(&self, css: &str) -> String {
        let url = self.url().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} at {url}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// The visible texts of every element `css` matches, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
        {
            out.push(element.text().await.expect("element text"));
        }
        out
    }

    /// Saves a PNG of the viewport as `<target>/tmp/screenshots/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Messages the page logged at level SEVERE (console errors, failed loads, uncaught
    /// exceptions) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("chromedriver log")
            .json()
            .await
            .expect("log JSON");
        answer["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Kills the driver if the session never starts.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}
