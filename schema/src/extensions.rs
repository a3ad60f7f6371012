//! Extensions: IRI-keyed maps of arbitrary JSON.

use serde_json::Value;

use crate::error::ValidationError;
use crate::iri::Iri;
use crate::json::{JsonNode, as_object};
use crate::path::JsonPath;

/// An extensions map (xAPI 1.0.3 Data §4.1). Keys MUST be IRIs (§4.1.s3.b1); the values are any
/// JSON, `null` included, and the LRS MUST NOT reject a statement for them (§4.1.s3.b2).
#[derive(Clone, Debug, PartialEq)]
pub struct Extensions(Vec<(Iri, Value)>);

impl Extensions {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Extensions, ValidationError> {
        let map = as_object(value, "an extensions", path)?;
        let mut entries = Vec::with_capacity(map.len());
        for (key, item) in map {
            entries.push((Iri::parse_at(key, &path.key(key))?, item.to_value()));
        }
        Ok(Extensions(entries))
    }

    pub fn get(&self, iri: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == iri)
            .map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Iri, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}
