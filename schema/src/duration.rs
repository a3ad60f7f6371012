//! ISO 8601 durations.

use crate::error::ValidationError;
use crate::path::JsonPath;

const DURATION_RULE: &str = "xAPI 1.0.3 Data §4.6.s1.b1: a Duration MUST be expressed using the format for Duration in ISO 8601:2004(E) section 4.4.3.2";

/// A duration in the ISO 8601 §4.4.3.2 format: `PnYnMnDTnHnMnS` or `PnW`. The alternative
/// format (`P0003-02-01T…`, §4.4.3.3) is rejected, as xAPI 1.0.3 Data §4.6.s1.b1 requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duration(String);

impl Duration {
    pub(crate) fn parse_at(value: &str, path: &JsonPath<'_>) -> Result<Duration, ValidationError> {
        if is_well_formed(value) {
            Ok(Duration(value.to_owned()))
        } else {
            Err(ValidationError::new(
                DURATION_RULE,
                path,
                format!("\"{value}\" is not an ISO 8601 duration"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The length in seconds, for study-log learning time. ISO 8601 durations with calendar
    /// units have no fixed length; here a year is 365 days, a month 30 days and a week 7 days
    /// (learning durations are seconds to hours, so these never matter in practice).
    pub fn seconds(&self) -> f64 {
        let body = self
            .0
            .strip_prefix('P')
            .unwrap_or(&self.0)
            .replace(',', ".");
        let mut total = 0.0;
        let mut in_time = false;
        let mut number = String::new();
        for c in body.chars() {
            match c {
                'T' => in_time = true,
                '0'..='9' | '.' => number.push(c),
                designator => {
                    let value: f64 = number.parse().unwrap_or(0.0);
                    number.clear();
                    total += value
                        * match (designator, in_time) {
                            ('Y', false) => 365.0 * 86_400.0,
                            ('M', false) => 30.0 * 86_400.0,
                            ('W', false) => 7.0 * 86_400.0,
                            ('D', false) => 86_400.0,
                            ('H', true) => 3_600.0,
                            ('M', true) => 60.0,
                            ('S', true) => 1.0,
                            _ => 0.0,
                        };
                }
            }
        }
        total
    }
}

/// The form of a duration used for statement comparison.
///
/// xAPI 1.0.3 Data §2.3.1.b8: a duration is compared as a string, without converting units;
/// §4.6.s1.b5 (2.0: MUST): precision beyond 0.01 second is not included in the comparison. So
/// the fraction of the seconds is cut to two digits and trailing zeros dropped; `,` becomes `.`.
pub(crate) fn comparison_key(value: &str) -> String {
    let value = value.replace(',', ".");
    let Some(body) = value.strip_suffix('S') else {
        return value;
    };
    let Some(dot) = body.rfind('.') else {
        return value;
    };
    let (whole, fraction) = (&body[..dot], &body[dot + 1..]);
    let fraction = fraction[..fraction.len().min(2)].trim_end_matches('0');
    if fraction.is_empty() {
        format!("{whole}S")
    } else {
        format!("{whole}.{fraction}S")
    }
}

/// ISO 8601:2004 §4.4.3.2; a decimal fraction is allowed on the lowest-order component only.
pub(crate) fn is_well_formed(value: &str) -> bool {
    let Some(body) = value.strip_prefix('P') else {
        return false;
    };
    let bytes = body.as_bytes();
    // Designator order ranks: Y M D | H M S; the week form stands alone.
    let mut rank = 0u8;
    let mut in_time = false;
    let mut components = 0;
    let mut time_components = 0;
    let mut fraction_seen = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'T' {
            if in_time {
                return false;
            }
            in_time = true;
            i += 1;
            continue;
        }
        if fraction_seen {
            return false;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < bytes.len() && matches!(bytes[i], b'.' | b',') {
            i += 1;
            let fraction_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == fraction_start {
                return false;
            }
            fraction_seen = true;
        }
        let Some(&designator) = bytes.get(i) else {
            return false;
        };
        i += 1;
        let next_rank = match (in_time, designator) {
            (false, b'W') => {
                return components == 0 && i == bytes.len();
            }
            (false, b'Y') => 1,
            (false, b'M') => 2,
            (false, b'D') => 3,
            (true, b'H') => 4,
            (true, b'M') => 5,
            (true, b'S') => 6,
            _ => return false,
        };
        if next_rank <= rank {
            return false;
        }
        rank = next_rank;
        components += 1;
        if in_time {
            time_components += 1;
        }
    }
    components > 0 && (!in_time || time_components > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_8601_durations_are_accepted() {
        for ok in [
            "PT38S",
            "P1Y2M3DT4H5M6S",
            "PT0.5S",
            "P3W",
            "P1D",
            "PT1H30M",
            "P0D",
            "PT1,5S",
            "P1.5Y",
        ] {
            assert!(is_well_formed(ok), "{ok}");
        }
    }

    #[test]
    fn malformed_and_alternative_format_durations_are_rejected() {
        for bad in [
            "",
            "P",
            "PT",
            "38S",
            "PT38",
            "P1H",
            "PT1D",
            "P1M1Y",
            "P1W2D",
            "P0003-02-01T04:05:06",
            "PT1.5M3S",
            "PT.5S",
            "pt1s",
            "P1DT",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn a_duration_has_a_length_in_seconds() {
        for (text, seconds) in [
            ("PT38S", 38.0),
            ("PT1H30M", 5_400.0),
            ("PT1,5S", 1.5),
            ("P1DT2H", 93_600.0),
            ("P1W", 604_800.0),
            ("PT0.25S", 0.25),
        ] {
            assert_eq!(Duration(text.into()).seconds(), seconds, "{text}");
        }
    }

    #[test]
    fn durations_compare_to_the_hundredth_of_a_second() {
        assert_eq!(comparison_key("PT1.2345S"), comparison_key("PT1.23S"));
        assert_eq!(comparison_key("PT1.20S"), comparison_key("PT1.2S"));
        assert_eq!(comparison_key("PT1.00S"), "PT1S");
        assert_ne!(comparison_key("PT60S"), comparison_key("PT1M"));
    }
}
