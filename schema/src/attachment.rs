//! Attachment metadata in a statement (structure only; the raw parts travel elsewhere).

use crate::error::ValidationError;
use crate::iri::Iri;
use crate::json::{Fields, JsonNode, Kind, as_str, wrong_type};
use crate::language::LanguageMap;
use crate::path::JsonPath;

const ATTACHMENT_RULE: &str = "xAPI 1.0.3 Data §2.4.11: an Attachment MUST have usageType, display, contentType, length and sha2";
const LENGTH_RULE: &str =
    "xAPI 1.0.3 Data §2.4.11: an Attachment \"length\" MUST be an integer (the length in octets)";
const KEYS: [&str; 7] = [
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
];

/// One attachment's metadata (xAPI 1.0.3 Data §2.4.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    usage_type: Iri,
    display: LanguageMap,
    description: Option<LanguageMap>,
    content_type: String,
    length: u64,
    sha2: String,
    file_url: Option<Iri>,
}

impl Attachment {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Attachment, ValidationError> {
        let fields = Fields::new(value, "an Attachment", &KEYS, path)?;
        let usage_path = path.key("usageType");
        let usage_type = Iri::parse_at(
            as_str(fields.require("usageType", ATTACHMENT_RULE)?, &usage_path)?,
            &usage_path,
        )?;
        let display = LanguageMap::parse(
            fields.require("display", ATTACHMENT_RULE)?,
            &path.key("display"),
        )?;
        let description = fields
            .get("description")?
            .map(|v| LanguageMap::parse(v, &path.key("description")))
            .transpose()?;
        let content_type = as_str(
            fields.require("contentType", ATTACHMENT_RULE)?,
            &path.key("contentType"),
        )?;
        let length_value = fields.require("length", ATTACHMENT_RULE)?;
        let length_path = path.key("length");
        let length = match length_value.kind() {
            Kind::Number => length_value.as_u64().ok_or_else(|| {
                ValidationError::new(
                    LENGTH_RULE,
                    &length_path,
                    format!(
                        "length {} is not a non-negative integer",
                        length_value.to_value()
                    ),
                )
            })?,
            _ => return Err(wrong_type(length_value, "an integer", &length_path)),
        };
        let sha2 = as_str(fields.require("sha2", ATTACHMENT_RULE)?, &path.key("sha2"))?;
        let file_url = fields
            .opt_str("fileUrl")?
            .map(|v| Iri::parse_at(v, &path.key("fileUrl")))
            .transpose()?;
        Ok(Attachment {
            usage_type,
            display,
            description,
            content_type: content_type.to_owned(),
            length,
            sha2: sha2.to_owned(),
            file_url,
        })
    }

    pub fn usage_type(&self) -> &Iri {
        &self.usage_type
    }

    pub fn display(&self) -> &LanguageMap {
        &self.display
    }

    pub fn description(&self) -> Option<&LanguageMap> {
        self.description.as_ref()
    }

    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    pub fn length(&self) -> u64 {
        self.length
    }

    pub fn sha2(&self) -> &str {
        &self.sha2
    }

    pub fn file_url(&self) -> Option<&Iri> {
        self.file_url.as_ref()
    }
}
