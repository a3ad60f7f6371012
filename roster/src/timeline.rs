//! A learner's attribution over all days, as runs of days with the same attribution, and the
//! days on which two timelines differ: what a roster import re-attributes.

use crate::attribution::Attribution;
use crate::day::{Day, DayRange};
use crate::state::{RosterState, UserKey};

/// A run of days with one attribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub days: DayRange,
    pub attribution: Attribution,
}

/// A learner's attribution for every day from [`Day::MIN`] to [`Day::MAX`]: contiguous segments,
/// neighbours always different. Ingest can keep one per active learner and look days up in it
/// instead of reading enrollments per statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    segments: Vec<Segment>,
}

impl Timeline {
    /// The timeline of an actor the roster does not know: no class, school or grade, ever.
    pub fn unknown() -> Timeline {
        Timeline {
            segments: vec![Segment {
                days: DayRange::ALL,
                attribution: Attribution::default(),
            }],
        }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The attribution on `day`.
    pub fn at(&self, day: Day) -> &Attribution {
        let index = self
            .segments
            .partition_point(|segment| segment.days.end <= day)
            .min(self.segments.len() - 1);
        &self.segments[index].attribution
    }

    /// The days on which `after` attributes differently from `self`, as sorted, disjoint,
    /// non-adjacent ranges. These are exactly the days whose aggregates an import must redo for
    /// this learner.
    pub fn changed_days(&self, after: &Timeline) -> Vec<DayRange> {
        let mut changed: Vec<DayRange> = Vec::new();
        let (mut i, mut j) = (0, 0);
        let mut day = Day::MIN;
        while i < self.segments.len() && j < after.segments.len() {
            let (left, right) = (&self.segments[i], &after.segments[j]);
            let end = left.days.end.min(right.days.end);
            if left.attribution != right.attribution && day < end {
                match changed.last_mut() {
                    Some(last) if last.end == day => last.end = end,
                    _ => changed.push(DayRange::new(day, end)),
                }
            }
            day = end;
            if left.days.end == end {
                i += 1;
            }
            if right.days.end == end {
                j += 1;
            }
        }
        changed
    }
}

impl RosterState {
    /// `user`'s attribution on every day, from the latest knowledge of the roster.
    pub fn timeline(&self, user: UserKey) -> Timeline {
        let breakpoints = self.breakpoints(user);
        let mut segments: Vec<Segment> = Vec::with_capacity(breakpoints.len());
        for (n, &start) in breakpoints.iter().enumerate() {
            let end = breakpoints.get(n + 1).copied().unwrap_or(Day::MAX);
            let attribution = self.attribute(user, start);
            match segments.last_mut() {
                Some(last) if last.attribution == attribution => last.days.end = end,
                _ => segments.push(Segment {
                    days: DayRange::new(start, end),
                    attribution,
                }),
            }
        }
        Timeline { segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ClassKey;

    fn day(n: i32) -> Day {
        Day::parse("2026-04-01").unwrap().add_days(n)
    }

    fn timeline(cuts: &[(i32, Option<u32>)]) -> Timeline {
        // Segments start at MIN, then at each cut; the attribution is a class key or nothing.
        let mut starts: Vec<Day> = vec![Day::MIN];
        starts.extend(cuts.iter().skip(1).map(|&(d, _)| day(d)));
        let segments = cuts
            .iter()
            .enumerate()
            .map(|(n, &(_, class))| Segment {
                days: DayRange::new(starts[n], starts.get(n + 1).copied().unwrap_or(Day::MAX)),
                attribution: Attribution {
                    classes: class.map(ClassKey).into_iter().collect(),
                    ..Attribution::default()
                },
            })
            .collect();
        Timeline { segments }
    }

    #[test]
    fn identical_timelines_change_nothing() {
        let t = timeline(&[(0, None), (0, Some(1)), (10, None)]);
        assert!(t.changed_days(&t).is_empty());
    }

    #[test]
    fn a_transfer_changes_the_days_from_the_transfer_on() {
        let before = timeline(&[(0, None), (0, Some(1)), (30, None)]);
        let after = timeline(&[(0, None), (0, Some(1)), (10, Some(2)), (30, None)]);
        assert_eq!(
            before.changed_days(&after),
            vec![DayRange::new(day(10), day(30))]
        );
        assert_eq!(after.at(day(9)).classes(), &[ClassKey(1)]);
        assert_eq!(after.at(day(10)).classes(), &[ClassKey(2)]);
        assert_eq!(after.at(Day::MIN).classes(), &[]);
        assert_eq!(after.at(Day::MAX).classes(), &[]);
    }

    #[test]
    fn adjacent_changes_merge_into_one_range() {
        let before = timeline(&[(0, None), (0, Some(1)), (5, Some(2)), (10, None)]);
        let after = timeline(&[(0, None), (0, Some(3)), (10, None)]);
        assert_eq!(
            before.changed_days(&after),
            vec![DayRange::new(day(0), day(10))]
        );
    }

    #[test]
    fn an_unknown_learner_becoming_known_changes_only_their_enrolled_days() {
        let after = timeline(&[(0, None), (0, Some(1)), (10, None)]);
        assert_eq!(
            Timeline::unknown().changed_days(&after),
            vec![DayRange::new(day(0), day(10))]
        );
    }
}
