//! A POST/PUT body: one statement or an array of them.

use serde_json::Value;

use crate::error::ValidationError;
use crate::json::type_name;
use crate::statement::Statement;
use crate::version::XapiVersion;

const JSON_RULE: &str =
    "xAPI 1.0.3 Communication §2.1.2 / RFC 8259: a Statement request body MUST be well-formed JSON";
const SHAPE_RULE: &str = "xAPI 1.0.3 Communication §2.1.2: the request body MUST be a Statement object or an array of Statements";

/// Parses a request body that is either one statement object or an array of them (an empty
/// array gives an empty vec). Each statement comes back typed, with its JSON value, which the
/// LRS stores in its exact form. Error paths are `$` for a single object and `$[i]…` in arrays.
///
/// xAPI 1.0.3 Communication §3.2.s3.b9: the whole batch is rejected if any statement is, so the
/// first error is returned.
pub fn parse_statements(
    body: &[u8],
    version: XapiVersion,
) -> Result<Vec<(Statement, Value)>, ValidationError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ValidationError::at_str(JSON_RULE, "$", format!("malformed JSON: {e}")))?;
    match value {
        Value::Object(_) => {
            let statement = Statement::from_json(&value, version, "$")?;
            Ok(vec![(statement, value)])
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let statement = Statement::from_json(&item, version, &format!("$[{i}]"))?;
                out.push((statement, item));
            }
            Ok(out)
        }
        other => Err(ValidationError::at_str(
            SHAPE_RULE,
            "$",
            format!(
                "expected a Statement object or an array, found {}",
                type_name(&other)
            ),
        )),
    }
}
