//! Pseudonymised research extracts (issue 14 §4), against the real `lrs` binary: the study-log
//! scenario of the aggregates tests (roster, aliases, unknown actors, voiding, re-sends), then
//! `lrs extract` on the stopped server's data directory and `GET /api/v1/extracts` on the
//! running one. The Parquet file is read with DuckDB (PyPI `duckdb` in the test venv
//! `lrs/tests/clients/.venv`, which `.ci/run` installs): its counts per school and subject must
//! equal what the test computes from the statements it sent and what `/api/v1/aggregates`
//! answers.
//!
//! Without the venv the DuckDB checks say so and pass, except under `CI`, where a missing
//! package is a failure.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::studylog::{Rng, Sent, Target, at, oracle, random_statements, roster_v2};
use common::{BIN, TestLrs};
use serde_json::{Value, json};

/// A string that must never leave the LRS in an extract unless `response` is included.
const MARKER: &str = "MARKER-自由記述-7f3a91";
const SINCE: &str = "2026-10-01";
const UNTIL: &str = "2026-10-31";

/// The Tokyo month of October 2026 as UTC seconds (the oracle's period).
fn october() -> (i64, i64) {
    (at(2026, 9, 30, 15, 0), at(2026, 10, 31, 15, 0))
}

/// The scenario: random statements over the fixed roster, plus one whose actor name,
/// `result.response` and unknown extensions carry [`MARKER`].
fn scenario() -> Vec<Sent> {
    random_statements(&mut Rng(0x5eed_e87a))
}

fn with_marker(sent: &Sent) -> Value {
    let mut statement = sent.json();
    statement["actor"]["name"] = json!(MARKER);
    statement["result"]["response"] = json!(MARKER);
    statement["result"]["extensions"] = json!({"https://tool.example.jp/ext/note": MARKER});
    statement["context"]["extensions"]["https://tool.example.jp/ext/free"] = json!(MARKER);
    statement
}

/// The marked statement: a roster learner (s2), mid-October.
fn marked() -> Sent {
    let mut sent = common::studylog::sent(
        999_001,
        common::studylog::Who::learner("s2"),
        at(2026, 10, 14, 2, 0),
    );
    sent.success = Some(true);
    sent
}

/// A server with the scenario applied; `config` is passed as `--config` when given.
async fn loaded(config: Option<&Path>) -> (TestLrs, Vec<Sent>) {
    loaded_with_env(config, &[]).await
}

/// Like [`loaded`], with extra environment variables for the server.
async fn loaded_with_env(config: Option<&Path>, env: &[(&str, &str)]) -> (TestLrs, Vec<Sent>) {
    let args: Vec<String> = config
        .map(|c| vec!["--config".to_owned(), c.display().to_string()])
        .unwrap_or_default();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lrs = TestLrs::start_with_env(&args, env);
    let target = Target::of(&lrs);
    target.import(&roster_v2()).await;
    let mut sent = scenario();
    target.post_statements(&sent).await;
    let marked = marked();
    let response = lrs.post_statements(&json!([with_marker(&marked)])).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    sent.push(marked);
    lrs.wait_applied().await;
    (lrs, sent)
}

fn key_file(dir: &Path, name: &str, byte: u8, len: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, vec![byte; len]).unwrap();
    path
}

/// Runs `lrs extract` on a data directory.
fn extract_cli(data_dir: &Path, key: &Path, out: &Path, extra: &[&str]) -> Output {
    extract_command(data_dir, key, out, extra)
        .output()
        .expect("running lrs extract")
}

fn extract_command(data_dir: &Path, key: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["extract", "--data-dir"])
        .arg(data_dir)
        .args(["--tenant", "board-a", "--since", SINCE, "--until", UNTIL])
        .arg("--key-file")
        .arg(key)
        .arg("--out")
        .arg(out)
        .args(extra);
    command
}

