//! Held request bodies cannot pin memory (issue 16, defect 4): bodies in memory are bounded
//! globally and per credential (503 + Retry-After beyond), and a body that does not arrive in
//! time is answered 408. Driven over raw TCP, so a client can send part of a body and stall.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{TestLrs, create_credential, statement_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

const MIB: usize = 1024 * 1024;

/// An answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn error_code(&self) -> String {
        let body: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not a JSON error: {self:?}"));
        body["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A request whose head and first `sent` body bytes were written, and which then sends nothing
/// more while it waits for the answer (its write side stays open: no end of body).
struct Stalled {
    answer: JoinHandle<Answer>,
    _writer: JoinHandle<OwnedWriteHalf>,
}

impl Stalled {
    async fn open(lrs: &TestLrs, head: String, sent: Vec<u8>) -> Stalled {
        let stream = TcpStream::connect(address(lrs)).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let answer = tokio::spawn(async move {
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            // Until the head and its Content-Length of body are in, or the server closes.
            while !complete(&raw) {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                }
            }
            parse(&raw)
        });
        let writer = tokio::spawn(async move {
            // A refused request's body is not read: writing it may fail, which is fine.
            if writer.write_all(head.as_bytes()).await.is_ok() {
                let _ = writer.write_all(&sent).await;
            }
            writer
        });
        Stalled {
            answer,
            _writer: writer,
        }
    }

    async fn answer(self) -> Answer {
        tokio::time::timeout(Duration::from_secs(120), self.answer)
            .await
            .expect("an answer to a stalled request")
            .unwrap()
    }
}

fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let answer = parse(&raw[..end]);
    let length: usize = answer
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    raw.len() >= end + 4 + length
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn address(lrs: &TestLrs) -> String {
    let url = reqwest::Url::parse(&lrs.endpoint).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

fn basic(key: &str, secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
}

/// A request head with the credential, the version and the framing given in `framing`.
fn head(
    method: &str,
    target: &str,
    credential: (&str, &str),
    version: &str,
    framing: &str,
) -> String {
    format!(
        "{method} /xapi{target} HTTP/1.1\r\nHost: lrs\r\nAuthorization: Basic {}\r\n\
         X-Experience-API-Version: {version}\r\n{framing}\r\n",
        basic(credential.0, credential.1)
    )
}

/// A statement POST announcing `length` bytes of JSON.
fn statements_head(credential: (&str, &str), length: usize) -> String {
    head(
        "POST",
        "/statements",
        credential,
        "2.0.0",
        &format!("Content-Type: application/json\r\nContent-Length: {length}\r\n"),
    )
}

/// The value of an unlabelled series in `/metrics`.
async fn gauge(lrs: &TestLrs, name: &str) -> f64 {
    let root = lrs.endpoint.trim_end_matches("/xapi");
    let text = lrs
        .client
        .get(format!("{root}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

async fn backpressure(lrs: &TestLrs, reason: &str) -> f64 {
    gauge(
        lrs,
        &format!("lrs_backpressure_total{{reason=\"{reason}\"}}"),
    )
    .await
}

/// Waits until the server holds `bytes` of request bodies (the stalled requests are read).
async fn wait_for_held(lrs: &TestLrs, bytes: usize) {
    for _ in 0..600 {
        if gauge(lrs, "lrs_http_request_body_memory_bytes").await == bytes as f64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never held {bytes} bytes of bodies");
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in bytes.
fn memory(pid: u32) -> (usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .map(|kb| kb.trim().parse::<usize>().unwrap() * 1024)
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn post_small(lrs: &TestLrs, key: &str, secret: &str) -> reqwest::Response {
    lrs.request_as(reqwest::Method::POST, "/statements", key, secret, "2.0.0")
        .json(&statement_for(
            "small",
            "answered",
            "https://drill.example.jp/items/m",
        ))
        .send()
        .await
        .unwrap()
}

// The attack of issue 16, scaled by 1/4: 48 connections of one credential, each announcing a
// body of the largest size allowed (4 MiB here), sending all of it but 1 KiB, and stalling.
// Unbounded, the server held 48 × 4 MiB; with a 32 MiB budget it holds 8 bodies, refuses the
// other 40 at once with 503, keeps answering everything else, and times the 8 out with 408.
//
// Peak RSS is compared with the peak before the attack plus the budget plus 24 MiB: the bodies
// are reserved as announced and held once; besides them each connection costs the HTTP
// server's buffers (read and payload buffers of at most 32 KiB each, a write buffer), under
// 5 MiB for 48, and the allocator keeps per-thread arenas and some freed memory resident;
// 24 MiB covers both with a margin, and is far below the 192 MiB the unbounded server held.
#[tokio::test]
async fn stalled_bodies_of_48_connections_stay_within_the_memory_budget_and_time_out_with_408() {
    let budget = 32 * MIB;
    let body = 4 * MIB;
    let lrs = TestLrs::start_with_env(
        &[],
        &[
            ("LRS__SERVER__MAX_BODY_BYTES", &body.to_string()),
            ("LRS__SERVER__MAX_BODY_MEMORY_BYTES", &budget.to_string()),
            ("LRS__SERVER__MAX_BODY_MEMORY_PER_CREDENTIAL_BYTES", "0"),
            ("LRS__SERVER__BODY_READ_TIMEOUT_SECONDS", "10"),
        ],
    );
    let pid = lrs.child.id();
    let credential = (lrs.key.as_str(), lrs.secret.as_str());
    // Warm up: every worker has served requests, bodies included.
    for _ in 0..8 {
        assert_eq!(
            post_small(&lrs, credential.0, credential.1).await.status(),
            200
        );
        assert_eq!(lrs.get_json("/statements").await.0, 200);
    }
    let (peak_before, rss_before) = memory(pid);

    let mut stalled = Vec::new();
    for _ in 0..48 {
        let sent = vec![b' '; body - 1024];
        stalled.push(Stalled::open(&lrs, statements_head(credential, body), sent).await);
    }
    wait_for_held(&lrs, budget).await;

    // Meanwhile: reads are answered, and a new body over the budget is a 503 with Retry-After.
    let (status, page) = lrs.get_json("/statements").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(lrs.get_json("/about").await.0, 200);
    let refused = post_small(&lrs, credential.0, credential.1).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("Retry-After"));
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["error"], "unavailable");

    let mut statuses = std::collections::BTreeMap::new();
    for request in stalled {
        let answer = request.answer().await;
        match answer.status {
            408 => {
                assert_eq!(answer.error_code(), "request_timeout");
                assert_eq!(answer.header("Connection"), Some("close"));
            }
            503 => {
                assert_eq!(answer.error_code(), "unavailable");
                assert!(answer.header("Retry-After").is_some());
            }
            _ => panic!("unexpected answer {answer:?}"),
        }
        *statuses.entry(answer.status).or_insert(0) += 1;
    }
    assert_eq!(statuses, [(408, 8), (503, 40)].into(), "{statuses:?}");
    assert!(backpressure(&lrs, "body_memory").await >= 41.0);

    // Once the stalled bodies are gone, bodies are accepted again.
    wait_for_held(&lrs, 0).await;
    assert_eq!(
        post_small(&lrs, credential.0, credential.1).await.status(),
        200
    );

    let (peak_after, _) = memory(pid);
    let allowed = peak_before + budget + 24 * MIB;
    eprintln!(
        "RSS before {} MiB, peak before {} MiB, peak after {} MiB, allowed {} MiB",
        rss_before / MIB,
        peak_before / MIB,
        peak_after / MIB,
        allowed / MIB
    );
    assert!(
        peak_after <= allowed,
        "peak RSS {} MiB > {} MiB (peak before {} MiB, RSS before {} MiB, budget {} MiB)",
        peak_after / MIB,
        allowed / MIB,
        peak_before / MIB,
        rss_before / MIB,
        budget / MIB
    );
}

// One credential's stalled bodies (a statement POST, a document PUT) use up its share; its next
// bodies (a chunked one too) get 503, while another credential's are accepted. Bodies read
// before authentication (an alternate-syntax form) are counted too, in a bucket of their own.
#[tokio::test]
async fn one_credential_cannot_take_more_than_its_share_of_body_memory() {
    let body = MIB;
    let lrs = TestLrs::start_with_env(
        &[],
        &[
            ("LRS__SERVER__MAX_BODY_BYTES", &body.to_string()),
            (
                "LRS__SERVER__MAX_BODY_MEMORY_BYTES",
                &(16 * body).to_string(),
            ),
            (
                "LRS__SERVER__MAX_BODY_MEMORY_PER_CREDENTIAL_BYTES",
                &(2 * body).to_string(),
            ),
            ("LRS__SERVER__BODY_READ_TIMEOUT_SECONDS", "10"),
        ],
    );
    let tool = (lrs.key.as_str(), lrs.secret.as_str());
    let (other_key, other_secret) = create_credential(&lrs.data_dir(), "board-a", "all");

    let statement = Stalled::open(&lrs, statements_head(tool, body), vec![b' '; body - 1024]).await;
    let state = format!(
        "/activities/state?activityId=https%3A%2F%2Fdrill.example.jp%2Fu&stateId=s&agent={}",
        "%7B%22mbox%22%3A%22mailto%3Aa%40example.jp%22%7D"
    );
    let document = Stalled::open(
        &lrs,
        head(
            "PUT",
            &state,
            tool,
            "2.0.0",
            &format!("Content-Type: text/plain\r\nContent-Length: {body}\r\n"),
        ),
        vec![b'x'; body - 1024],
    )
    .await;
    wait_for_held(&lrs, 2 * body).await;

    // The tool's share is used up: a new body is refused, a chunked one as its first chunk comes.
    let refused = post_small(&lrs, tool.0, tool.1).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("Retry-After"));
    let chunked = Stalled::open(
        &lrs,
        head(
            "POST",
            "/statements",
            tool,
            "2.0.0",
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        ),
        format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024)).into_bytes(),
    )
    .await
    .answer()
    .await;
    assert_eq!(chunked.status, 503, "{chunked:?}");
    assert!(backpressure(&lrs, "credential_body_memory").await >= 2.0);

    // Another credential writes, chunked as well.
    let json = serde_json::to_string(&statement_for(
        "other",
        "answered",
        "https://d.example.jp/o",
    ))
    .unwrap();
    let accepted = Stalled::open(
        &lrs,
        head(
            "POST",
            "/statements",
            (&other_key, &other_secret),
            "2.0.0",
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
        ),
        format!("{:x}\r\n{json}\r\n0\r\n\r\n", json.len()).into_bytes(),
    )
    .await
    .answer()
    .await;
    assert_eq!(accepted.status, 200, "{accepted:?}");

    // An alternate-syntax form is held before authentication, in the anonymous bucket.
    let form = Stalled::open(
        &lrs,
        format!(
            "POST /xapi/statements?method=PUT HTTP/1.1\r\nHost: lrs\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body}\r\n\r\n"
        ),
        vec![b'a'; body - 1024],
    )
    .await;
    wait_for_held(&lrs, 3 * body).await;

    for (what, request) in [
        ("statement", statement),
        ("document", document),
        ("form", form),
    ] {
        let answer = request.answer().await;
        assert_eq!(answer.status, 408, "{what}: {answer:?}");
        assert_eq!(answer.error_code(), "request_timeout", "{what}");
    }
    wait_for_held(&lrs, 0).await;
    assert_eq!(post_small(&lrs, tool.0, tool.1).await.status(), 200);
}
