//! The Verb of a statement.

use crate::error::ValidationError;
use crate::iri::Iri;
use crate::json::{Fields, JsonNode, as_str};
use crate::language::LanguageMap;
use crate::path::JsonPath;

const VERB_ID_RULE: &str = "xAPI 1.0.3 Data §2.4.3: a Verb MUST have an \"id\" that is an IRI";

/// The IRI of the verb that voids a statement (xAPI 1.0.3 Data §2.3.2).
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";

/// What the Actor did (xAPI 1.0.3 Data §2.4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verb {
    id: Iri,
    display: Option<LanguageMap>,
}

impl Verb {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Verb, ValidationError> {
        let fields = Fields::new(value, "a Verb", &["id", "display"], path)?;
        let id_path = path.key("id");
        let id = Iri::parse_at(
            as_str(fields.require("id", VERB_ID_RULE)?, &id_path)?,
            &id_path,
        )?;
        let display = match fields.get("display")? {
            Some(map) => Some(LanguageMap::parse(map, &path.key("display"))?),
            None => None,
        };
        Ok(Verb { id, display })
    }

    pub fn id(&self) -> &Iri {
        &self.id
    }

    pub fn display(&self) -> Option<&LanguageMap> {
        self.display.as_ref()
    }

    pub fn is_voiding(&self) -> bool {
        self.id.as_str() == VOIDED_VERB
    }
}
