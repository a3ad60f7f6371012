//! Activities and their definitions.

use crate::error::ValidationError;
use crate::extensions::Extensions;
use crate::interaction::Interaction;
use crate::iri::Iri;
use crate::json::{Fields, JsonNode, as_str};
use crate::language::LanguageMap;
use crate::path::JsonPath;

const ACTIVITY_ID_RULE: &str =
    "xAPI 1.0.3 Data §2.4.4.1: an Activity MUST have an \"id\" that is an IRI";
const OBJECT_TYPE_RULE: &str =
    "xAPI 1.0.3 Data §2.4.4.1: an Activity's objectType, if present, MUST be \"Activity\"";
const DEFINITION_KEYS: [&str; 12] = [
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
];

/// Something the Actor interacted with (xAPI 1.0.3 Data §2.4.4.1).
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    id: Iri,
    definition: Option<ActivityDefinition>,
}

impl Activity {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Activity, ValidationError> {
        let fields = Fields::new(
            value,
            "an Activity",
            &["objectType", "id", "definition"],
            path,
        )?;
        match fields.object_type()? {
            None | Some("Activity") => {}
            Some(other) => {
                return Err(ValidationError::new(
                    OBJECT_TYPE_RULE,
                    &path.key("objectType"),
                    format!("expected an Activity, found objectType \"{other}\""),
                ));
            }
        }
        let id_path = path.key("id");
        let id = Iri::parse_at(
            as_str(fields.require("id", ACTIVITY_ID_RULE)?, &id_path)?,
            &id_path,
        )?;
        let definition = match fields.get("definition")? {
            Some(def) => Some(ActivityDefinition::parse(def, &path.key("definition"))?),
            None => None,
        };
        Ok(Activity { id, definition })
    }

    pub fn id(&self) -> &Iri {
        &self.id
    }

    pub fn definition(&self) -> Option<&ActivityDefinition> {
        self.definition.as_ref()
    }
}

/// Metadata of an Activity (xAPI 1.0.3 Data §2.4.4.1.s2).
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityDefinition {
    name: Option<LanguageMap>,
    description: Option<LanguageMap>,
    activity_type: Option<Iri>,
    more_info: Option<Iri>,
    extensions: Option<Extensions>,
    interaction: Option<Interaction>,
}

impl ActivityDefinition {
    fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<ActivityDefinition, ValidationError> {
        let fields = Fields::new(value, "an Activity Definition", &DEFINITION_KEYS, path)?;
        let lang = |key: &str| -> Result<Option<LanguageMap>, ValidationError> {
            fields
                .get(key)?
                .map(|v| LanguageMap::parse(v, &path.key(key)))
                .transpose()
        };
        let iri = |key: &str| -> Result<Option<Iri>, ValidationError> {
            fields
                .opt_str(key)?
                .map(|v| Iri::parse_at(v, &path.key(key)))
                .transpose()
        };
        Ok(ActivityDefinition {
            name: lang("name")?,
            description: lang("description")?,
            activity_type: iri("type")?,
            more_info: iri("moreInfo")?,
            extensions: fields
                .get("extensions")?
                .map(|v| Extensions::parse(v, &path.key("extensions")))
                .transpose()?,
            interaction: Interaction::parse(&fields)?,
        })
    }

    pub fn name(&self) -> Option<&LanguageMap> {
        self.name.as_ref()
    }

    pub fn description(&self) -> Option<&LanguageMap> {
        self.description.as_ref()
    }

    pub fn activity_type(&self) -> Option<&Iri> {
        self.activity_type.as_ref()
    }

    pub fn more_info(&self) -> Option<&Iri> {
        self.more_info.as_ref()
    }

    pub fn extensions(&self) -> Option<&Extensions> {
        self.extensions.as_ref()
    }

    pub fn interaction(&self) -> Option<&Interaction> {
        self.interaction.as_ref()
    }
}
