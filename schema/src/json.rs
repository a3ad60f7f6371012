//! Typed access to JSON objects with the xAPI rules on property names, nulls and types.
//!
//! The model parses from any [`JsonNode`]: a `serde_json::Value` (today's path, the one whose
//! errors clients see) or a node of a simd-json tape borrowed from the request body
//! ([`crate::borrowed`], the fast path). Every rule is written once, over the trait, so both
//! trees are held to exactly the same checks.

use serde_json::Value;

use crate::error::ValidationError;
use crate::path::JsonPath;

pub(crate) const NULL_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b1: the LRS MUST reject Statements with any null values (except inside extensions)";
pub(crate) const TYPE_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b2: the LRS MUST reject Statements where the wrong data type is used";
pub(crate) const PROPERTY_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b7: the LRS MUST reject Statements where a key or value is not allowed by this specification";

/// The six JSON types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// A read-only view of one JSON value, as the validators need it. Implementations must agree
/// with `serde_json::Value` on every answer for the same JSON text (numbers as serde_json's
/// `Number` converts them; objects without duplicate keys, see [`crate::borrowed`]).
pub(crate) trait JsonNode<'v>: Copy {
    type Items: ExactSizeIterator<Item = Self>;
    type Members: ExactSizeIterator<Item = (&'v str, Self)>;
    fn kind(self) -> Kind;
    fn as_str(self) -> Option<&'v str>;
    fn as_bool(self) -> Option<bool>;
    /// As `serde_json::Value::as_f64`: any number.
    fn as_f64(self) -> Option<f64>;
    /// As `serde_json::Value::as_u64`: a non-negative integer.
    fn as_u64(self) -> Option<u64>;
    fn items(self) -> Option<Self::Items>;
    fn members(self) -> Option<Self::Members>;
    /// A property of an object (`None` for a non-object, as `serde_json::Value::get`).
    fn get(self, key: &str) -> Option<Self>;
    /// The value as a `serde_json::Value` (extensions keep arbitrary JSON).
    fn to_value(self) -> Value;
    fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }
}

impl<'v> JsonNode<'v> for &'v Value {
    type Items = std::slice::Iter<'v, Value>;
    type Members = MapMembers<'v>;

    fn kind(self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    fn as_str(self) -> Option<&'v str> {
        Value::as_str(self)
    }

    fn as_bool(self) -> Option<bool> {
        Value::as_bool(self)
    }

    fn as_f64(self) -> Option<f64> {
        Value::as_f64(self)
    }

    fn as_u64(self) -> Option<u64> {
        Value::as_u64(self)
    }

    fn items(self) -> Option<Self::Items> {
        self.as_array().map(|a| a.iter())
    }

    fn members(self) -> Option<Self::Members> {
        self.as_object().map(|m| MapMembers(m.iter()))
    }

    fn get(self, key: &str) -> Option<Self> {
        Value::get(self, key)
    }

    fn to_value(self) -> Value {
        self.clone()
    }
}

/// The members of a `serde_json` object with `&str` keys.
pub(crate) struct MapMembers<'v>(serde_json::map::Iter<'v>);

impl<'v> Iterator for MapMembers<'v> {
    type Item = (&'v str, &'v Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_str(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for MapMembers<'_> {}

/// The JSON type name used in messages.
pub(crate) fn type_name<'v>(value: impl JsonNode<'v>) -> &'static str {
    match value.kind() {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::String => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

pub(crate) fn wrong_type<'v>(
    value: impl JsonNode<'v>,
    expected: &str,
    path: &JsonPath<'_>,
) -> ValidationError {
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
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<&'v str, ValidationError> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(value, "a string", path))
}

pub(crate) fn as_bool<'v>(
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<bool, ValidationError> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, "a boolean", path))
}

pub(crate) fn as_f64<'v>(
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<f64, ValidationError> {
    value
        .as_f64()
        .ok_or_else(|| wrong_type(value, "a number", path))
}

pub(crate) fn as_array<'v, J: JsonNode<'v>>(
    value: J,
    path: &JsonPath<'_>,
) -> Result<J::Items, ValidationError> {
    value
        .items()
        .ok_or_else(|| wrong_type(value, "an array", path))
}

pub(crate) fn as_object<'v, J: JsonNode<'v>>(
    value: J,
    what: &str,
    path: &JsonPath<'_>,
) -> Result<J::Members, ValidationError> {
    value
        .members()
        .ok_or_else(|| wrong_type(value, &format!("{what} object"), path))
}

/// The properties of one JSON object, checked against the names the spec allows there.
pub(crate) struct Fields<'v, 'p, J: JsonNode<'v> = &'v Value> {
    map: J,
    path: &'p JsonPath<'p>,
    _v: std::marker::PhantomData<&'v ()>,
}

impl<'v, 'p, J: JsonNode<'v>> Fields<'v, 'p, J> {
    /// Checks that `value` is an object whose every key is in `allowed` (xAPI 1.0.3 Data
    /// §2.2.s4.b1.b5 and b7: keys are case-sensitive and unknown keys are rejected).
    pub(crate) fn new(
        value: J,
        what: &str,
        allowed: &[&str],
        path: &'p JsonPath<'p>,
    ) -> Result<Self, ValidationError> {
        let members = as_object(value, what, path)?;
        for (key, _) in members {
            if !allowed.contains(&key) {
                return Err(ValidationError::new(
                    PROPERTY_RULE,
                    &path.key(key),
                    format!("{what} has no property \"{key}\""),
                ));
            }
        }
        Ok(Fields {
            map: value,
            path,
            _v: std::marker::PhantomData,
        })
    }

    pub(crate) fn path(&self) -> &'p JsonPath<'p> {
        self.path
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some()
    }

    /// An optional property; present-but-null is an error (xAPI 1.0.3 Data §2.2.s4.b1.b1).
    pub(crate) fn get(&self, key: &str) -> Result<Option<J>, ValidationError> {
        match self.map.get(key) {
            Some(v) if v.is_null() => Err(ValidationError::new(
                NULL_RULE,
                &self.path.key(key),
                format!("\"{key}\" is null"),
            )),
            other => Ok(other),
        }
    }

    /// A required property, missing → `rule`.
    pub(crate) fn require(&self, key: &str, rule: &'static str) -> Result<J, ValidationError> {
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
