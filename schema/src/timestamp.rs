//! ISO 8601 timestamps as microseconds since the Unix epoch.

use crate::error::ValidationError;
use crate::path::JsonPath;
use crate::version::XapiVersion;

const TIMESTAMP_RULE: &str =
    "xAPI 1.0.3 Data §4.5.s1.b1: a Timestamp MUST be formatted according to ISO 8601";
const OFFSET_RULE_2_0: &str = "xAPI 2.0 Data §2.2.7 Timestamps: a Timestamp MUST be expressed using the format described in RFC 3339, which requires a time zone offset";

/// A point in time, to the microsecond, as accepted in a statement or a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// xAPI 1.0.3 Data §4.5: ISO 8601 is a MUST and the time zone only a SHOULD*, so a 1.0.3
    /// timestamp without an offset is read as UTC. xAPI 2.0 requires RFC 3339, whose
    /// `time-offset` is mandatory, so a 2.0 timestamp without one is rejected.
    pub(crate) fn parse_at(
        value: &str,
        version: XapiVersion,
        path: &JsonPath<'_>,
    ) -> Result<Timestamp, ValidationError> {
        match parse_parts(value) {
            Some((_, false)) if version == XapiVersion::V2_0_0 => Err(ValidationError::new(
                OFFSET_RULE_2_0,
                path,
                format!("timestamp \"{value}\" has no time zone offset"),
            )),
            Some((micros, _)) => Ok(Timestamp(micros)),
            None => Err(ValidationError::new(
                TIMESTAMP_RULE,
                path,
                format!("\"{value}\" is not an ISO 8601 timestamp"),
            )),
        }
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

/// Parses an xAPI timestamp into microseconds since the Unix epoch.
///
/// Accepts the ISO 8601 extended format `YYYY-MM-DDThh:mm:ss[.f…][Z|±hh:mm|±hhmm|±hh]`; digits
/// past the microsecond are truncated (xAPI 1.0.3 Data §4.5.s1.b7 allows truncation to at least
/// milliseconds). A missing offset is read as UTC (1.0.3 SHOULD*; statement validation under
/// 2.0 is stricter). `-00:00` is rejected: ISO 8601 writes a zero offset with `+`.
pub fn parse_timestamp(s: &str) -> Result<i64, ValidationError> {
    parse_parts(s).map(|(micros, _)| micros).ok_or_else(|| {
        ValidationError::at_str(
            TIMESTAMP_RULE,
            "$",
            format!("\"{s}\" is not an ISO 8601 timestamp"),
        )
    })
}

/// Formats microseconds since the epoch as RFC 3339 UTC with microseconds:
/// `2025-10-14T01:12:45.123456Z`.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000);
    let (year, month, day) = civil_from_days(days);
    let secs = in_day / 1_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        in_day % 1_000_000
    )
}

fn number(bytes: &[u8], at: usize, len: usize) -> Option<i64> {
    let digits = bytes.get(at..at + len)?;
    digits.iter().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn expect(bytes: &[u8], at: usize, byte: u8) -> Option<()> {
    (bytes.get(at) == Some(&byte)).then_some(())
}

/// Returns (micros, has offset).
fn parse_parts(s: &str) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    let year = number(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = number(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = number(b, 8, 2)?;
    expect(b, 10, b'T')?;
    let hour = number(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = number(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = number(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut at = 19;
    let mut fraction = 0i64;
    if matches!(b.get(at), Some(b'.') | Some(b',')) {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                fraction = fraction * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..6 {
            fraction *= 10;
        }
    }
    let (offset_minutes, has_offset) = match &b[at..] {
        [] => (0, false),
        [b'Z'] => (0, true),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (number(rest, 0, 2)?, 0),
                4 => (number(rest, 0, 2)?, number(rest, 2, 2)?),
                5 if rest[2] == b':' => (number(rest, 0, 2)?, number(rest, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 || (*sign == b'-' && h == 0 && m == 0) {
                return None;
            }
            let minutes = h * 60 + m;
            (if *sign == b'-' { -minutes } else { minutes }, true)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some((seconds * 1_000_000 + fraction, has_offset))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_japanese_offset_timestamp_is_the_same_instant_as_utc() {
        let jst = parse_timestamp("2025-10-14T10:12:45+09:00").unwrap();
        let utc = parse_timestamp("2025-10-14T01:12:45Z").unwrap();
        assert_eq!(jst, utc);
        assert_eq!(format_timestamp(utc), "2025-10-14T01:12:45.000000Z");
    }

    #[test]
    fn fractions_offsets_and_formats_round_trip() {
        let t = parse_timestamp("2013-05-18T05:32:34.804+00:00").unwrap();
        assert_eq!(format_timestamp(t), "2013-05-18T05:32:34.804000Z");
        let t = parse_timestamp("1969-12-31T23:59:59.9999999-0130").unwrap();
        assert_eq!(format_timestamp(t), "1970-01-01T01:29:59.999999Z");
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_timestamp("2000-02-29T00:00:00+01").unwrap(),
            951_778_800_000_000
        );
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "2025-10-14",
            "2025-10-14 10:12:45Z",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-10-14T24:00:00Z",
            "2025-10-14T10:12:45.Z",
            "2025-10-14T10:12:45-00:00",
            "2025-10-14T10:12:45+9",
            "2025-10-14T10:12Z",
            "2025-10-14T10:12:45ZZ",
            "25-10-14T10:12:45Z",
            "2025-10-14T10:12:45+09:00:00",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn xapi_2_requires_an_offset_but_1_0_3_reads_utc() {
        let path = JsonPath::root("$");
        assert!(Timestamp::parse_at("2025-10-14T10:12:45", XapiVersion::V1_0_3, &path).is_ok());
        let err =
            Timestamp::parse_at("2025-10-14T10:12:45", XapiVersion::V2_0_0, &path).unwrap_err();
        assert!(err.rule().contains("RFC 3339"));
    }
}
