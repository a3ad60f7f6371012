//! Agents, Groups and the Actor that is either.

use serde_json::Value;

use crate::error::ValidationError;
use crate::ifi::Ifi;
use crate::json::{Fields, JsonNode, as_array};
use crate::path::JsonPath;

const AGENT_IFI_RULE: &str =
    "xAPI 1.0.3 Data §2.4.2.1: an Agent MUST have exactly one inverse functional identifier";
const GROUP_IFI_RULE: &str = "xAPI 1.0.3 Data §2.4.2.2.s5.b1: an Identified Group MUST include exactly one inverse functional identifier";
const ANONYMOUS_GROUP_RULE: &str = "xAPI 1.0.3 Data §2.4.2.2.s4.b1: an Anonymous Group MUST include a \"member\" property listing constituent Agents";
const MEMBER_RULE: &str = "xAPI 1.0.3 Data §2.4.2.2.s4.b2 and s5.b2: a Group MUST NOT contain Group Objects in the \"member\" property";
const OBJECT_TYPE_RULE: &str =
    "xAPI 1.0.3 Data §2.4.2: an Actor's objectType MUST be \"Agent\" (or absent) or \"Group\"";
const AGENT_KEYS: [&str; 6] = [
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];
const GROUP_KEYS: [&str; 7] = [
    "objectType",
    "name",
    "member",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];

/// One person or system (xAPI 1.0.3 Data §2.4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    name: Option<String>,
    ifi: Ifi,
}

impl Agent {
    /// Parses an Agent: `objectType`, if present, MUST be `"Agent"`.
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Agent, ValidationError> {
        let fields = Fields::new(value, "an Agent", &AGENT_KEYS, path)?;
        match fields.object_type()? {
            None | Some("Agent") => {}
            Some(other) => {
                return Err(ValidationError::new(
                    OBJECT_TYPE_RULE,
                    &path.key("objectType"),
                    format!("expected an Agent, found objectType \"{other}\""),
                ));
            }
        }
        let ifi = Ifi::parse(&fields, AGENT_IFI_RULE)?.ok_or_else(|| {
            ValidationError::new(
                AGENT_IFI_RULE,
                path,
                "an Agent has no inverse functional identifier",
            )
        })?;
        Ok(Agent {
            name: fields.opt_str("name")?.map(str::to_owned),
            ifi,
        })
    }

    /// Parses an Agent given as a request parameter (the Agents Resource's `agent`); errors name
    /// the parameter, e.g. `?agent.mbox`.
    pub fn from_param(value: &Value, param: &str) -> Result<Agent, ValidationError> {
        Agent::parse(value, &JsonPath::root(param))
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn ifi(&self) -> &Ifi {
        &self.ifi
    }
}

/// A collection of Agents, identified by its own IFI or anonymous (xAPI 1.0.3 Data §2.4.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    name: Option<String>,
    ifi: Option<Ifi>,
    members: Vec<Agent>,
}

impl Group {
    /// Parses a Group: `objectType` MUST be `"Group"`.
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Group, ValidationError> {
        let fields = Fields::new(value, "a Group", &GROUP_KEYS, path)?;
        if fields.object_type()? != Some("Group") {
            return Err(ValidationError::new(
                OBJECT_TYPE_RULE,
                &path.key("objectType"),
                "a Group MUST have objectType \"Group\"",
            ));
        }
        let ifi = Ifi::parse(&fields, GROUP_IFI_RULE)?;
        let members = match fields.get("member")? {
            Some(list) => {
                let member_path = path.key("member");
                let list = as_array(list, &member_path)?;
                let mut members = Vec::with_capacity(list.len());
                for (i, member) in list.enumerate() {
                    let item_path = member_path.index(i);
                    if member.get("objectType").and_then(JsonNode::as_str) == Some("Group") {
                        return Err(ValidationError::new(
                            MEMBER_RULE,
                            &item_path,
                            "a Group member is a Group",
                        ));
                    }
                    members.push(Agent::parse(member, &item_path)?);
                }
                members
            }
            None => Vec::new(),
        };
        if ifi.is_none() && members.is_empty() {
            return Err(ValidationError::new(
                ANONYMOUS_GROUP_RULE,
                path,
                "an Anonymous Group has no members",
            ));
        }
        Ok(Group {
            name: fields.opt_str("name")?.map(str::to_owned),
            ifi,
            members,
        })
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The Group's own identifier; `None` for an Anonymous Group.
    pub fn ifi(&self) -> Option<&Ifi> {
        self.ifi.as_ref()
    }

    pub fn members(&self) -> &[Agent] {
        &self.members
    }
}

/// Who did it: an Agent or a Group (xAPI 1.0.3 Data §2.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Agent(Agent),
    Group(Group),
}

impl Actor {
    /// `objectType` `"Group"` → Group; absent or `"Agent"` → Agent; anything else is an error.
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<Actor, ValidationError> {
        match value.get("objectType").and_then(JsonNode::as_str) {
            Some("Group") => Group::parse(value, path).map(Actor::Group),
            _ => Agent::parse(value, path).map(Actor::Agent),
        }
    }

    /// Parses an Actor alone (a statement's `actor`, or its Agent or Group `object`), without
    /// the rest of the statement's rules: how a purge reads whom a statement the store could
    /// never take is about. Errors name `path`.
    pub fn from_json(value: &Value, path: &str) -> Result<Actor, ValidationError> {
        Actor::parse(value, &JsonPath::root(path))
    }

    /// The Actor's own canonical identifier (`None` for an Anonymous Group).
    pub fn canonical_ifi(&self) -> Option<String> {
        match self {
            Actor::Agent(agent) => Some(agent.ifi.canonical()),
            Actor::Group(group) => group.ifi.as_ref().map(Ifi::canonical),
        }
    }

    /// The canonical identifiers an `agent` filter matches this Actor by: its own, and for a
    /// Group every member's too. xAPI 1.0.3 Communication §2.1.3 (GET Statements, `agent`):
    /// "For the purposes of this filter, Groups that have members which match the specified
    /// Agent based on their Inverse Functional Identifier as described above are considered a
    /// match" (2.0 says the same).
    pub fn filter_terms(&self) -> Vec<String> {
        match self {
            Actor::Agent(agent) => vec![agent.ifi.canonical()],
            Actor::Group(group) => group
                .ifi
                .iter()
                .map(Ifi::canonical)
                .chain(group.members.iter().map(|m| m.ifi.canonical()))
                .collect(),
        }
    }
}