fn extract_ok(data_dir: &Path, key: &Path, out: &Path, extra: &[&str]) {
    let output = extract_cli(data_dir, key, out, extra);
    assert!(
        output.status.success(),
        "lrs extract failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn venv_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/.venv/bin/python");
    let has_duckdb = python.exists()
        && Command::new(&python)
            .args(["-c", "import duckdb"])
            .status()
            .is_ok_and(|s| s.success());
    if has_duckdb {
        return Some(python);
    }
    let message = format!(
        "duckdb not installed ({} lacks it); .ci/run installs lrs/tests/clients/requirements.txt",
        python.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    None
}

/// Runs a DuckDB query over `statements.parquet` (as the view `t`) and returns its rows.
fn duckdb(python: &Path, parquet: &Path, sql: &str) -> Vec<Vec<Value>> {
    let script = r#"
import duckdb, json, sys
con = duckdb.connect()
path = sys.argv[1].replace("'", "''")
con.execute(f"create view t as select * from read_parquet('{path}')")
rows = con.execute(sys.argv[2]).fetchall()
print(json.dumps([list(r) for r in rows], default=str))
"#;
    let output = Command::new(python)
        .args(["-c", script])
        .arg(parquet)
        .arg(sql)
        .output()
        .expect("running python");
    assert!(
        output.status.success(),
        "duckdb {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Statements per (school, subject): a learner counted in two schools counts in each, as the
/// aggregates count.
const PER_SCHOOL_SUBJECT: &str = "select to_json(s.school), to_json(subject), count(*) \
     from (select unnest(coalesce(string_split(school, ';'), [null])) as school, subject from t) s \
     group by all order by all";

fn counts_of_oracle(sent: &[Sent]) -> BTreeMap<(String, String), u64> {
    let (since, until) = october();
    oracle(
        &roster_v2(),
        sent,
        &["school", "subject"],
        since,
        until,
        &[],
    )
    .into_iter()
    .map(|(key, metrics)| {
        (
            (key[0].clone(), key[1].clone()),
            metrics["statements"].as_u64().unwrap(),
        )
    })
    .collect()
}

fn counts_of_duckdb(rows: Vec<Vec<Value>>) -> BTreeMap<(String, String), u64> {
    rows.into_iter()
        .map(|r| {
            (
                // JSON text as the oracle writes keys; DuckDB's to_json(NULL) is NULL.
                (
                    r[0].as_str().unwrap_or("null").to_owned(),
                    r[1].as_str().unwrap_or("null").to_owned(),
                ),
                r[2].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn csv_column(dir: &Path, column: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(dir.join("statements.csv")).unwrap();
    let index = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    reader
        .records()
        .map(|r| r.unwrap()[index].to_owned())
        .collect()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_extract_counts_per_school_and_subject_what_the_statements_and_the_aggregates_say()
{
    let (mut lrs, sent) = loaded(None).await;
    let (since, until) = october();
    let answer = Target::of(&lrs)
        .aggregates(&["school", "subject"], since, until, &[])
        .await;
    let aggregated: BTreeMap<(String, String), u64> =
        common::studylog::answered_rows(&answer, &["school", "subject"])
            .into_iter()
            .map(|(k, m)| {
                (
                    (k[0].clone(), k[1].clone()),
                    m["statements"].as_u64().unwrap(),
                )
            })
            .collect();
    let expected = counts_of_oracle(&sent);
    assert_eq!(aggregated, expected, "the aggregates agree with the oracle");
    assert!(lrs.terminate().success());

    let work = tempfile::tempdir().unwrap();
    let key = key_file(work.path(), "project.key", 1, 32);
    let out = work.path().join("out");
    extract_ok(&lrs.data_dir(), &key, &out, &[]);
    let names: Vec<String> = files(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "k_anonymity.csv",
            "manifest.json",
            "statements.csv",
            "statements.parquet"
        ]
    );
    let total: u64 = {
        // Statements (not school rows): the oracle's board total.
        let all = oracle(&roster_v2(), &sent, &[], since, until, &[]);
        all.values().next().unwrap()["statements"].as_u64().unwrap()
    };
    assert_eq!(manifest(&out)["rows"], total);
    assert_eq!(csv_column(&out, "learner").len() as u64, total);
    let fingerprint = manifest(&out)["key_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fingerprint.starts_with("sha256:"));

    let Some(python) = venv_python() else { return };
    let parquet = out.join("statements.parquet");
    let from_parquet = counts_of_duckdb(duckdb(&python, &parquet, PER_SCHOOL_SUBJECT));
    assert_eq!(
        from_parquet, expected,
        "DuckDB's counts of the Parquet file"
    );
    let rows = duckdb(&python, &parquet, "select count(*) from t");
    assert_eq!(rows[0][0].as_u64(), Some(total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_has_one_pseudonym_per_key_and_two_keys_give_unlinkable_ones() {
    let (mut lrs, _) = loaded(None).await;
    assert!(lrs.terminate().success());
    let work = tempfile::tempdir().unwrap();
    let one = key_file(work.path(), "one.key", 1, 32);
    let two = key_file(work.path(), "two.key", 2, 40);
    let (out_one, out_two) = (work.path().join("one"), work.path().join("two"));
    extract_ok(&lrs.data_dir(), &one, &out_one, &[]);
    extract_ok(&lrs.data_dir(), &two, &out_two, &[]);
    let (a, b) = (
        csv_column(&out_one, "learner"),
        csv_column(&out_two, "learner"),
    );
    assert_eq!(a.len(), b.len());
    // Rows come in the same order: the pseudonyms map one to one, and share nothing.
    let mut pairs = BTreeMap::new();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            pairs.insert(x, y).unwrap_or(y),
            y,
            "one pseudonym per person"
        );
    }
    let distinct_b: BTreeSet<&String> = pairs.values().copied().collect();
    assert_eq!(distinct_b.len(), pairs.len());
    let set_a: BTreeSet<&String> = a.iter().collect();
    assert!(set_a.iter().all(|p| !distinct_b.contains(p)));
    assert!(a.iter().all(|p| p.len() == 64));
    assert_ne!(
        manifest(&out_one)["key_fingerprint"],
        manifest(&out_two)["key_fingerprint"]
    );

    // s8 writes as `s8` and through the tool alias `tool-s8`: both are the roster user s8, whose
    // pseudonym is HMAC-SHA256(key, tenant NUL "user" NUL sourcedId) (README).
    let s8 = hmac_hex(&[1; 32], "board-a\0user\0s8");
    let classes = csv_column(&out_one, "class");
    let s8_rows = a.iter().filter(|p| **p == s8).count();
    assert!(s8_rows > 0, "s8 has rows under its documented pseudonym");
    let expected_s8 = scenario_rows_of(&["s8", "tool-s8", "umi-s8"]);
    assert_eq!(s8_rows, expected_s8);
    assert!(
        a.iter()
            .zip(&classes)
            .filter(|(p, _)| **p == s8)
            .all(|(_, c)| c == "1-2")
    );
}

/// How many rows the scenario has in October for these account names (first sends, not voided,
/// not voiding).
fn scenario_rows_of(names: &[&str]) -> usize {
    let mut sent = scenario();
    sent.push(marked());
    let (since, until) = october();
    let mut seen = BTreeSet::new();
    let firsts: Vec<&Sent> = sent.iter().filter(|s| seen.insert(s.id.clone())).collect();
    let ids: BTreeSet<&str> = firsts.iter().map(|s| s.id.as_str()).collect();
    let voided: BTreeSet<&str> = firsts
        .iter()
        .filter_map(|s| s.voids.as_deref())
        .filter(|t| ids.contains(t))
        .collect();
    firsts
        .iter()
        .filter(|s| s.voids.is_none() && !voided.contains(s.id.as_str()))
        .filter(|s| s.at >= since && s.at < until)
        .filter(|s| match &s.who {
            common::studylog::Who::Account { name, .. } => names.contains(&name.as_str()),
            _ => false,
        })
        .count()
}

/// HMAC-SHA256 (RFC 2104) computed here, independently of the LRS.
fn hmac_hex(key: &[u8], message: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_never_reaches_an_extract_unless_response_is_included() {
    let (mut lrs, _) = loaded(None).await;
    assert!(lrs.terminate().success());
    let work = tempfile::tempdir().unwrap();
    let key = key_file(work.path(), "project.key", 3, 32);
    let plain = work.path().join("plain");
    extract_ok(&lrs.data_dir(), &key, &plain, &["--time", "hour"]);
    for (name, bytes) in files(&plain) {
        assert!(!contains(&bytes, MARKER), "{name} holds the marker");
        assert!(!contains(&bytes, "response"), "{name} names a response");
    }
    // Included, the response (and only it) carries the marker: the check above can fail.
    let with = work.path().join("with");
    extract_ok(
        &lrs.data_dir(),
        &key,
        &with,
        &["--time", "hour", "--include", "response"],
    );
    let responses: Vec<String> = csv_column(&with, "response")
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(responses, [MARKER]);
    assert_eq!(manifest(&with)["included_free_text"], json!(["response"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_short_key_file_is_a_clear_error_and_writes_nothing() {
    let (mut lrs, _) = loaded(None).await;
    assert!(lrs.terminate().success());
    let work = tempfile::tempdir().unwrap();
    let cases = [
        ("missing", work.path().join("absent.key")),
        ("short", key_file(work.path(), "short.key", 9, 16)),
        ("a directory", work.path().to_path_buf()),
    ];
    for (what, key) in cases {
        let out = work.path().join(format!("out-{}", what.replace(' ', "-")));
        let output = extract_cli(&lrs.data_dir(), &key, &out, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{what} key: {stderr}");
        assert!(stderr.contains("pseudonym key file"), "{what}: {stderr}");
        assert!(
            stderr.contains("head -c 32 /dev/urandom"),
            "{what}: {stderr}"
        );
        assert!(!out.exists(), "{what} key: {} was created", out.display());
    }
}

/// school, class, grade, time.
type Quasi = (String, String, String, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k_anonymity_reports_small_combinations_and_suppress_drops_their_rows() {
    let (mut lrs, _) = loaded(None).await;
    assert!(lrs.terminate().success());
    let work = tempfile::tempdir().unwrap();
    let key = key_file(work.path(), "project.key", 4, 32);
    let (all, kept) = (work.path().join("all"), work.path().join("kept"));
    let week = ["--time", "week", "--k", "3"];
    extract_ok(&lrs.data_dir(), &key, &all, &week);
    extract_ok(
        &lrs.data_dir(),
        &key,
        &kept,
        &["--time", "week", "--k", "3", "--suppress"],
    );
    // The combinations and their learners, counted here from the unsuppressed rows.
    let column = |dir: &Path, name: &str| csv_column(dir, name);
    let quasi = |dir: &Path| -> Vec<Quasi> {
        let (s, c, g, t) = (
            column(dir, "school"),
            column(dir, "class"),
            column(dir, "grade"),
            column(dir, "time"),
        );
        (0..s.len())
            .map(|i| (s[i].clone(), c[i].clone(), g[i].clone(), t[i].clone()))
            .collect()
    };
    let rows_all = quasi(&all);
    let learners_all = column(&all, "learner");
    let mut groups: BTreeMap<Quasi, (BTreeSet<String>, u64)> = BTreeMap::new();
    for (q, learner) in rows_all.iter().zip(&learners_all) {
        let entry = groups.entry(q.clone()).or_default();
        entry.0.insert(learner.clone());
        entry.1 += 1;
    }
    let small: BTreeMap<_, _> = groups
        .iter()
        .filter(|(_, (learners, _))| learners.len() < 3)
        .map(|(q, (learners, rows))| (q.clone(), (learners.len() as u64, *rows)))
        .collect();
    assert!(
        !small.is_empty(),
        "the scenario has combinations below k = 3"
    );
    assert!(small.len() < groups.len(), "and some at or above it");

    let mut report = csv::Reader::from_path(kept.join("k_anonymity.csv")).unwrap();
    let reported: BTreeMap<_, _> = report
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[6], "true");
            (
                (
                    r[0].to_owned(),
                    r[1].to_owned(),
                    r[2].to_owned(),
                    r[3].to_owned(),
                ),
                (r[4].parse::<u64>().unwrap(), r[5].parse::<u64>().unwrap()),
            )
        })
        .collect();
    assert_eq!(reported, small);

    let suppressed: u64 = small.values().map(|(_, rows)| rows).sum();
    let m = manifest(&kept);
    assert_eq!(m["rows_suppressed"], suppressed);
    assert_eq!(m["rows"], rows_all.len() as u64 - suppressed);
    assert_eq!(m["combinations_below_k"], small.len() as u64);
    let rows_kept = quasi(&kept);
    assert_eq!(rows_kept.len() as u64, rows_all.len() as u64 - suppressed);
    assert!(rows_kept.iter().all(|q| !small.contains_key(q)));
    assert_eq!(manifest(&all)["rows_suppressed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefecture_downloads_the_extract_as_a_zip_with_the_configured_project_key() {
    let config_dir = tempfile::tempdir().unwrap();
    let key = key_file(config_dir.path(), "project.key", 1, 32);
    let config = config_dir.path().join("lrs.toml");
    std::fs::write(
        &config,
        format!(
            "[[extract.projects]]\nname = \"study-1\"\nkey_file = {:?}\n",
            key.display().to_string()
        ),
    )
    .unwrap();
    let (mut lrs, sent) = loaded(Some(&config)).await;
    let (pref_key, pref_secret) = common::roster::credential(
        &lrs.data_dir(),
        &["--all-tenants", "--scopes", "aggregates"],
    );
    let query = format!("/extracts?tenant=board-a&project=study-1&since={SINCE}&until={UNTIL}");
    // The board's own credential (scope all) is not the prefecture.
    let (key_b, secret_b) = (lrs.key.clone(), lrs.secret.clone());
    let (status, body) = lrs.api_get_as(&query, &key_b, &secret_b).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = lrs
        .api_get_as(
            "/extracts?tenant=board-a&project=nope&since=2026-10-01&until=2026-10-31",
            &pref_key,
            &pref_secret,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");
    let (status, body) = lrs
        .api_get_as(
            "/extracts?tenant=board-a&project=study-1&since=2026-10-01&until=2026-10-31&time=minute",
            &pref_key,
            &pref_secret,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    for bad in [
        "tenant=no%20such%20tenant&project=study-1&since=2026-10-01&until=2026-10-31",
        "tenant=board-a&project=study-1&since=2026-10-01&until=2026-09-30",
        "tenant=board-a&project=study-1&since=2026-10-01",
        "tenant=board-a&project=study-1&since=2026-10-01&until=2026-10-31&k=0",
        "tenant=board-a&project=study-1&since=2026-10-01&until=2026-10-31&include=name",
        "tenant=board-a&project=study-1&since=2026-10-01&until=2026-10-31&key=abc",
    ] {
        let (status, body) = lrs
            .api_get_as(&format!("/extracts?{bad}"), &pref_key, &pref_secret)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["rule"].as_str().unwrap().starts_with("LRS extracts"),
            "{body}"
        );
    }

    let response = lrs
        .api_as(reqwest::Method::GET, &query, &pref_key, &pref_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip_bytes = response.bytes().await.unwrap();
    let unzipped = tempfile::tempdir().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert!(!contains(&bytes, MARKER), "{name} holds the marker");
        std::fs::write(unzipped.path().join(&name), bytes).unwrap();
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "k_anonymity.csv",
            "manifest.json",
            "statements.csv",
            "statements.parquet"
        ]
    );
    assert!(lrs.terminate().success());

    // The same rows as the CLI with the same key.
    let cli = config_dir.path().join("cli");
    extract_ok(&lrs.data_dir(), &key, &cli, &[]);
    assert_eq!(
        std::fs::read(cli.join("statements.csv")).unwrap(),
        std::fs::read(unzipped.path().join("statements.csv")).unwrap()
    );
    let Some(python) = venv_python() else { return };
    let counts = counts_of_duckdb(duckdb(
        &python,
        &unzipped.path().join("statements.parquet"),
        PER_SCHOOL_SUBJECT,
    ));
    assert_eq!(counts, counts_of_oracle(&sent));
}

/// The same extract from the PostgreSQL store, read while the server runs (`LRS_TEST_POSTGRES`,
/// see `ci/postgres.sh`; skipped without it, except under `CI`).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extract_from_the_postgresql_store_counts_what_the_statements_say() {
    let Some(connection) = std::env::var("LRS_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "LRS_TEST_POSTGRES must be set under CI"
        );
        eprintln!("skipped: set LRS_TEST_POSTGRES to a PostgreSQL connection string");
        return;
    };
    let uri = common::postgres::fresh_schema(&connection, "extract").await;
    let work = tempfile::tempdir().unwrap();
    let key = key_file(work.path(), "project.key", 5, 32);
    let config = work.path().join("lrs.toml");
    std::fs::write(
        &config,
        format!(
            "[[extract.projects]]\nname = \"p\"\nkey_file = {:?}\n",
            key.display().to_string()
        ),
    )
    .unwrap();
    let (lrs, sent) = loaded_with_env(Some(&config), &[("LRS__STORAGE__URI", uri.as_str())]).await;
    let out = work.path().join("out");
    let output = extract_command(&lrs.data_dir(), &key, &out, &[])
        .env("LRS__STORAGE__URI", &uri)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (since, until) = october();
    let all = oracle(&roster_v2(), &sent, &[], since, until, &[]);
    let total = all.values().next().unwrap()["statements"].as_u64().unwrap();
    assert_eq!(manifest(&out)["rows"], total);
    // Over HTTP, from the same store: the same rows.
    let (pref_key, pref_secret) = common::roster::credential(
        &lrs.data_dir(),
        &["--all-tenants", "--scopes", "aggregates"],
    );
    let query = format!("/extracts?tenant=board-a&project=p&since={SINCE}&until={UNTIL}");
    let response = lrs
        .api_as(reqwest::Method::GET, &query, &pref_key, &pref_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let zip_bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let mut csv = Vec::new();
    archive
        .by_name("statements.csv")
        .unwrap()
        .read_to_end(&mut csv)
        .unwrap();
    assert_eq!(csv, std::fs::read(out.join("statements.csv")).unwrap());
    let Some(python) = venv_python() else { return };
    let counts = counts_of_duckdb(duckdb(
        &python,
        &out.join("statements.parquet"),
        PER_SCHOOL_SUBJECT,
    ));
    assert_eq!(counts, counts_of_oracle(&sent));
}
