//! The Result of a statement and its Score.

use serde_json::Value;

use crate::duration::Duration;
use crate::error::ValidationError;
use crate::extensions::Extensions;
use crate::json::{Fields, JsonNode};
use crate::path::JsonPath;

const SCALED_RULE: &str = "xAPI 1.0.3 Data §2.4.5.1: score \"scaled\" MUST be a decimal number between -1 and 1, inclusive";
const RAW_RULE: &str =
    "xAPI 1.0.3 Data §2.4.5.1: score \"raw\" MUST be between min and max (if present), inclusive";
const MIN_MAX_RULE: &str = "xAPI 1.0.3 Data §2.4.5.1: score \"min\" MUST be less than \"max\"";
const RESULT_KEYS: [&str; 6] = [
    "score",
    "success",
    "completion",
    "response",
    "duration",
    "extensions",
];

/// A measured outcome (xAPI 1.0.3 Data §2.4.5). Named `Outcome` so it never shadows `Result`.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    score: Option<Score>,
    success: Option<bool>,
    completion: Option<bool>,
    response: Option<String>,
    duration: Option<Duration>,
    extensions: Option<Extensions>,
}

impl Outcome {
    /// A stored statement's `result` on its own (research extracts read only this part of a
    /// body); errors name the path `$.result`.
    pub fn from_json(value: &Value) -> Result<Outcome, ValidationError> {
        Outcome::parse(value, &JsonPath::root("$").key("result"))
    }

    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Outcome, ValidationError> {
        let fields = Fields::new(value, "a Result", &RESULT_KEYS, path)?;
        Ok(Outcome {
            score: fields
                .get("score")?
                .map(|v| Score::parse(v, &path.key("score")))
                .transpose()?,
            success: fields.opt_bool("success")?,
            completion: fields.opt_bool("completion")?,
            response: fields.opt_str("response")?.map(str::to_owned),
            duration: fields
                .opt_str("duration")?
                .map(|v| Duration::parse_at(v, &path.key("duration")))
                .transpose()?,
            extensions: fields
                .get("extensions")?
                .map(|v| Extensions::parse(v, &path.key("extensions")))
                .transpose()?,
        })
    }

    pub fn score(&self) -> Option<&Score> {
        self.score.as_ref()
    }

    pub fn success(&self) -> Option<bool> {
        self.success
    }

    pub fn completion(&self) -> Option<bool> {
        self.completion
    }

    pub fn response(&self) -> Option<&str> {
        self.response.as_deref()
    }

    pub fn duration(&self) -> Option<&Duration> {
        self.duration.as_ref()
    }

    pub fn extensions(&self) -> Option<&Extensions> {
        self.extensions.as_ref()
    }
}

/// A score (xAPI 1.0.3 Data §2.4.5.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    scaled: Option<f64>,
    raw: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

impl Score {
    fn parse<'v>(value: impl JsonNode<'v>, path: &JsonPath<'_>) -> Result<Score, ValidationError> {
        let fields = Fields::new(value, "a Score", &["scaled", "raw", "min", "max"], path)?;
        let score = Score {
            scaled: fields.opt_f64("scaled")?,
            raw: fields.opt_f64("raw")?,
            min: fields.opt_f64("min")?,
            max: fields.opt_f64("max")?,
        };
        if let Some(scaled) = score.scaled
            && !(-1.0..=1.0).contains(&scaled)
        {
            return Err(ValidationError::new(
                SCALED_RULE,
                &path.key("scaled"),
                format!("scaled is {scaled}"),
            ));
        }
        if let (Some(min), Some(max)) = (score.min, score.max)
            && min >= max
        {
            return Err(ValidationError::new(
                MIN_MAX_RULE,
                &path.key("min"),
                format!("min {min} is not less than max {max}"),
            ));
        }
        if let Some(raw) = score.raw {
            if score.min.is_some_and(|min| raw < min) {
                return Err(ValidationError::new(
                    RAW_RULE,
                    &path.key("raw"),
                    format!("raw {raw} is below min"),
                ));
            }
            if score.max.is_some_and(|max| raw > max) {
                return Err(ValidationError::new(
                    RAW_RULE,
                    &path.key("raw"),
                    format!("raw {raw} is above max"),
                ));
            }
        }
        Ok(score)
    }

    pub fn scaled(&self) -> Option<f64> {
        self.scaled
    }

    pub fn raw(&self) -> Option<f64> {
        self.raw
    }

    pub fn min(&self) -> Option<f64> {
        self.min
    }

    pub fn max(&self) -> Option<f64> {
        self.max
    }
}
