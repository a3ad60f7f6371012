//! A statement nested as the Object of another.

use crate::body::StatementBody;
use crate::error::ValidationError;
use crate::json::{Fields, JsonNode};
use crate::path::JsonPath;
use crate::version::XapiVersion;

const FORBIDDEN_RULE: &str = "xAPI 1.0.3 Data §2.4.4.3.s8.b3: a SubStatement MUST NOT have the \"id\", \"stored\", \"version\" or \"authority\" properties";
const KEYS: [&str; 12] = [
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
    "id",
    "stored",
    "version",
    "authority",
];

/// A SubStatement (xAPI 1.0.3 Data §2.4.4.3.s6): a statement without id, stored, version or
/// authority, whose own Object cannot be a SubStatement.
#[derive(Clone, Debug, PartialEq)]
pub struct SubStatement {
    body: StatementBody,
}

impl SubStatement {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        version: XapiVersion,
        path: &JsonPath<'_>,
    ) -> Result<SubStatement, ValidationError> {
        let fields = Fields::new(value, "a SubStatement", &KEYS, path)?;
        for key in ["id", "stored", "version", "authority"] {
            if fields.has(key) {
                return Err(ValidationError::new(
                    FORBIDDEN_RULE,
                    &path.key(key),
                    format!("a SubStatement has \"{key}\""),
                ));
            }
        }
        Ok(SubStatement {
            body: StatementBody::parse(&fields, version, true)?,
        })
    }

    pub fn body(&self) -> &StatementBody {
        &self.body
    }
}
