//! The progress line on stderr: once a second on a terminal (rewritten in place), one line
//! every five seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::driver::Run;

pub struct Progress {
    terminal: bool,
    /// Seconds between lines when stderr is not a terminal.
    every: u64,
    last_acked: u64,
    last_at: Duration,
    ticks: u64,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            every: 5,
            last_acked: 0,
            last_at: Duration::ZERO,
            ticks: 0,
            quiet,
        }
    }

    pub fn warming_up(&mut self, target: &str, warmup: Duration) {
        self.last_acked = 0;
        self.last_at = Duration::ZERO;
        self.ticks = 0;
        if !self.quiet && !warmup.is_zero() {
            eprintln!("[{target}] warming up for {} s", warmup.as_secs_f64());
        }
    }

    /// One tick a second while measuring.
    pub fn tick(&mut self, run: &Run, elapsed: Duration, measured: Duration) {
        self.ticks += 1;
        if self.quiet || (!self.terminal && !self.ticks.is_multiple_of(self.every)) {
            return;
        }
        let acked = run.acked.load(Ordering::Relaxed);
        let window = (measured - self.last_at.min(measured))
            .as_secs_f64()
            .max(1e-3);
        let rate = (acked - self.last_acked.min(acked)) as f64 / window;
        self.last_acked = acked;
        self.last_at = measured;
        let (p99, reads) = {
            let stats = run.stats.lock().expect("stats");
            let p99 = if stats.write.requests() > 0 {
                stats.write.ms(0.99)
            } else {
                stats.read.ms(0.99)
            };
            (p99, stats.read.requests())
        };
        let line = format!(
            "[{}] {:>6.1} s  sent {}  acked {}  {:.0} statements/s  reads {}  errors {}  p99 {:.1} ms",
            run.target.name,
            elapsed.as_secs_f64(),
            run.sent.load(Ordering::Relaxed),
            acked,
            rate,
            reads,
            run.errors.load(Ordering::Relaxed),
            p99
        );
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(stderr, "\r\x1b[2K{line}");
            let _ = stderr.flush();
        } else {
            let _ = writeln!(stderr, "{line}");
        }
    }

    /// Ends the segment's line.
    pub fn done(&mut self) {
        if self.terminal && !self.quiet && self.ticks > 0 {
            eprintln!();
        }
    }
}
