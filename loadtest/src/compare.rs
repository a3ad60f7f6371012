//! `loadtest compare`: the same workload against two LRSs, alternating A, B, A, B… in rounds of
//! `--round-secs`, so drift on the machine (other load, thermal, caches) hits both alike.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::args::CompareArgs;
use crate::driver::{self, Plan, Run, Target};
use crate::post::reachable;
use crate::progress::Progress;
use crate::report;
use crate::stats::Stats;

fn ratio(b: f64, a: f64) -> f64 {
    if a > 0.0 { b / a } else { f64::NAN }
}

/// Runs `compare`, prints both reports and the ratios B/A.
pub async fn run(args: CompareArgs) -> anyhow::Result<()> {
    let workload = &args.workload;
    let targets = [
        Target::new("A", &args.a_endpoint, &args.a_key, &args.a_secret)?,
        Target::new("B", &args.b_endpoint, &args.b_key, &args.b_secret)?,
    ];
    let plan = Arc::new(Plan::new(workload)?);
    for target in &targets {
        reachable(&plan.client, target).await?;
    }
    eprintln!(
        "compare: {}, batch {}, read share {}, {} rounds of {} s per endpoint (+{} s warm-up each)",
        report::mode(workload),
        workload.batch,
        workload.read_ratio,
        args.rounds,
        args.round_secs,
        args.warmup
    );
    let mut totals = [Stats::default(), Stats::default()];
    let mut progress = Progress::new(false);
    for round in 1..=args.rounds {
        for (target, total) in targets.iter().zip(totals.iter_mut()) {
            eprintln!(
                "round {round}/{}: {} ({})",
                args.rounds, target.name, target.endpoint
            );
            let run = Arc::new(Run::new(target.clone(), &plan, false));
            let stats = driver::segment(
                plan.clone(),
                run,
                Duration::from_secs(args.warmup),
                Duration::from_secs(args.round_secs),
                &mut progress,
            )
            .await;
            total.merge(&stats);
        }
    }
    let [a, b] = &totals;
    for (target, stats) in targets.iter().zip(&totals) {
        print!(
            "{}",
            report::text(
                &format!("{} {}", target.name, target.endpoint),
                workload,
                stats
            )
        );
    }
    println!(
        "B/A: statements/s {:.2}  write p50 {:.2}  write p99 {:.2}  read pages/s {:.2}  read p99 {:.2}",
        ratio(b.statements_per_second(), a.statements_per_second()),
        ratio(b.write.ms(0.50), a.write.ms(0.50)),
        ratio(b.write.ms(0.99), a.write.ms(0.99)),
        ratio(b.read.ok as f64 / b.seconds, a.read.ok as f64 / a.seconds),
        ratio(b.read.ms(0.99), a.read.ms(0.99)),
    );
    if let Some(path) = &args.json {
        let report = json!({
            "a": report::json(&args.a_endpoint, workload, a),
            "b": report::json(&args.b_endpoint, workload, b),
            "rounds": args.rounds,
            "round_secs": args.round_secs,
            "ratio_b_over_a": {
                "statements_per_second": ratio(b.statements_per_second(), a.statements_per_second()),
                "write_p50": ratio(b.write.ms(0.50), a.write.ms(0.50)),
                "write_p99": ratio(b.write.ms(0.99), a.write.ms(0.99)),
                "read_p99": ratio(b.read.ms(0.99), a.read.ms(0.99)),
            },
        });
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
