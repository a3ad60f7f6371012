//! The Context of a statement.

use uuid::Uuid;

use crate::activity::Activity;
use crate::actor::{Actor, Agent, Group};
use crate::error::ValidationError;
use crate::extensions::Extensions;
use crate::iri::Iri;
use crate::json::{Fields, JsonNode, Kind, as_array, as_str, wrong_type};
use crate::language::LanguageTag;
use crate::object::StatementRef;
use crate::path::JsonPath;
use crate::uuid_text::parse_uuid;
use crate::version::XapiVersion;

const REVISION_RULE: &str = "xAPI 1.0.3 Data §2.4.6.s4.b1: the \"revision\" property MUST only be used if the Statement's Object is an Activity";
const PLATFORM_RULE: &str = "xAPI 1.0.3 Data §2.4.6.s4.b2: the \"platform\" property MUST only be used if the Statement's Object is an Activity";
const TEAM_RULE: &str = "xAPI 1.0.3 Data §2.4.6.s3: context \"team\" MUST be a Group";
const CONTEXT_ACTIVITIES_RULE: &str = "xAPI 1.0.3 Data §2.4.6.2.s4.b2: every value in the contextActivities Object MUST be either a single Activity Object or an array of Activity Objects";
const CONTEXT_2_0_RULE: &str =
    "xAPI 1.0.3 Data §2.4.6: contextAgents and contextGroups do not exist before xAPI 2.0";
const CONTEXT_AGENT_RULE: &str = "xAPI 2.0 Data §2.4.6 Context Agents: a contextAgent MUST have objectType \"contextAgent\" and an \"agent\" that is an Agent";
const CONTEXT_GROUP_RULE: &str = "xAPI 2.0 Data §2.4.6 Context Groups: a contextGroup MUST have objectType \"contextGroup\" and a \"group\" that is a Group";
const RELEVANT_TYPES_RULE: &str =
    "xAPI 2.0 Data §2.4.6: relevantTypes, if present, MUST be a non-empty array of IRIs";
const KEYS: [&str; 11] = [
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
    "contextAgents",
    "contextGroups",
];
/// xAPI 1.0.3 Data §2.4.6.2.s4.b1: the keys of contextActivities.
pub(crate) const CONTEXT_ACTIVITY_KEYS: [&str; 4] = ["parent", "grouping", "category", "other"];

/// Context of a statement (xAPI 1.0.3 Data §2.4.6; 2.0 adds contextAgents and contextGroups).
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    registration: Option<Uuid>,
    instructor: Option<Actor>,
    team: Option<Group>,
    /// (key, activities) for each contextActivities key present, as arrays.
    context_activities: Vec<(&'static str, Vec<Activity>)>,
    revision: Option<String>,
    platform: Option<String>,
    language: Option<LanguageTag>,
    statement: Option<StatementRef>,
    extensions: Option<Extensions>,
    context_agents: Vec<ContextAgent>,
    context_groups: Vec<ContextGroup>,
}

