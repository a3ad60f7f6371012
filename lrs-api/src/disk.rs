//! The data directory's free-space reserve (`storage.min_free_bytes`): writes are refused with
//! 503 + Retry-After *before* the disk is full, so that what was acknowledged always has room to
//! be applied (the log's pending bytes, ingest's store writes, memtable flushes, compaction).
//!
//! Checking costs one `statvfs` at most every [`RECHECK_INTERVAL`] or every [`RECHECK_BYTES`]
//! of accepted request bodies, whichever comes first; in between, the last reading minus the
//! bytes accepted since is the estimate. A failed `statvfs` refuses nothing (it is logged).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{ApiError, Backpressure};

/// The longest a reading of the free space is used.
pub const RECHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Bytes of request bodies accepted after which the free space is read again.
pub const RECHECK_BYTES: u64 = 4 * 1024 * 1024;

/// The reserve of one directory's file system.
pub struct DiskReserve {
    dir: PathBuf,
    min_free_bytes: u64,
    /// [`RECHECK_INTERVAL`] (longer in tests).
    interval: Duration,
    last: Mutex<Option<Reading>>,
}

#[derive(Clone, Copy)]
struct Reading {
    at: Instant,
    free: u64,
    accepted_since: u64,
}

impl DiskReserve {
    /// Keeps `min_free_bytes` free on the file system holding `dir`.
    pub fn new(dir: impl Into<PathBuf>, min_free_bytes: u64) -> DiskReserve {
        DiskReserve {
            dir: dir.into(),
            min_free_bytes,
            interval: RECHECK_INTERVAL,
            last: Mutex::new(None),
        }
    }

    /// 503 (`disk_reserve`) when writing `incoming` more bytes would leave less than the
    /// reserve free; else counts them as accepted.
    pub fn refuse_if_low(&self, incoming: u64) -> Result<(), ApiError> {
        self.check(incoming, || free_bytes(&self.dir))
    }

    /// [`DiskReserve::refuse_if_low`] with `read` for `statvfs`.
    fn check(
        &self,
        incoming: u64,
        read: impl FnOnce() -> std::io::Result<u64>,
    ) -> Result<(), ApiError> {
        let mut last = self.last.lock();
        let stale = last
            .is_none_or(|r| r.at.elapsed() >= self.interval || r.accepted_since >= RECHECK_BYTES);
        if stale {
            match read() {
                Ok(free) => {
                    *last = Some(Reading {
                        at: Instant::now(),
                        free,
                        accepted_since: 0,
                    })
                }
                Err(err) => {
                    tracing::warn!(error = %err, dir = %self.dir.display(), "reading the free disk space failed");
                    *last = None;
                    return Ok(());
                }
            }
        }
        let Some(reading) = last.as_mut() else {
            return Ok(());
        };
        let free = reading.free.saturating_sub(reading.accepted_since);
        if free < self.min_free_bytes.saturating_add(incoming) {
            return Err(ApiError::backpressure(
                Backpressure::DiskReserve,
                "the LRS is low on disk space and is not accepting writes; retry later",
            ));
        }
        reading.accepted_since += incoming;
        Ok(())
    }
}

#[cfg(unix)]
fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &std::path::Path) -> std::io::Result<u64> {
    Err(std::io::Error::other(
        "free disk space is only read on unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_larger_than_the_disk_refuses_and_a_zero_reserve_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).unwrap();
        assert!(free > 0);
        let err = DiskReserve::new(dir.path(), u64::MAX / 2)
            .refuse_if_low(1)
            .unwrap_err();
        assert_eq!(err.kind(), crate::ApiErrorKind::Unavailable);
        let none = DiskReserve::new(dir.path(), 0);
        assert!(none.refuse_if_low(1024).is_ok());
        assert!(
            none.refuse_if_low(free.saturating_add(1)).is_err(),
            "a write larger than the free space"
        );
    }

    #[test]
    fn bytes_accepted_since_a_reading_count_against_it_until_the_next() {
        const MIB: u64 = 1 << 20;
        let hour = Duration::from_secs(3600);
        let reserve = DiskReserve {
            interval: hour,
            ..DiskReserve::new("/unused", 100 * MIB)
        };
        let disk = |free: u64| move || -> std::io::Result<u64> { Ok(free) };
        let unread = || -> std::io::Result<u64> { panic!("read within the interval and bytes") };
        // 103 MiB free: room for 3 MiB above the reserve.
        assert!(reserve.check(2 * MIB, disk(103 * MIB)).is_ok());
        assert!(reserve.check(MIB / 2, unread).is_ok(), "102 MiB - ½ left");
        assert!(reserve.check(MIB, unread).is_err(), "½ MiB left above it");
        // Past RECHECK_BYTES of accepted bodies the disk is read again.
        let reserve = DiskReserve {
            interval: hour,
            ..DiskReserve::new("/unused", 0)
        };
        assert!(
            reserve
                .check(RECHECK_BYTES, disk(10 * RECHECK_BYTES))
                .is_ok()
        );
        assert!(
            reserve.check(1, disk(0)).is_err(),
            "read again: the disk is full"
        );
    }

    #[test]
    fn a_directory_that_cannot_be_read_refuses_nothing() {
        let reserve = DiskReserve::new("/nonexistent/lrs-data", u64::MAX);
        assert!(reserve.refuse_if_low(1).is_ok());
    }
}
