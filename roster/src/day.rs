//! Calendar dates and the periods dashboards group them by: week (Monday start), month and
//! 年度 (the Japanese school and fiscal year, April 1 to March 31).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_FROM_CE: i32 = 719_163;

/// A calendar date (proleptic Gregorian, years 0001–9999), stored as days since 1970-01-01.
///
/// Written and parsed as `YYYY-MM-DD`. [`Day::MIN`] and [`Day::MAX`] double as "unbounded" in
/// [`DayRange`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// 0001-01-01.
    pub const MIN: Day = Day(1 - EPOCH_FROM_CE);
    /// 9999-12-31.
    pub const MAX: Day = Day(3_652_059 - EPOCH_FROM_CE);

    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=9999).contains(&year) {
            return None;
        }
        NaiveDate::from_ymd_opt(year, month, day).map(Day::from_naive)
    }

    /// Parses exactly `YYYY-MM-DD` (OneRoster's date format).
    pub fn parse(text: &str) -> Option<Day> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = &text[range];
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse().ok())?
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        Day::from_ymd(year, number(5..7)?, number(8..10)?)
    }

    pub(crate) fn from_naive(date: NaiveDate) -> Day {
        Day(date.num_days_from_ce() - EPOCH_FROM_CE).clamp(Day::MIN, Day::MAX)
    }

    pub fn to_naive(self) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.0 + EPOCH_FROM_CE)
            .expect("a Day is always within years 1..=9999")
    }

    /// The day `days` after 1970-01-01 (before, when negative), clamped to the years 1–9999.
    pub fn from_days_since_epoch(days: i32) -> Day {
        Day(days).clamp(Day::MIN, Day::MAX)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The day `days` later (earlier when negative), saturating at [`Day::MIN`]/[`Day::MAX`].
    pub fn add_days(self, days: i32) -> Day {
        Day(self.0.saturating_add(days)).clamp(Day::MIN, Day::MAX)
    }

    /// The next day, or [`Day::MAX`] itself.
    pub fn next(self) -> Day {
        self.add_days(1)
    }

    /// The Monday starting this day's week (ISO 8601 weeks start on Monday).
    pub fn week_start(self) -> Day {
        // 1970-01-01 was a Thursday: three days after a Monday.
        let since_monday = (self.0 + 3).rem_euclid(7);
        self.add_days(-since_monday)
    }

    pub fn month(self) -> Month {
        let date = self.to_naive();
        Month {
            year: date.year(),
            month: date.month() as u8,
        }
    }

    /// 年度: the school year this day belongs to, named by the calendar year it starts in
    /// (2026-03-31 is in 2025年度, 2026-04-01 in 2026年度).
    pub fn school_year(self) -> SchoolYear {
        let date = self.to_naive();
        SchoolYear(if date.month() >= 4 {
            date.year()
        } else {
            date.year() - 1
        })
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_naive().format("%Y-%m-%d"))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("bad date {text:?}")))
    }
}

/// A calendar month, written `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u8,
}

impl Month {
    pub fn year(self) -> i32 {
        self.year
    }

    /// 1–12.
    pub fn number(self) -> u8 {
        self.month
    }

    pub fn first_day(self) -> Day {
        Day::from_ymd(self.year, u32::from(self.month), 1).expect("a valid month")
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// 年度, named by the calendar year of its April 1 (written `2025`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchoolYear(i32);

impl SchoolYear {
    pub fn new(year: i32) -> SchoolYear {
        SchoolYear(year)
    }

    pub fn year(self) -> i32 {
        self.0
    }

    /// April 1 of the year.
    pub fn first_day(self) -> Day {
        Day::from_ymd(self.0, 4, 1).unwrap_or(if self.0 < 1 { Day::MIN } else { Day::MAX })
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The days from `start` (included) to `end` (excluded). `start == Day::MIN` means "since
/// always", `end == Day::MAX` "for ever after".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DayRange {
    pub start: Day,
    pub end: Day,
}

impl DayRange {
    pub const ALL: DayRange = DayRange {
        start: Day::MIN,
        end: Day::MAX,
    };

    pub fn new(start: Day, end: Day) -> DayRange {
        DayRange { start, end }
    }

    pub fn contains(&self, day: Day) -> bool {
        self.start <= day && day < self.end
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// The days both ranges hold (possibly empty).
    pub fn intersect(&self, other: &DayRange) -> DayRange {
        DayRange {
            start: self.start.max(other.start),
            end: self.end.min(other.end),
        }
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = Day> + use<> {
        (self.start.0..self.end.0.max(self.start.0)).map(Day)
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn days_parse_and_print_as_yyyy_mm_dd() {
        assert_eq!(day("1970-01-01").days_since_epoch(), 0);
        assert_eq!(day("2026-10-06").to_string(), "2026-10-06");
        assert_eq!(Day::MIN.to_string(), "0001-01-01");
        assert_eq!(Day::MAX.to_string(), "9999-12-31");
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "2026-1-01",
            "20260101",
            "2026-01-01T00:00:00Z",
            "0000-01-01",
            "+202-01-01",
            "２０２６-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-10-05 is a Monday.
        assert_eq!(day("2026-10-05").week_start(), day("2026-10-05"));
        assert_eq!(day("2026-10-11").week_start(), day("2026-10-05"));
        assert_eq!(day("2026-10-12").week_start(), day("2026-10-12"));
        assert_eq!(day("1970-01-01").week_start(), day("1969-12-29"));
        assert_eq!(Day::MIN.week_start(), Day::MIN);
    }

    #[test]
    fn the_school_year_starts_on_april_first() {
        assert_eq!(day("2026-03-31").school_year(), SchoolYear::new(2025));
        assert_eq!(day("2026-04-01").school_year(), SchoolYear::new(2026));
        assert_eq!(day("2027-01-15").school_year(), SchoolYear::new(2026));
        assert_eq!(SchoolYear::new(2026).first_day(), day("2026-04-01"));
        assert_eq!(day("2026-10-06").month().to_string(), "2026-10");
        assert_eq!(day("2026-10-06").month().first_day(), day("2026-10-01"));
    }

    #[test]
    fn day_ranges_are_half_open() {
        let range = DayRange::new(day("2026-04-01"), day("2026-04-03"));
        assert!(range.contains(day("2026-04-01")));
        assert!(range.contains(day("2026-04-02")));
        assert!(!range.contains(day("2026-04-03")));
        assert_eq!(range.days().count(), 2);
        assert!(DayRange::new(day("2026-04-03"), day("2026-04-01")).is_empty());
        assert_eq!(Day::MAX.next(), Day::MAX);
        assert_eq!(Day::MIN.add_days(-5), Day::MIN);
    }
}
