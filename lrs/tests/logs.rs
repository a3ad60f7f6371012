//! `logging.format = "json"`: the server's log (stderr) is one JSON object per line, from start-up
//! through requests to shutdown, a failed start included (README "Metrics and logs").

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use common::{BIN, create_credential};
use serde_json::{Value, json};

/// `lrs serve` with JSON logs at `info`, stdout and stderr piped.
fn spawn_json_logging(data_dir: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("LRS__LOGGING__FORMAT", "json")
        .env("LRS__LOGGING__LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning lrs serve")
}

/// Every line of `log`, parsed; panics naming the first line that is not a JSON object.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nwhole log:\n{log}"));
            assert!(value.is_object(), "not an object: {line}");
            assert!(value["timestamp"].is_string(), "no timestamp: {line}");
            assert!(value["level"].is_string(), "no level: {line}");
            value
        })
        .collect()
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|line| line["fields"]["message"].as_str())
        .collect()
}

#[tokio::test]
async fn json_logging_writes_one_json_object_per_line_from_start_to_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = create_credential(dir.path(), "board-a", "all");
    let mut child = spawn_json_logging(dir.path(), &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let endpoint = loop {
        let line = stdout.next().expect("lrs serve exited").unwrap();
        if let Some(url) = line.strip_prefix("lrs listening on ") {
            break url.trim().to_owned();
        }
    };
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });

    // xAPI Communication §2.1.1: a statement POST answers its ids; the write passes through the
    // api, the log and ingest, each of which may log.
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{endpoint}/statements"))
        .basic_auth(&key, Some(&secret))
        .header("X-Experience-API-Version", "2.0.0")
        .json(&json!({"actor": {"mbox": "mailto:a@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://drill.example.jp/q/1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(child.wait().unwrap().success());

    let log = log.join().unwrap();
    let lines = json_lines(&log);
    let messages = messages(&lines);
    assert!(messages.contains(&"lrs ready"), "{log}");
    assert!(messages.contains(&"stopped"), "{log}");
    let ready = lines
        .iter()
        .find(|l| l["fields"]["message"] == "lrs ready")
        .unwrap();
    assert_eq!(ready["fields"]["roles"], "api,ingest,query", "{ready}");
}

/// A process that cannot start (here: some roles on the embedded log) logs why as JSON too, and
/// exits non-zero.
#[test]
fn a_failed_start_is_logged_as_json_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_json_logging(dir.path(), &["--services", "ingest"]);
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8(output.stderr).unwrap();
    let lines = json_lines(&log);
    let failure = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR line:\n{log}"));
    assert!(
        failure["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("shared log")),
        "{failure}"
    );
}
