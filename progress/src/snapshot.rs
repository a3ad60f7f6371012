//! What readers know of ingest's progress, and how a polled snapshot becomes a
//! Consistent-Through (see `visibility.rs` and ARCHITECTURE.md, "The distributed deployment").

use lrs_log::PartitionId;
use lrs_store::{Micros, Watermark};

/// How far ingest has applied the log, as last learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Sum over partitions of the next offset to apply.
    pub(crate) next_offset: u64,
    pub(crate) stored: Micros,
    /// Polled mode only: the snapshot behind these numbers.
    pub(crate) snapshot: Option<Snapshot>,
}

/// One reading of the log's end offsets followed by the store's watermarks (polled mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// When the end offsets were read.
    pub(crate) taken_at: Micros,
    /// Per partition: (next offset ingest will apply, the log's end offset at `taken_at`).
    pub(crate) partitions: Vec<(PartitionId, u64, u64)>,
    /// The Consistent-Through this snapshot proves (already lowered by the margin).
    pub(crate) through: Micros,
}

impl Snapshot {
    pub(crate) fn lag_records(&self) -> u64 {
        self.partitions
            .iter()
            .map(|(_, applied, end)| end.saturating_sub(*applied))
            .sum()
    }

    /// Whether everything that was in the log when `earlier` was taken is applied now.
    pub(crate) fn covers(&self, earlier: &Snapshot) -> bool {
        earlier.partitions.iter().all(|(partition, _, end)| {
            self.partitions
                .iter()
                .any(|(p, applied, _)| p == partition && applied >= end)
        })
    }
}

impl Applied {
    /// A snapshot: the log's end offsets read at `taken_at`, then the store's watermarks. A
    /// partition whose watermark reached its end proves everything stamped before `taken_at`; a
    /// lagging one only up to its last applied `stored`. The minimum, lowered by `margin`, is the
    /// Consistent-Through the snapshot proves.
    pub(crate) fn from_snapshot(
        taken_at: Micros,
        ends: &[(PartitionId, u64)],
        marks: &[Watermark],
        margin: Micros,
    ) -> Applied {
        let mut partitions = Vec::with_capacity(ends.len());
        let mut bound = taken_at;
        let mut stored = 0;
        for &(partition, end) in ends {
            let mark = marks.iter().find(|m| m.partition == partition);
            let applied = mark.map_or(0, |m| m.next_offset);
            let mark_stored = mark.map_or(0, |m| m.stored);
            stored = stored.max(mark_stored);
            if applied < end {
                bound = bound.min(mark_stored);
            }
            partitions.push((partition, applied, end));
        }
        Applied {
            next_offset: partitions.iter().map(|(_, applied, _)| applied).sum(),
            stored,
            snapshot: Some(Snapshot {
                taken_at,
                partitions,
                through: bound.saturating_sub(margin).max(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(partition: PartitionId, next_offset: u64, stored: Micros) -> Watermark {
        Watermark {
            partition,
            next_offset,
            stored,
        }
    }

    #[test]
    fn a_fully_applied_log_proves_the_read_time_less_the_margin() {
        let applied = Applied::from_snapshot(
            1_000_000,
            &[(0, 10), (1, 4)],
            &[mark(0, 10, 900_000), mark(1, 4, 950_000)],
            100,
        );
        let snapshot = applied.snapshot.unwrap();
        assert_eq!(snapshot.through, 999_900);
        assert_eq!(snapshot.lag_records(), 0);
        assert_eq!(applied.next_offset, 14);
    }

    #[test]
    fn a_lagging_partition_holds_consistent_through_at_its_last_applied_stored() {
        let applied = Applied::from_snapshot(
            1_000_000,
            &[(0, 10), (1, 9), (2, 0)],
            &[mark(0, 10, 900_000), mark(1, 4, 700_000)],
            100,
        );
        let snapshot = applied.snapshot.unwrap();
        assert_eq!(snapshot.through, 699_900, "partition 1 lags");
        assert_eq!(snapshot.lag_records(), 5);
    }

    #[test]
    fn a_partition_ingest_never_applied_proves_nothing() {
        let applied = Applied::from_snapshot(1_000_000, &[(0, 3)], &[], 100);
        assert_eq!(applied.snapshot.unwrap().through, 0);
    }

    #[test]
    fn a_later_snapshot_covers_an_earlier_one_once_every_end_offset_is_applied() {
        let earlier = Applied::from_snapshot(1, &[(0, 10), (1, 5)], &[mark(0, 2, 1)], 0)
            .snapshot
            .unwrap();
        let partly =
            Applied::from_snapshot(2, &[(0, 12), (1, 5)], &[mark(0, 12, 2), mark(1, 4, 2)], 0)
                .snapshot
                .unwrap();
        let fully =
            Applied::from_snapshot(3, &[(0, 12), (1, 6)], &[mark(0, 12, 3), mark(1, 5, 3)], 0)
                .snapshot
                .unwrap();
        assert!(!partly.covers(&earlier));
        assert!(fully.covers(&earlier));
    }
}
