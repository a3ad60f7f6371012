//! The xAPI versions this LRS speaks, and the `version` property of a statement.

use crate::error::ValidationError;
use crate::path::JsonPath;

const HEADER_RULE: &str = "xAPI 1.0.3 Communication §3.3 / 2.0 Communication §1.1.7 Versioning: the LRS MUST reject requests with an X-Experience-API-Version header it does not support";
const VERSION_1_RULE: &str = "xAPI 1.0.3 Data §2.4.10: an LRS MUST reject all Statements with a version specified that does not start with 1.0.";
const VERSION_2_RULE: &str = "xAPI 2.0 Data §2.4.10: an LRS MUST reject Statements whose version is not a 1.0.x or 2.0.x version";

/// The version of the specification a request is made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XapiVersion {
    /// xAPI 1.0.3, which also serves every 1.0.x header.
    V1_0_3,
    /// xAPI 2.0.0 (IEEE 9274.1.1), which also serves every 2.0.x header.
    V2_0_0,
}

impl XapiVersion {
    /// Parses the `X-Experience-API-Version` header.
    ///
    /// xAPI 1.0.3 Communication §3.3: the LRS MUST accept `1.0` as `1.0.0` and every 1.0.x patch
    /// version, and MUST reject 1.1.0 or greater. xAPI 2.0 Communication §1.1.7 says the same for
    /// `2.0` and 2.0.x. Any patch number is accepted, not only one digit.
    pub fn from_header(value: &str) -> Result<XapiVersion, ValidationError> {
        let value = value.trim();
        if value == "1.0" || patch_of(value, "1.0.").is_some() {
            Ok(XapiVersion::V1_0_3)
        } else if value == "2.0" || patch_of(value, "2.0.").is_some() {
            Ok(XapiVersion::V2_0_0)
        } else {
            Err(ValidationError::at_str(
                HEADER_RULE,
                "X-Experience-API-Version",
                format!("unsupported xAPI version \"{value}\""),
            ))
        }
    }

    /// The full version this LRS implements for the request: `"1.0.3"` or `"2.0.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.3",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }

    /// The `version` an accepted statement gets when it has none.
    ///
    /// xAPI 1.0.3 Data §2.4.10.s3.b3: "If they lack a version, the version MUST be set to 1.0.0".
    /// xAPI 2.0 Data (LRS requirements): "If they lack a version, the version MUST be set to 2.0.0".
    pub fn default_statement_version(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.0",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }
}

/// `"1.0.7"` with prefix `"1.0."` → `Some(7)`; a semver patch is digits without leading zeros.
fn patch_of(value: &str, prefix: &str) -> Option<u64> {
    let patch = value.strip_prefix(prefix)?;
    if patch.is_empty()
        || !patch.bytes().all(|b| b.is_ascii_digit())
        || (patch.len() > 1 && patch.starts_with('0'))
    {
        return None;
    }
    patch.parse().ok()
}

/// The `version` property of a statement, as accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementVersion(String);

impl StatementVersion {
    /// xAPI 1.0.3 Data §2.4.10.s3: a 1.0.3 LRS accepts versions starting with `1.0.` and rejects
    /// all others. xAPI 2.0 keeps the data model of 1.0.x statements, and a 2.0 LRS retains the
    /// version a statement was accepted with, so a 2.0 request accepts `1.0.x` and `2.0.x`.
    pub(crate) fn parse(
        value: &str,
        version: XapiVersion,
        path: &JsonPath<'_>,
    ) -> Result<StatementVersion, ValidationError> {
        // "1.0" / "2.0" (no patch) are valid too (Data §2.4.10.s2.b1: "1.0" or "1.0.x").
        let ok_1 = value == "1.0" || patch_of(value, "1.0.").is_some();
        let ok_2 = value == "2.0" || patch_of(value, "2.0.").is_some();
        match version {
            XapiVersion::V1_0_3 if ok_1 => Ok(StatementVersion(value.to_owned())),
            XapiVersion::V2_0_0 if ok_1 || ok_2 => Ok(StatementVersion(value.to_owned())),
            XapiVersion::V1_0_3 => Err(ValidationError::new(
                VERSION_1_RULE,
                path,
                format!("statement version \"{value}\" is not 1.0.x"),
            )),
            XapiVersion::V2_0_0 => Err(ValidationError::new(
                VERSION_2_RULE,
                path,
                format!("statement version \"{value}\" is not 1.0.x or 2.0.x"),
            )),
        }
    }

    /// Whether `value` would be kept as the version of a statement accepted under `version`.
    pub fn is_acceptable(value: &str, version: XapiVersion) -> bool {
        Self::parse(value, version, &JsonPath::root("$")).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
