//! The deployment's calendar: which local day and hour an instant falls on.
//!
//! Decision 9: a statement counts on the calendar day of its `timestamp` in the deployment's time
//! zone (IANA name, default `Asia/Tokyo`), so `2026-10-05T23:30:00Z` counts on 2026-10-06.

use chrono::{DateTime, LocalResult, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::day::Day;

/// An IANA zone name that the compiled-in time zone database does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?} (expected an IANA name such as Asia/Tokyo)")]
pub struct UnknownTimeZone(pub String);

/// Maps instants (microseconds since the Unix epoch, as `lrs_schema` timestamps are) to local
/// days and hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    zone: Tz,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            zone: chrono_tz::Asia::Tokyo,
        }
    }
}

impl Calendar {
    /// The default zone: Japan has one time zone and no daylight saving time.
    pub const DEFAULT_ZONE: &'static str = "Asia/Tokyo";

    /// A calendar in the IANA zone `zone` (`Asia/Tokyo`, `UTC`, `Europe/Paris`…).
    pub fn new(zone: &str) -> Result<Calendar, UnknownTimeZone> {
        zone.parse::<Tz>()
            .map(|zone| Calendar { zone })
            .map_err(|_| UnknownTimeZone(zone.to_owned()))
    }

    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// The local calendar day of an instant. Instants beyond years 1–9999 clamp to
    /// [`Day::MIN`]/[`Day::MAX`].
    pub fn day_of(&self, micros: i64) -> Day {
        self.day_and_hour(micros).0
    }

    /// The local hour (0–23) of an instant.
    pub fn hour_of(&self, micros: i64) -> u8 {
        self.day_and_hour(micros).1
    }

    /// The local day and hour of an instant, in one time zone lookup.
    pub fn day_and_hour(&self, micros: i64) -> (Day, u8) {
        match DateTime::<Utc>::from_timestamp_micros(micros) {
            Some(utc) => {
                let local = utc.with_timezone(&self.zone);
                (Day::from_naive(local.date_naive()), local.hour() as u8)
            }
            None if micros < 0 => (Day::MIN, 0),
            None => (Day::MAX, 23),
        }
    }

    /// The first instant (microseconds since the epoch) of a local day: its midnight, or, in a
    /// zone whose clocks skip midnight that day, the first minute that exists.
    pub fn start_of(&self, day: Day) -> i64 {
        let date = day.to_naive();
        for minutes in (0..24 * 60).step_by(15) {
            let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("valid");
            match self.zone.from_local_datetime(&date.and_time(time)) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                    return at.timestamp_micros();
                }
                LocalResult::None => continue,
            }
        }
        // No zone skips a whole day's quarter-hours but Pacific/Apia on 2011-12-30, which has
        // no instant at all: count it from its UTC midnight.
        date.and_time(NaiveTime::MIN).and_utc().timestamp_micros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        lrs_schema::parse_timestamp(text).unwrap()
    }

    #[test]
    fn a_utc_evening_is_the_next_day_in_tokyo() {
        let calendar = Calendar::default();
        assert_eq!(calendar.zone_name(), "Asia/Tokyo");
        let at = micros("2026-10-05T23:30:00Z");
        assert_eq!(calendar.day_of(at), Day::parse("2026-10-06").unwrap());
        assert_eq!(calendar.hour_of(at), 8);
        let utc = Calendar::new("UTC").unwrap();
        assert_eq!(
            utc.day_and_hour(at),
            (Day::parse("2026-10-05").unwrap(), 23)
        );
    }

    #[test]
    fn local_midnight_is_the_start_of_the_day() {
        let calendar = Calendar::default();
        let day = Day::parse("2026-10-06").unwrap();
        assert_eq!(calendar.start_of(day), micros("2026-10-05T15:00:00Z"));
        assert_eq!(calendar.day_of(calendar.start_of(day)), day);
        assert_eq!(
            calendar.day_of(calendar.start_of(day) - 1),
            day.add_days(-1)
        );
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_the_day_at_its_first_minute() {
        // America/Santiago moved clocks from 2022-09-11 00:00 to 01:00.
        let calendar = Calendar::new("America/Santiago").unwrap();
        let day = Day::parse("2022-09-11").unwrap();
        let start = calendar.start_of(day);
        assert_eq!(calendar.day_and_hour(start), (day, 1));
        assert_eq!(calendar.day_of(start - 1), day.add_days(-1));
    }

    #[test]
    fn unknown_zones_are_refused_by_name() {
        let error = Calendar::new("Asia/Atlantis").unwrap_err();
        assert!(error.to_string().contains("Asia/Atlantis"));
    }

    #[test]
    fn instants_out_of_range_clamp() {
        let calendar = Calendar::default();
        assert_eq!(calendar.day_of(i64::MIN), Day::MIN);
        assert_eq!(calendar.day_of(i64::MAX), Day::MAX);
    }
}