impl Context {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        version: XapiVersion,
        object_is_activity: bool,
        path: &JsonPath<'_>,
    ) -> Result<Context, ValidationError> {
        let fields = Fields::new(value, "a Context", &KEYS, path)?;
        if version == XapiVersion::V1_0_3 {
            for key in ["contextAgents", "contextGroups"] {
                if fields.has(key) {
                    return Err(ValidationError::new(
                        CONTEXT_2_0_RULE,
                        &path.key(key),
                        format!("\"{key}\" is an xAPI 2.0 property"),
                    ));
                }
            }
        }
        if !object_is_activity {
            if fields.has("revision") {
                return Err(ValidationError::new(
                    REVISION_RULE,
                    &path.key("revision"),
                    "revision with a non-Activity object",
                ));
            }
            if fields.has("platform") {
                return Err(ValidationError::new(
                    PLATFORM_RULE,
                    &path.key("platform"),
                    "platform with a non-Activity object",
                ));
            }
        }
        let team = match fields.get("team")? {
            Some(team) => {
                let team_path = path.key("team");
                if team.get("objectType").and_then(JsonNode::as_str) != Some("Group") {
                    return Err(ValidationError::new(
                        TEAM_RULE,
                        &team_path,
                        "team is not a Group",
                    ));
                }
                Some(Group::parse(team, &team_path)?)
            }
            None => None,
        };
        Ok(Context {
            registration: fields
                .opt_str("registration")?
                .map(|v| parse_uuid(v, &path.key("registration")))
                .transpose()?,
            instructor: fields
                .get("instructor")?
                .map(|v| Actor::parse(v, &path.key("instructor")))
                .transpose()?,
            team,
            context_activities: match fields.get("contextActivities")? {
                Some(v) => parse_context_activities(v, &path.key("contextActivities"))?,
                None => Vec::new(),
            },
            revision: fields.opt_str("revision")?.map(str::to_owned),
            platform: fields.opt_str("platform")?.map(str::to_owned),
            language: fields
                .opt_str("language")?
                .map(|v| LanguageTag::parse_at(v, &path.key("language")))
                .transpose()?,
            statement: fields
                .get("statement")?
                .map(|v| StatementRef::parse(v, &path.key("statement")))
                .transpose()?,
            extensions: fields
                .get("extensions")?
                .map(|v| Extensions::parse(v, &path.key("extensions")))
                .transpose()?,
            context_agents: parse_list(&fields, "contextAgents", ContextAgent::parse)?,
            context_groups: parse_list(&fields, "contextGroups", ContextGroup::parse)?,
        })
    }

    pub fn registration(&self) -> Option<Uuid> {
        self.registration
    }

    pub fn instructor(&self) -> Option<&Actor> {
        self.instructor.as_ref()
    }

    pub fn team(&self) -> Option<&Group> {
        self.team.as_ref()
    }

    /// The activities under one contextActivities key (`parent`, `grouping`, `category`, `other`).
    pub fn context_activities(&self, key: &str) -> &[Activity] {
        self.context_activities
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[], |(_, list)| list.as_slice())
    }

    /// Every context activity, whatever its key.
    pub fn all_context_activities(&self) -> impl Iterator<Item = &Activity> {
        self.context_activities
            .iter()
            .flat_map(|(_, list)| list.iter())
    }

    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    pub fn platform(&self) -> Option<&str> {
        self.platform.as_deref()
    }

    pub fn language(&self) -> Option<&LanguageTag> {
        self.language.as_ref()
    }

    pub fn statement(&self) -> Option<&StatementRef> {
        self.statement.as_ref()
    }

    pub fn extensions(&self) -> Option<&Extensions> {
        self.extensions.as_ref()
    }

    pub fn context_agents(&self) -> &[ContextAgent] {
        &self.context_agents
    }

    pub fn context_groups(&self) -> &[ContextGroup] {
        &self.context_groups
    }
}

fn parse_context_activities<'v>(
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<Vec<(&'static str, Vec<Activity>)>, ValidationError> {
    let fields = Fields::new(value, "a contextActivities", &CONTEXT_ACTIVITY_KEYS, path)?;
    let mut out = Vec::new();
    for key in CONTEXT_ACTIVITY_KEYS {
        let Some(value) = fields.get(key)? else {
            continue;
        };
        let key_path = path.key(key);
        let activities = match (value.kind(), value.items()) {
            (_, Some(items)) => items
                .enumerate()
                .map(|(i, item)| Activity::parse(item, &key_path.index(i)))
                .collect::<Result<Vec<_>, _>>()?,
            (Kind::Object, None) => vec![Activity::parse(value, &key_path)?],
            (_, None) => {
                return Err(ValidationError::new(
                    CONTEXT_ACTIVITIES_RULE,
                    &key_path,
                    format!("found {}", crate::json::type_name(value)),
                ));
            }
        };
        out.push((key, activities));
    }
    Ok(out)
}

