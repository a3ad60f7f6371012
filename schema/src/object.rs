//! The Object of a statement: Activity, Agent, Group, StatementRef or SubStatement.

use uuid::Uuid;

use crate::activity::Activity;
use crate::actor::{Agent, Group};
use crate::error::ValidationError;
use crate::json::{Fields, JsonNode, as_str};
use crate::path::JsonPath;
use crate::sub_statement::SubStatement;
use crate::uuid_text::parse_uuid;
use crate::version::XapiVersion;

const OBJECT_TYPE_RULE: &str = "xAPI 1.0.3 Data §2.4.4: an Object's objectType MUST be \"Activity\" (or absent), \"Agent\", \"Group\", \"StatementRef\" or \"SubStatement\"";
const STATEMENT_REF_RULE: &str = "xAPI 1.0.3 Data §2.4.4.3.s4: a Statement Reference MUST have objectType \"StatementRef\" and an \"id\" that is a UUID";
const NESTED_SUB_STATEMENT_RULE: &str =
    "xAPI 1.0.3 Data §2.4.4.3.s8.b2: a SubStatement MUST NOT contain a SubStatement of its own";

/// What the statement is about (xAPI 1.0.3 Data §2.4.4).
#[derive(Clone, Debug, PartialEq)]
pub enum StatementObject {
    Activity(Activity),
    Agent(Agent),
    Group(Group),
    StatementRef(StatementRef),
    SubStatement(Box<SubStatement>),
}

impl StatementObject {
    /// `allow_sub_statement` is false inside a SubStatement.
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        version: XapiVersion,
        allow_sub_statement: bool,
        path: &JsonPath<'_>,
    ) -> Result<StatementObject, ValidationError> {
        // Not a string (or null): let the object parser report the type error.
        let object_type = value.get("objectType").and_then(JsonNode::as_str);
        match object_type {
            None | Some("Activity") => Activity::parse(value, path).map(StatementObject::Activity),
            Some("Agent") => Agent::parse(value, path).map(StatementObject::Agent),
            Some("Group") => Group::parse(value, path).map(StatementObject::Group),
            Some("StatementRef") => {
                StatementRef::parse(value, path).map(StatementObject::StatementRef)
            }
            Some("SubStatement") if allow_sub_statement => {
                SubStatement::parse(value, version, path)
                    .map(|s| StatementObject::SubStatement(Box::new(s)))
            }
            Some("SubStatement") => Err(ValidationError::new(
                NESTED_SUB_STATEMENT_RULE,
                &path.key("objectType"),
                "a SubStatement inside a SubStatement",
            )),
            Some(other) => Err(ValidationError::new(
                OBJECT_TYPE_RULE,
                &path.key("objectType"),
                format!("unknown objectType \"{other}\""),
            )),
        }
    }

    pub fn is_activity(&self) -> bool {
        matches!(self, StatementObject::Activity(_))
    }
}

/// A reference to another statement by id (xAPI 1.0.3 Data §2.4.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementRef {
    id: Uuid,
}

impl StatementRef {
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        path: &JsonPath<'_>,
    ) -> Result<StatementRef, ValidationError> {
        let fields = Fields::new(value, "a StatementRef", &["objectType", "id"], path)?;
        if fields.object_type()? != Some("StatementRef") {
            return Err(ValidationError::new(
                STATEMENT_REF_RULE,
                &path.key("objectType"),
                "objectType is not \"StatementRef\"",
            ));
        }
        let id_path = path.key("id");
        let id = parse_uuid(
            as_str(fields.require("id", STATEMENT_REF_RULE)?, &id_path)?,
            &id_path,
        )?;
        Ok(StatementRef { id })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
}
