//! Real xAPI client libraries, unchanged, against the real `lrs serve`: `@xapi/xapi` (both
//! versions), TinCanJS and TinCanPython each post a batch, query following `more`, read by id,
//! void, and round-trip a state document. The scripts live in `lrs/tests/clients/`; `.ci/run`
//! installs their packages from npm and PyPI (`npm ci`, a venv with `requirements.txt`).
//!
//! Without the packages installed the tests say so and pass, except under `CI`, where a missing
//! library is a failure: CI must never silently skip them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestLrs;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The interpreter and script to run, or `None` (after saying why) when not installed here.
fn runner(program: &str, installed: &Path, what: &str) -> Option<PathBuf> {
    if installed.exists() {
        return Some(PathBuf::from(program));
    }
    let message = format!(
        "{what} not installed ({} missing); .ci/run installs it",
        installed.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    None
}

fn run_client(lrs: &TestLrs, program: &Path, script: &str, version: &str) {
    let output = Command::new(program)
        .arg(clients_dir().join(script))
        .current_dir(clients_dir())
        .env("LRS_ENDPOINT", &lrs.endpoint)
        .env("LRS_KEY", &lrs.key)
        .env("LRS_SECRET", &lrs.secret)
        .env("LRS_XAPI_VERSION", version)
        .output()
        .unwrap_or_else(|err| panic!("running {} {script}: {err}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} ({version}) failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(": ok"),
        "{script} did not report ok: {stdout}"
    );
    eprintln!("{}", stdout.trim());
}

fn node() -> Option<PathBuf> {
    runner(
        "node",
        &clients_dir().join("node_modules/@xapi/xapi"),
        "npm packages of lrs/tests/clients",
    )
}

#[test]
fn the_xapi_js_library_posts_pages_voids_and_keeps_state_in_xapi_2_0_0() {
    let Some(node) = node() else { return };
    run_client(&TestLrs::start(), &node, "xapi_js.mjs", "2.0.0");
}

#[test]
fn the_xapi_js_library_posts_pages_voids_and_keeps_state_in_xapi_1_0_3() {
    let Some(node) = node() else { return };
    run_client(&TestLrs::start(), &node, "xapi_js.mjs", "1.0.3");
}

#[test]
fn tincanjs_saves_queries_voids_and_keeps_state() {
    let Some(node) = node() else { return };
    run_client(&TestLrs::start(), &node, "tincan_js.cjs", "1.0.2");
}

#[test]
fn tincan_python_saves_queries_voids_and_keeps_state() {
    let python = clients_dir().join(".venv/bin/python");
    let Some(_) = runner(
        "python",
        &python,
        "TinCanPython (venv lrs/tests/clients/.venv)",
    ) else {
        return;
    };
    run_client(&TestLrs::start(), &python, "tincan_py.py", "1.0.3");
}
