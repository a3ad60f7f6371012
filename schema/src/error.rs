//! The one error type of this crate: a statement or a parameter broke a named xAPI rule at a JSON path.

use std::fmt;

use crate::path::JsonPath;

/// A validation failure.
///
/// `rule` names the spec rule (for example
/// `"xAPI 1.0.3 Data §2.4.2.1: an Agent MUST have exactly one inverse functional identifier"`),
/// `path` is a JSON path such as `$[3].actor.mbox`, or `?agent` for a query parameter, and
/// `message` says what was found. Every validation failure is a `400 Bad Request` for the API.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidationError {
    rule: &'static str,
    path: String,
    message: String,
}

impl ValidationError {
    pub(crate) fn new(rule: &'static str, path: &JsonPath<'_>, message: impl Into<String>) -> Self {
        ValidationError {
            rule,
            path: path.render(),
            message: message.into(),
        }
    }

    /// An error whose path is a fixed string (`"$"`, `"?agent"`, or a header name).
    pub fn at_str(rule: &'static str, path: &str, message: impl Into<String>) -> Self {
        ValidationError {
            rule,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The spec rule that was broken, with its section.
    pub fn rule(&self) -> &str {
        self.rule
    }

    /// Where: a JSON path (`$[3].actor.mbox`) or a query parameter (`?agent`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What was found, in a few words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} ({})", self.message, self.path, self.rule)
    }
}

impl fmt::Debug for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidationError")
            .field("rule", &self.rule)
            .field("path", &self.path)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for ValidationError {}
