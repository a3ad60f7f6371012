//! The open loop: requests at fixed intended times, `rate` per second, whatever the LRS does.
//!
//! Request `n` is due at `start + n / rate`. The dispatcher waits for that instant, then for a
//! free connection (at most `connections` requests are in flight), and sends it. Its latency is
//! measured from the intended time, not from when it could finally be sent: a closed loop (or an
//! open loop that measured from the send) would leave out exactly the waiting a real client at
//! that rate would suffer while the LRS stalls — coordinated omission. Requests that start more
//! than [`crate::stats::LATE`] after their intended time are counted as behind schedule, and
//! slots still waiting when the run ends as never sent.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Semaphore;

use crate::driver::{Plan, Run, choose, execute};

pub async fn run(plan: Arc<Plan>, run: Arc<Run>, rate: f64) {
    let connections = plan.workload.connections.max(1);
    let permits = Arc::new(Semaphore::new(connections));
    let start = tokio::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.workload.seed);
    let mut n: u64 = 0;
    while !run.stop.load(Ordering::Relaxed) {
        let intended = start + Duration::from_secs_f64(n as f64 / rate.max(1e-3));
        tokio::time::sleep_until(intended).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        if run.stop.load(Ordering::Relaxed) {
            break;
        }
        if run.measuring.load(Ordering::Relaxed) {
            run.stats
                .lock()
                .expect("stats")
                .record_lateness(intended.elapsed());
        }
        let op = choose(&plan, &run, n, &mut rng);
        let (plan, run) = (plan.clone(), run.clone());
        tokio::spawn(async move {
            execute(&plan, &run, op, intended.into_std()).await;
            drop(permit);
        });
        n += 1;
    }
    // Slots that were due before the end but never started: the backlog a stalled LRS left.
    if let Some(stopped) = run.stopped_at.get() {
        let due = (stopped
            .saturating_duration_since(start.into_std())
            .as_secs_f64()
            * rate)
            .ceil() as u64;
        run.stats.lock().expect("stats").unsent += due.saturating_sub(n);
    }
    // Wait for the requests in flight.
    let _ = permits.acquire_many(connections as u32).await;
}
