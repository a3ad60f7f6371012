//! Interaction activities: the interactionType and its component lists.

use std::collections::HashSet;

use crate::error::ValidationError;
use crate::json::{Fields, JsonNode, as_array, as_str};
use crate::language::LanguageMap;
use crate::limits::{INTERACTION_COMPONENTS_RULE, MAX_INTERACTION_COMPONENTS};
use crate::path::JsonPath;

const TYPE_RULE: &str =
    "xAPI 1.0.3 Data §2.4.4.1.s13.b1: Interaction Activities MUST have a valid interactionType";
const COMPONENT_LIST_RULE: &str = "xAPI 1.0.3 Data §2.4.4.1.s13.b3 and s15: the interaction component lists MUST be those supported by the interactionType";
const COMPONENT_ID_RULE: &str =
    "xAPI 1.0.3 Data §2.4.4.1.s15: an interaction component MUST have an \"id\" string";
const DISTINCT_RULE: &str = "xAPI 1.0.3 Data §2.4.4.1.s16.b1: within an array of interaction components, all id values MUST be distinct";

/// The component list properties (xAPI 1.0.3 Data §2.4.4.1.s15).
pub(crate) const COMPONENT_LISTS: [&str; 5] = ["choices", "scale", "source", "target", "steps"];

/// xAPI 1.0.3 Data §2.4.4.1.s9 Interaction Types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionType {
    TrueFalse,
    Choice,
    FillIn,
    LongFillIn,
    Matching,
    Performance,
    Sequencing,
    Likert,
    Numeric,
    Other,
}

impl InteractionType {
    /// The exact (case-sensitive, §2.2.s4.b1.b6) name.
    fn parse(value: &str) -> Option<InteractionType> {
        Some(match value {
            "true-false" => InteractionType::TrueFalse,
            "choice" => InteractionType::Choice,
            "fill-in" => InteractionType::FillIn,
            "long-fill-in" => InteractionType::LongFillIn,
            "matching" => InteractionType::Matching,
            "performance" => InteractionType::Performance,
            "sequencing" => InteractionType::Sequencing,
            "likert" => InteractionType::Likert,
            "numeric" => InteractionType::Numeric,
            "other" => InteractionType::Other,
            _ => return None,
        })
    }

    /// The component lists this type supports (the table of xAPI 1.0.3 Data §2.4.4.1.s15).
    fn supported_lists(self) -> &'static [&'static str] {
        match self {
            InteractionType::Choice | InteractionType::Sequencing => &["choices"],
            InteractionType::Likert => &["scale"],
            InteractionType::Matching => &["source", "target"],
            InteractionType::Performance => &["steps"],
            _ => &[],
        }
    }
}

/// One option of an interaction: an id and an optional description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionComponent {
    id: String,
    description: Option<LanguageMap>,
}

impl InteractionComponent {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn description(&self) -> Option<&LanguageMap> {
        self.description.as_ref()
    }
}

/// The interaction part of an Activity Definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    interaction_type: InteractionType,
    correct_responses_pattern: Option<Vec<String>>,
    /// (list name, components), for the lists present.
    components: Vec<(&'static str, Vec<InteractionComponent>)>,
}

impl Interaction {
    /// Reads the interaction properties of a definition; `Ok(None)` when it has none.
    pub(crate) fn parse<'v, J: JsonNode<'v>>(
        fields: &Fields<'v, '_, J>,
    ) -> Result<Option<Interaction>, ValidationError> {
        let path = fields.path();
        let interaction_type = match fields.get("interactionType")? {
            Some(value) => {
                let type_path = path.key("interactionType");
                let name = as_str(value, &type_path)?;
                Some(InteractionType::parse(name).ok_or_else(|| {
                    ValidationError::new(
                        TYPE_RULE,
                        &type_path,
                        format!("\"{name}\" is not an interactionType"),
                    )
                })?)
            }
            None => None,
        };
        let uses_interaction = fields.has("correctResponsesPattern")
            || COMPONENT_LISTS.iter().any(|list| fields.has(list));
        let Some(interaction_type) = interaction_type else {
            if uses_interaction {
                return Err(ValidationError::new(
                    TYPE_RULE,
                    path,
                    "interaction properties are used without an interactionType",
                ));
            }
            return Ok(None);
        };
        let correct_responses_pattern = match fields.get("correctResponsesPattern")? {
            Some(value) => {
                let list_path = path.key("correctResponsesPattern");
                let list = as_array(value, &list_path)?;
                let mut patterns = Vec::with_capacity(list.len());
                for (i, pattern) in list.enumerate() {
                    patterns.push(as_str(pattern, &list_path.index(i))?.to_owned());
                }
                Some(patterns)
            }
            None => None,
        };
        let mut components = Vec::new();
        for list in COMPONENT_LISTS {
            let Some(value) = fields.get(list)? else {
                continue;
            };
            let list_path = path.key(list);
            if !interaction_type.supported_lists().contains(&list) {
                return Err(ValidationError::new(
                    COMPONENT_LIST_RULE,
                    &list_path,
                    format!("\"{list}\" is not a component list of this interactionType"),
                ));
            }
            components.push((list, parse_components(value, &list_path)?));
        }
        Ok(Some(Interaction {
            interaction_type,
            correct_responses_pattern,
            components,
        }))
    }

    pub fn interaction_type(&self) -> InteractionType {
        self.interaction_type
    }

    pub fn correct_responses_pattern(&self) -> Option<&[String]> {
        self.correct_responses_pattern.as_deref()
    }

    /// The components of one list (`"choices"`, `"scale"`, `"source"`, `"target"`, `"steps"`).
    pub fn components(&self, list: &str) -> &[InteractionComponent] {
        self.components
            .iter()
            .find(|(name, _)| *name == list)
            .map_or(&[], |(_, c)| c.as_slice())
    }
}

/// One component list, in linear time: ids are checked for duplicates with a set.
fn parse_components<'v>(
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<Vec<InteractionComponent>, ValidationError> {
    let list = as_array(value, path)?;
    if list.len() > MAX_INTERACTION_COMPONENTS {
        return Err(ValidationError::new(
            INTERACTION_COMPONENTS_RULE,
            path,
            format!(
                "{} components, more than {MAX_INTERACTION_COMPONENTS}",
                list.len()
            ),
        ));
    }
    let mut components: Vec<InteractionComponent> = Vec::with_capacity(list.len());
    let mut ids: HashSet<&str> = HashSet::with_capacity(list.len());
    for (i, item) in list.enumerate() {
        let item_path = path.index(i);
        let fields = Fields::new(
            item,
            "an interaction component",
            &["id", "description"],
            &item_path,
        )?;
        let id = as_str(
            fields.require("id", COMPONENT_ID_RULE)?,
            &item_path.key("id"),
        )?;
        if !ids.insert(id) {
            return Err(ValidationError::new(
                DISTINCT_RULE,
                &item_path.key("id"),
                format!("duplicate interaction component id \"{id}\""),
            ));
        }
        let description = match fields.get("description")? {
            Some(map) => Some(LanguageMap::parse(map, &item_path.key("description"))?),
            None => None,
        };
        components.push(InteractionComponent {
            id: id.to_owned(),
            description,
        });
    }
    Ok(components)
}
