//! Attribution by date (decision 9): which classes, schools and grade a learner counted in on a
//! given local day, from the latest knowledge of the roster.

use crate::day::{Day, DayRange};
use crate::state::{ClassKey, Enrolled, EnrollmentEntry, OrgKey, RosterState, UserKey};
use crate::table::Slot;
use crate::values::Grade;

/// Where a learner counts on one day. Empty classes and schools: not enrolled that day (the
/// statement still counts for the board, and for the learner).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attribution {
    pub(crate) classes: Vec<ClassKey>,
    pub(crate) schools: Vec<OrgKey>,
    pub(crate) grade: Option<Grade>,
}

impl Attribution {
    /// The classes, sorted by key, without repeats.
    pub fn classes(&self) -> &[ClassKey] {
        &self.classes
    }

    /// The schools of those classes, sorted by key, without repeats.
    pub fn schools(&self) -> &[OrgKey] {
        &self.schools
    }

    pub fn grade(&self) -> Option<Grade> {
        self.grade
    }

    pub fn is_enrolled(&self) -> bool {
        !self.classes.is_empty()
    }
}

/// The homeroom class that gives the grade when a learner has several on one day (a transfer
/// day): the primary enrollment, then the latest begun, then the smallest class `sourcedId`.
struct Homeroom<'a> {
    primary: bool,
    begin: Day,
    class_id: &'a str,
    grade: Option<Grade>,
}

impl Homeroom<'_> {
    fn better_than(&self, other: &Homeroom<'_>) -> bool {
        (self.primary, self.begin, std::cmp::Reverse(self.class_id))
            > (
                other.primary,
                other.begin,
                std::cmp::Reverse(other.class_id),
            )
    }
}

impl RosterState {
    /// The days an enrollment counts: `[beginDate, endDate]`, both inclusive as the Japan
    /// Profile writes school years (`2025-04-01`–`2026-03-31`), i.e. the half-open
    /// `[beginDate, endDate + 1)`. A missing date is taken from the class's terms (the earliest
    /// `startDate`, the latest `endDate`), or left open when the class has none. The range ends
    /// early on the day the enrollment, its class or its user was removed by a later import, and
    /// starts late on the day its user joined by a transfer ([`RosterState::set_transfer`]).
    pub(crate) fn enrollment_days(&self, enrollment: &Slot<EnrollmentEntry>) -> DayRange {
        let entry = &enrollment.entry;
        let class = self.classes.slot(entry.class);
        let (mut term_start, mut term_end) = (None::<Day>, None::<Day>);
        for &term in class.map_or(&[][..], |c| &c.entry.terms) {
            if let Some(session) = self.sessions.slot(term) {
                let (start, end) = (session.entry.start_date, session.entry.end_date.next());
                term_start = Some(term_start.map_or(start, |s| s.min(start)));
                term_end = Some(term_end.map_or(end, |e| e.max(end)));
            }
        }
        let start = if entry.begin == Day::MIN {
            term_start.unwrap_or(Day::MIN)
        } else {
            entry.begin
        };
        let mut end = if entry.end == Day::MAX {
            term_end.unwrap_or(Day::MAX)
        } else {
            entry.end
        };
        // Issue 14 §2: a learner who joined by a transfer counts in an enrollment running on
        // the transfer day only from that day (their imported history is the other board's).
        let start = match self.transfers.get(&entry.user) {
            Some(&transfer) if start < transfer && transfer < end => transfer,
            _ => start,
        };
        end = end.min(enrollment.removed_on);
        if let Some(class) = class {
            end = end.min(class.removed_on);
        }
        if let Some(user) = self.users.slot(entry.user) {
            end = end.min(user.removed_on);
        }
        DayRange::new(start, end)
    }

    /// Where `user` counts on `day`: the classes of their `student` enrollments valid that day,
    /// those classes' schools, and the grade of the homeroom class among them (its first
    /// grade), or else the user's first grade.
    pub fn attribute(&self, user: UserKey, day: Day) -> Attribution {
        let mut attribution = Attribution::default();
        let mut homeroom: Option<Homeroom<'_>> = None;
        for &key in self.user_enrollments(user.0) {
            let Some(enrollment) = self.enrollments.slot(key) else {
                continue;
            };
            if enrollment.entry.role != Enrolled::Student {
                continue;
            }
            let days = self.enrollment_days(enrollment);
            if !days.contains(day) {
                continue;
            }
            let class = enrollment.entry.class;
            attribution.classes.push(ClassKey(class));
            let Some(slot) = self.classes.slot(class) else {
                continue;
            };
            attribution.schools.push(OrgKey(slot.entry.school));
            if slot.entry.homeroom() {
                let candidate = Homeroom {
                    primary: enrollment.entry.primary,
                    begin: days.start,
                    class_id: self.classes.id(class),
                    grade: slot.entry.record.grades.first().copied(),
                };
                if homeroom.as_ref().is_none_or(|h| candidate.better_than(h)) {
                    homeroom = Some(candidate);
                }
            }
        }
        attribution.classes.sort_unstable();
        attribution.classes.dedup();
        attribution.schools.sort_unstable();
        attribution.schools.dedup();
        attribution.grade = homeroom
            .and_then(|h| h.grade)
            .or_else(|| self.users.slot(user.0).and_then(|u| u.entry.grade));
        attribution
    }

    /// The days on which `user`'s attribution may change: the starts and ends of their student
    /// enrollments.
    pub(crate) fn breakpoints(&self, user: UserKey) -> Vec<Day> {
        let mut days = vec![Day::MIN];
        for &key in self.user_enrollments(user.0) {
            if let Some(enrollment) = self.enrollments.slot(key)
                && enrollment.entry.role == Enrolled::Student
            {
                let range = self.enrollment_days(enrollment);
                if !range.is_empty() {
                    days.push(range.start);
                    days.push(range.end);
                }
            }
        }
        days.retain(|&day| day < Day::MAX);
        days.sort_unstable();
        days.dedup();
        days
    }
}
