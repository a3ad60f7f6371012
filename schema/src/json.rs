//! Typed access to JSON objects with the xAPI rules on property names, nulls and types.

use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::path::JsonPath;

pub(crate) const NULL_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b1: the LRS MUST reject Statements with any null values (except inside extensions)";
pub(crate) const TYPE_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b2: the LRS MUST reject Statements where the wrong data type is used";
pub(crate) const PROPERTY_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b7: the LRS MUST reject Statements where a key or value is not allowed by this specification";

/// The JSON type name used in messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong_type(value: &Value, expected: &str, path: &JsonPath<'_>) -> ValidationError {
    if value.is_null() {
        ValidationError::new(NULL_RULE, path, format!("expected {expected}, found null"))
    } else {
        ValidationError::new(
            TYPE_RULE,
            path,
            format!("expected {expected}, found {}", type_name(value)),
        )
    }
}

pub(crate) fn as_str<'v>(
    value: &'v Value,
    path: &JsonPath<'_>,
) -> Result<&'v str, ValidationError> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(value, "a string", path))
}

pub(crate) fn as_bool(value: &Value, path: &JsonPath<'_>) -> Result<bool, ValidationError> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, "a boolean", path))
}

pub(crate) fn as_f64(value: &Value, path: &JsonPath<'_>) -> Result<f64, ValidationError> {
    value
        .as_f64()
        .ok_or_else(|| wrong_type(value, "a number", path))
}

pub(crate) fn as_array<'v>(
    value: &'v Value,
    path: &JsonPath<'_>,
) -> Result<&'v [Value], ValidationError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| wrong_type(value, "an array", path))
}

pub(crate) fn as_object<'v>(
    value: &'v Value,
    what: &str,
    path: &JsonPath<'_>,
) -> Result<&'v Map<String, Value>, ValidationError> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(value, &format!("{what} object"), path))
}

/// The properties of one JSON object, checked against the names the spec allows there.
pub(crate) struct Fields<'v, 'p> {
    map: &'v Map<String, Value>,
    path: &'p JsonPath<'p>,
}

impl<'v, 'p> Fields<'v, 'p> {
    /// Checks that `value` is an object whose every key is in `allowed` (xAPI 1.0.3 Data
    /// §2.2.s4.b1.b5 and b7: keys are case-sensitive and unknown keys are rejected).
    pub(crate) fn new(
        value: &'v Value,
        what: &str,
        allowed: &[&str],
        path: &'p JsonPath<'p>,
    ) -> Result<Self, ValidationError> {
        let map = as_object(value, what, path)?;
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(ValidationError::new(
                    PROPERTY_RULE,
                    &path.key(key),
                    format!("{what} has no property \"{key}\""),
                ));
            }
        }
        Ok(Fields { map, path })
    }

    pub(crate) fn path(&self) -> &'p JsonPath<'p> {
        self.path
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// An optional property; present-but-null is an error (xAPI 1.0.3 Data §2.2.s4.b1.b1).
    pub(crate) fn get(&self, key: &str) -> Result<Option<&'v Value>, ValidationError> {
        match self.map.get(key) {
            Some(Value::Null) => Err(ValidationError::new(
                NULL_RULE,
                &self.path.key(key),
                format!("\"{key}\" is null"),
            )),
            other => Ok(other),
        }
    }

    /// A required property, missing → `rule`.
    pub(crate) fn require(
        &self,
        key: &str,
        rule: &'static str,
    ) -> Result<&'v Value, ValidationError> {
        self.get(key)?.ok_or_else(|| {
            ValidationError::new(
                rule,
                self.path,
                format!("missing required property \"{key}\""),
            )
        })
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'v str>, ValidationError> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => as_str(v, &self.path.key(key)).map(Some),
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, ValidationError> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => as_bool(v, &self.path.key(key)).map(Some),
        }
    }

    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>, ValidationError> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => as_f64(v, &self.path.key(key)).map(Some),
        }
    }

    /// The value of `objectType`, if any, as a string.
    pub(crate) fn object_type(&self) -> Result<Option<&'v str>, ValidationError> {
        self.opt_str("objectType")
    }
}
