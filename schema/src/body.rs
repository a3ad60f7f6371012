//! What a Statement and a SubStatement have in common.

use crate::actor::Actor;
use crate::attachment::Attachment;
use crate::context::Context;
use crate::error::ValidationError;
use crate::json::{Fields, JsonNode, as_array};
use crate::object::StatementObject;
use crate::result::Outcome;
use crate::timestamp::Timestamp;
use crate::verb::Verb;
use crate::version::XapiVersion;

const REQUIRED_RULE: &str =
    "xAPI 1.0.3 Data §2.2.s2.b3: a Statement MUST use \"actor\", \"verb\", and \"object\"";
const VOIDING_RULE: &str =
    "xAPI 1.0.3 Data §2.3.2.s2.b2: when the verb is \"voided\", the Object MUST be a StatementRef";

/// actor, verb, object, result, context, timestamp and attachments.
#[derive(Clone, Debug, PartialEq)]
pub struct StatementBody {
    actor: Actor,
    verb: Verb,
    object: StatementObject,
    result: Option<Outcome>,
    context: Option<Context>,
    timestamp: Option<Timestamp>,
    attachments: Vec<Attachment>,
}

impl StatementBody {
    pub(crate) fn parse<'v, J: JsonNode<'v>>(
        fields: &Fields<'v, '_, J>,
        version: XapiVersion,
        is_sub_statement: bool,
    ) -> Result<StatementBody, ValidationError> {
        let path = fields.path();
        let actor = Actor::parse(fields.require("actor", REQUIRED_RULE)?, &path.key("actor"))?;
        let verb = Verb::parse(fields.require("verb", REQUIRED_RULE)?, &path.key("verb"))?;
        let object_value = fields.require("object", REQUIRED_RULE)?;
        let object = StatementObject::parse(
            object_value,
            version,
            !is_sub_statement,
            &path.key("object"),
        )?;
        if verb.is_voiding() && !matches!(object, StatementObject::StatementRef(_)) {
            return Err(ValidationError::new(
                VOIDING_RULE,
                &path.key("object"),
                "a voiding statement's object is not a StatementRef",
            ));
        }
        let result = fields
            .get("result")?
            .map(|v| Outcome::parse(v, &path.key("result")))
            .transpose()?;
        let context = fields
            .get("context")?
            .map(|v| Context::parse(v, version, object.is_activity(), &path.key("context")))
            .transpose()?;
        let timestamp = fields
            .opt_str("timestamp")?
            .map(|v| Timestamp::parse_at(v, version, &path.key("timestamp")))
            .transpose()?;
        let attachments = match fields.get("attachments")? {
            Some(value) => {
                let list_path = path.key("attachments");
                as_array(value, &list_path)?
                    .enumerate()
                    .map(|(i, item)| Attachment::parse(item, &list_path.index(i)))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => Vec::new(),
        };
        Ok(StatementBody {
            actor,
            verb,
            object,
            result,
            context,
            timestamp,
            attachments,
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn verb(&self) -> &Verb {
        &self.verb
    }

    pub fn object(&self) -> &StatementObject {
        &self.object
    }

    pub fn result(&self) -> Option<&Outcome> {
        self.result.as_ref()
    }

    pub fn context(&self) -> Option<&Context> {
        self.context.as_ref()
    }

    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }
}
