//! End to end against the real `lrs` binary: `loadtest post --verify` reads back every statement
//! it got acknowledged, and the check reports an id that was never posted as missing.
//!
//! The `lrs` binary is `$LRS_BIN`, or `lrs` in the target directory this test was built into
//! (`cargo test --workspace` builds it there, since `lrs`'s own tests need it). Without it the
//! tests print why and pass.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lrs_loadtest::check::{Window, check};
use lrs_loadtest::driver::Target;
use lrs_loadtest::verify::Ledger;

fn lrs_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("LRS_BIN") {
        return Some(PathBuf::from(bin));
    }
    // target/debug/deps/e2e-… → target/debug/lrs
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .parent()?
        .join(format!("lrs{}", std::env::consts::EXE_SUFFIX));
    bin.exists().then_some(bin)
}

/// A running `lrs serve` on port 0 with a fresh data directory; killed on drop.
struct Lrs {
    child: Child,
    dir: PathBuf,
    endpoint: String,
    key: String,
    secret: String,
}

impl Lrs {
    fn start(label: &str) -> Option<Lrs> {
        let Some(bin) = lrs_bin() else {
            eprintln!("skipped: no lrs binary (set LRS_BIN or run `cargo test --workspace`)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("loadtest-e2e-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(&bin)
            .args([
                "credentials",
                "create",
                "--tenant",
                "board-a",
                "--scopes",
                "all",
                "--data-dir",
            ])
            .arg(&dir)
            .output()
            .expect("lrs credentials create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let mut parts = line.split_whitespace();
        let (key, secret) = (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        );
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env("LRS__LOGGING__LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lrs serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines.next().expect("lrs serve exited").unwrap();
            if let Some(url) = line.strip_prefix("lrs listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Some(Lrs {
            child,
            dir,
            endpoint,
            key,
            secret,
        })
    }
}

impl Drop for Lrs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn post_with_verify_reads_back_every_acknowledged_statement_exactly_once() {
    let Some(lrs) = Lrs::start("verify") else {
        return;
    };
    let report = lrs.dir.join("report.json");
    let workload = "--rate 60 --connections 4 --batch 10 --read-ratio 0.2 --duration 2 --warmup 0";
    let out = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(["post", "--endpoint", &lrs.endpoint])
        .args(["--key", &lrs.key, "--secret", &lrs.secret])
        .args(workload.split(' '))
        .args(["--verify", "--verify-wait", "10", "--json"])
        .arg(&report)
        .output()
        .expect("loadtest post");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let verify = &report["verify"];
    assert_eq!(verify["passed"], true, "{report}");
    assert!(verify["expected"].as_u64().unwrap() >= 100, "{report}");
    assert_eq!(verify["expected"], verify["found"], "{report}");
    assert_eq!(report["mode"], "open");
    assert!(
        report["write"]["status"]["200"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(
        report["read"]["status"]["200"].as_u64().unwrap() > 0,
        "{report}"
    );
    for field in [
        "statements_per_second",
        "requests_per_second",
        "seconds",
        "statements",
    ] {
        assert!(report[field].is_number(), "{field} in {report}");
    }
}

#[tokio::test]
async fn the_check_reports_an_id_that_was_never_posted_as_missing() {
    let Some(lrs) = Lrs::start("missing") else {
        return;
    };
    let client = reqwest::Client::new();
    let posted = uuid::Uuid::new_v4();
    let statement = serde_json::json!({
        "id": posted,
        "actor": {"account": {"homePage": "https://eportal.example.jp", "name": posted.to_string()}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en": "answered"}},
        "object": {"id": "https://drill.example.jp/items/1"}
    });
    let answer = client
        .post(format!("{}/statements", lrs.endpoint))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&statement)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let returned: Vec<uuid::Uuid> = answer.json().await.unwrap();

    let never_posted = uuid::Uuid::new_v4();
    let mut ledger = Ledger::default();
    ledger.record_ack(&[posted], &returned);
    ledger.expect(never_posted);
    let target = Target::new("lrs", &lrs.endpoint, &lrs.key, &lrs.secret).unwrap();
    let now = chrono::Utc::now();
    let window = Window {
        since: now - chrono::Duration::minutes(5),
        until: now + chrono::Duration::minutes(5),
        wait: Duration::from_millis(500),
    };
    let outcome = check(&client, &target, "1.0.3", &ledger, &window).await;
    assert_eq!(
        (outcome.expected, outcome.found, outcome.missing),
        (2, 1, 1),
        "{outcome:?}"
    );
    assert_eq!(outcome.missing_sample, vec![never_posted]);
    assert!(!outcome.passed());
}
