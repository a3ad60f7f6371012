//! Fetches the dashboard's third-party browser code with `npm ci` (exactly the versions and
//! integrity hashes `npm/package-lock.json` pins) into `OUT_DIR`, never into the source tree, and
//! hands the files to `src/lib.rs` to embed. Without npm (or the registry) the build goes on with
//! empty files and `CHARTS = false`: the dashboard then shows its tables without charts and says
//! so. Under `CI` a failed fetch fails the build, so CI never passes without the charts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// (file under `node_modules`, name in `OUT_DIR`)
const FILES: &[(&str, &str)] = &[
    ("uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
    ("uplot/dist/uPlot.min.css", "uPlot.min.css"),
];

fn main() {
    println!("cargo:rerun-if-changed=npm/package.json");
    println!("cargo:rerun-if-changed=npm/package-lock.json");
    println!("cargo:rerun-if-env-changed=LRS_NPM");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let work = out.join("npm");
    let fetched = fetch(&manifest.join("npm"), &work);
    match &fetched {
        Ok(()) => {
            for (from, to) in FILES {
                fs::copy(work.join("node_modules").join(from), out.join(to))
                    .unwrap_or_else(|e| panic!("copying {from}: {e}"));
            }
        }
        Err(why) => {
            assert!(
                env::var_os("CI").is_none(),
                "the dashboard's chart library could not be fetched with npm: {why}"
            );
            println!(
                "cargo:warning=dashboard charts left out: {why} (install Node.js/npm and rebuild)"
            );
            for (_, to) in FILES {
                fs::write(out.join(to), b"").expect("placeholder");
            }
        }
    }
    fs::write(
        out.join("charts.rs"),
        format!("pub const CHARTS: bool = {};\n", fetched.is_ok()),
    )
    .expect("charts.rs");
}

/// `npm ci` of `source`'s package.json and lock in `work`, unless `work` already holds exactly
/// that lock's install.
fn fetch(source: &Path, work: &Path) -> Result<(), String> {
    let lock = fs::read(source.join("package-lock.json")).map_err(|e| e.to_string())?;
    let installed = work.join("node_modules/.package-lock.json");
    if fs::read(work.join("package-lock.json")).ok().as_deref() == Some(&lock[..])
        && installed.exists()
        && FILES
            .iter()
            .all(|(from, _)| work.join("node_modules").join(from).is_file())
    {
        return Ok(());
    }
    fs::create_dir_all(work).map_err(|e| e.to_string())?;
    for name in ["package.json", "package-lock.json"] {
        fs::copy(source.join(name), work.join(name)).map_err(|e| format!("{name}: {e}"))?;
    }
    let npm = env::var("LRS_NPM").unwrap_or_else(|_| "npm".to_owned());
    let status = Command::new(&npm)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(work)
        .status()
        .map_err(|e| format!("cannot run {npm}: {e}"))?;
    if !status.success() {
        return Err(format!("{npm} ci failed ({status})"));
    }
    Ok(())
}