fn parse_list<'v, J: JsonNode<'v>, T>(
    fields: &Fields<'v, '_, J>,
    key: &str,
    parse: fn(J, &JsonPath<'_>) -> Result<T, ValidationError>,
) -> Result<Vec<T>, ValidationError> {
    let Some(value) = fields.get(key)? else {
        return Ok(Vec::new());
    };
    let path = fields.path().key(key);
    as_array(value, &path)?
        .enumerate()
        .map(|(i, item)| parse(item, &path.index(i)))
        .collect()
}

fn parse_relevant_types<'v, J: JsonNode<'v>>(
    fields: &Fields<'v, '_, J>,
) -> Result<Vec<Iri>, ValidationError> {
    let Some(value) = fields.get("relevantTypes")? else {
        return Ok(Vec::new());
    };
    let path = fields.path().key("relevantTypes");
    let items = as_array(value, &path)?;
    if items.len() == 0 {
        return Err(ValidationError::new(
            RELEVANT_TYPES_RULE,
            &path,
            "relevantTypes is empty",
        ));
    }
    items
        .enumerate()
        .map(|(i, item)| {
            let item_path = path.index(i);
            Iri::parse_at(as_str(item, &item_path)?, &item_path)
        })
        .collect()
}

fn check_object_type<'v, J: JsonNode<'v>>(
    fields: &Fields<'v, '_, J>,
    expected: &str,
    rule: &'static str,
) -> Result<(), ValidationError> {
    let path = fields.path();
    match fields.get("objectType")? {
        Some(value) => match value.as_str() {
            Some(t) if t == expected => Ok(()),
            Some(t) => Err(ValidationError::new(
                rule,
                &path.key("objectType"),
                format!("objectType \"{t}\""),
            )),
            None => Err(wrong_type(value, "a string", &path.key("objectType"))),
        },
        None => Err(ValidationError::new(rule, path, "missing objectType")),
    }
}

/// An Agent related to the statement besides the Actor (xAPI 2.0 Data §2.4.6 contextAgents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextAgent {
    agent: Agent,
    relevant_types: Vec<Iri>,
}

impl ContextAgent {
    fn parse<'v, J: JsonNode<'v>>(
        value: J,
        path: &JsonPath<'_>,
    ) -> Result<ContextAgent, ValidationError> {
        let fields = Fields::new(
            value,
            "a contextAgent",
            &["objectType", "agent", "relevantTypes"],
            path,
        )?;
        check_object_type(&fields, "contextAgent", CONTEXT_AGENT_RULE)?;
        let agent = Agent::parse(
            fields.require("agent", CONTEXT_AGENT_RULE)?,
            &path.key("agent"),
        )?;
        Ok(ContextAgent {
            agent,
            relevant_types: parse_relevant_types(&fields)?,
        })
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    pub fn relevant_types(&self) -> &[Iri] {
        &self.relevant_types
    }
}

/// A Group related to the statement besides the Actor (xAPI 2.0 Data §2.4.6 contextGroups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextGroup {
    group: Group,
    relevant_types: Vec<Iri>,
}

impl ContextGroup {
    fn parse<'v, J: JsonNode<'v>>(
        value: J,
        path: &JsonPath<'_>,
    ) -> Result<ContextGroup, ValidationError> {
        let fields = Fields::new(
            value,
            "a contextGroup",
            &["objectType", "group", "relevantTypes"],
            path,
        )?;
        check_object_type(&fields, "contextGroup", CONTEXT_GROUP_RULE)?;
        let group_value = fields.require("group", CONTEXT_GROUP_RULE)?;
        let group_path = path.key("group");
        if group_value.get("objectType").and_then(JsonNode::as_str) != Some("Group") {
            return Err(ValidationError::new(
                CONTEXT_GROUP_RULE,
                &group_path,
                "group is not a Group",
            ));
        }
        Ok(ContextGroup {
            group: Group::parse(group_value, &group_path)?,
            relevant_types: parse_relevant_types(&fields)?,
        })
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    pub fn relevant_types(&self) -> &[Iri] {
        &self.relevant_types
    }
}
