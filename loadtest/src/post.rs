//! `loadtest post`: one LRS, one measured run, optionally with the lag probe and `--verify`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::args::PostArgs;
use crate::check::{self, Window};
use crate::driver::{self, Plan, Run, Target};
use crate::progress::Progress;
use crate::report;

/// Fails unless `target` answers `GET /about`.
pub async fn reachable(client: &reqwest::Client, target: &Target) -> anyhow::Result<()> {
    let about = format!("{}/about", target.endpoint.as_str().trim_end_matches('/'));
    let answer = client
        .get(&about)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", target.endpoint))?;
    if !answer.status().is_success() {
        bail!("{about} answered {}", answer.status());
    }
    Ok(())
}

/// Runs `post`; returns whether verification passed (true without `--verify`).
pub async fn run(args: PostArgs) -> anyhow::Result<bool> {
    let workload = &args.workload;
    let target = Target::new(
        &args.target.endpoint,
        &args.target.endpoint,
        &args.target.key,
        &args.target.secret,
    )?;
    let plan = Arc::new(Plan::new(workload)?);
    let average = plan.templates.iter().map(|t| t.body.len()).sum::<usize>() / plan.templates.len();
    eprintln!(
        "loadtest: {}, batch {}, ~{average} bytes/request, read share {}, warm-up {} s, measuring {} s against {}",
        report::mode(workload),
        workload.batch,
        workload.read_ratio,
        args.warmup,
        args.duration,
        args.target.endpoint
    );
    reachable(&plan.client, &target).await?;
    let read_endpoint = args
        .read_endpoint
        .as_deref()
        .unwrap_or(&args.target.endpoint)
        .trim_end_matches('/')
        .to_owned();

    let mut run = Run::new(target.clone(), &plan, args.verify);
    run.read_credential = args.read_key.clone().zip(args.read_secret.clone());
    let run = Arc::new(run);
    let started = chrono::Utc::now();
    let probe = args.lag_probe.then(|| {
        tokio::spawn(crate::lag::run(
            crate::lag::Probe {
                client: plan.client.clone(),
                read_endpoint: read_endpoint.clone(),
                write_endpoint: args.target.endpoint.trim_end_matches('/').to_owned(),
                key: args.target.key.clone(),
                secret: args.target.secret.clone(),
                xapi_version: workload.xapi_version.clone(),
                every: Duration::from_millis(50),
            },
            run.measuring.clone(),
            run.stop.clone(),
        ))
    });
    let stats = driver::segment(
        plan.clone(),
        run.clone(),
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.duration),
        &mut Progress::new(false),
    )
    .await;

    let mut json = report::json(&args.target.endpoint, workload, &stats);
    print!("{}", report::text(&args.target.endpoint, workload, &stats));
    if let Some(task) = probe {
        let (lag, lost) = task.await?;
        let lag = json!({
            "samples": lag.len(),
            "never_seen": lost,
            "p50": lag.value_at_quantile(0.50) as f64 / 1000.0,
            "p99": lag.value_at_quantile(0.99) as f64 / 1000.0,
            "max": lag.max() as f64 / 1000.0,
        });
        println!(
            "visibility lag (acknowledged → readable): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  over {} probes ({} never seen)",
            lag["p50"].as_f64().unwrap_or_default(),
            lag["p99"].as_f64().unwrap_or_default(),
            lag["max"].as_f64().unwrap_or_default(),
            lag["samples"],
            lag["never_seen"]
        );
        json["visibility_lag_ms"] = lag;
    }

    let mut passed = true;
    if let Some(ledger) = &run.ledger {
        let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
        let reader = Target::new(
            "verify",
            &read_endpoint,
            &args.target.key,
            &args.target.secret,
        )?;
        let slack = chrono::Duration::seconds(args.verify_slack as i64);
        let window = Window {
            since: started - slack,
            until: chrono::Utc::now() + slack,
            wait: Duration::from_secs(args.verify_wait),
        };
        eprintln!(
            "verify: reading {} acknowledged ids back from {read_endpoint}",
            ledger.len()
        );
        let outcome = check::check(
            &plan.client,
            &reader,
            &workload.xapi_version,
            &ledger,
            &window,
        )
        .await;
        passed = outcome.passed();
        println!(
            "verify: {} — {} acknowledged, {} found, {} missing, {} duplicated, {} unexpected, {} unacknowledged ({} pages, {} single lookups, {} ids of other writers)",
            if passed { "PASSED" } else { "FAILED" },
            outcome.expected,
            outcome.found,
            outcome.missing,
            outcome.duplicated,
            outcome.unexpected,
            outcome.unacknowledged,
            outcome.pages,
            outcome.lookups,
            outcome.foreign
        );
        if !outcome.missing_sample.is_empty() {
            println!("verify: missing ids include {:?}", outcome.missing_sample);
        }
        json["verify"] = serde_json::to_value(&outcome)?;
        json["verify"]["passed"] = json!(passed);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(passed)
}
