//! The Statement: parsing one JSON statement into the typed model, and its index terms.

use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::body::StatementBody;
use crate::envelope::IndexTerms;
use crate::error::ValidationError;
use crate::json::{Fields, JsonNode};
use crate::object::StatementObject;
use crate::path::JsonPath;
use crate::timestamp::Timestamp;
use crate::uuid_text::parse_uuid;
use crate::version::{StatementVersion, XapiVersion};

/// xAPI 1.0.3 Data §2.4.s1 (the Statement properties table); 2.0 has the same list.
const KEYS: [&str; 11] = [
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
];
const IFI_PARAMETER_RULE: &str = "xAPI 1.0.3 Communication §2.1.3: the \"agent\" parameter MUST be an Agent or Identified Group Object";

/// A fully typed, validated statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    id: Option<Uuid>,
    body: StatementBody,
    stored: Option<Timestamp>,
    authority: Option<Actor>,
    version: Option<StatementVersion>,
}

impl Statement {
    /// Validates one statement JSON value for the given version. `path` is the JSON path
    /// prefix used in errors (`"$"` or `"$[3]"`).
    pub fn from_json(
        value: &Value,
        version: XapiVersion,
        path: &str,
    ) -> Result<Statement, ValidationError> {
        Statement::parse(value, version, path)
    }

    /// [`Statement::from_json`] over any JSON tree (see [`crate::borrowed`]).
    pub(crate) fn parse<'v>(
        value: impl JsonNode<'v>,
        version: XapiVersion,
        path: &str,
    ) -> Result<Statement, ValidationError> {
        let root = JsonPath::root(path);
        let fields = Fields::new(value, "a Statement", &KEYS, &root)?;
        let id = fields
            .opt_str("id")?
            .map(|v| parse_uuid(v, &root.key("id")))
            .transpose()?;
        let body = StatementBody::parse(&fields, version, false)?;
        let stored = fields
            .opt_str("stored")?
            .map(|v| Timestamp::parse_at(v, version, &root.key("stored")))
            .transpose()?;
        let authority = fields
            .get("authority")?
            .map(|v| parse_authority(v, &root.key("authority")))
            .transpose()?;
        let statement_version = fields
            .opt_str("version")?
            .map(|v| StatementVersion::parse(v, version, &root.key("version")))
            .transpose()?;
        Ok(Statement {
            id,
            body,
            stored,
            authority,
            version: statement_version,
        })
    }

    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// actor, verb, object, result, context, timestamp, attachments.
    pub fn body(&self) -> &StatementBody {
        &self.body
    }

    pub fn stored(&self) -> Option<Timestamp> {
        self.stored
    }

    /// The authority as the client sent it (the LRS replaces it when storing).
    pub fn authority(&self) -> Option<&Actor> {
        self.authority.as_ref()
    }

    pub fn version(&self) -> Option<&StatementVersion> {
        self.version.as_ref()
    }

    /// The StatementRef target when the verb is `http://adlnet.gov/expapi/verbs/voided`
    /// (parsing already required the object to be a StatementRef then, xAPI 1.0.3 Data §2.3.2).
    pub fn voided_target(&self) -> Option<Uuid> {
        match self.body.object() {
            StatementObject::StatementRef(r) if self.body.verb().is_voiding() => Some(r.id()),
            _ => None,
        }
    }

    /// The terms queries filter on. `authority` is left empty and the authority's agents are
    /// not in `related_agents`: the caller sets the authority (see [`crate::authority_terms`]).
    pub fn index_terms(&self) -> IndexTerms {
        let mut terms = IndexTerms {
            verb: self.body.verb().id().as_str().to_owned(),
            registration: self.body.context().and_then(|c| c.registration()),
            voids: self.voided_target(),
            refers_to: match self.body.object() {
                StatementObject::StatementRef(r) => Some(r.id()),
                _ => None,
            },
            ..IndexTerms::default()
        };
        // xAPI 1.0.3 Communication §2.1.3 "agent": the Actor or Object of the statement, a
        // Group matching through its members too. "activity": the Object when an Activity.
        terms.direct_agents = self.body.actor().filter_terms();
        match self.body.object() {
            StatementObject::Agent(agent) => terms.direct_agents.push(agent.ifi().canonical()),
            StatementObject::Group(group) => terms
                .direct_agents
                .extend(Actor::Group(group.clone()).filter_terms()),
            StatementObject::Activity(activity) => terms
                .direct_activities
                .push(activity.id().as_str().to_owned()),
            _ => {}
        }
        dedup(&mut terms.direct_agents);
        // "related_agents": Actor, Object, Authority, Instructor, Team, or any of these in a
        // contained SubStatement (2.0 adds contextAgents and contextGroups). "related_activities":
        // the Object, the context Activities, or the same in a contained SubStatement.
        terms.related_agents = terms.direct_agents.clone();
        terms.related_activities = terms.direct_activities.clone();
        related_terms(&self.body, &mut terms, false);
        if let StatementObject::SubStatement(sub) = self.body.object() {
            related_terms(sub.body(), &mut terms, true);
        }
        dedup(&mut terms.related_agents);
        dedup(&mut terms.related_activities);
        terms
    }
}

fn dedup(terms: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::with_capacity(terms.len());
    terms.retain(|t| seen.insert(t.clone()));
}

/// Adds the related agents and activities of a body's context (and, for a SubStatement, of its
/// actor and object too).
fn related_terms(body: &StatementBody, terms: &mut IndexTerms, include_core: bool) {
    if include_core {
        terms.related_agents.extend(body.actor().filter_terms());
        match body.object() {
            StatementObject::Agent(agent) => terms.related_agents.push(agent.ifi().canonical()),
            StatementObject::Group(group) => terms
                .related_agents
                .extend(Actor::Group(group.clone()).filter_terms()),
            StatementObject::Activity(activity) => terms
                .related_activities
                .push(activity.id().as_str().to_owned()),
            _ => {}
        }
    }
    let Some(context) = body.context() else {
        return;
    };
    if let Some(instructor) = context.instructor() {
        terms.related_agents.extend(instructor.filter_terms());
    }
    if let Some(team) = context.team() {
        terms
            .related_agents
            .extend(Actor::Group(team.clone()).filter_terms());
    }
    for context_agent in context.context_agents() {
        terms
            .related_agents
            .push(context_agent.agent().ifi().canonical());
    }
    for context_group in context.context_groups() {
        terms
            .related_agents
            .extend(Actor::Group(context_group.group().clone()).filter_terms());
    }
    for activity in context.all_context_activities() {
        terms
            .related_activities
            .push(activity.id().as_str().to_owned());
    }
}

/// The canonical IFI of an Agent or Identified Group JSON value (the `agent` query parameter):
/// `mbox::mailto:a@b`, `mbox_sha1sum::<hex>`, `openid::<uri>`, `account::<homePage>::<name>`.
/// [`Statement::index_terms`] writes agents the same way, so filters and statements agree.
pub fn canonical_ifi(
    agent: &Value,
    version: XapiVersion,
    path: &str,
) -> Result<String, ValidationError> {
    let _ = version; // Agents and Groups have the same shape in 1.0.3 and 2.0.
    let root = JsonPath::root(path);
    let actor = Actor::parse(agent, &root)?;
    actor.canonical_ifi().ok_or_else(|| {
        ValidationError::new(
            IFI_PARAMETER_RULE,
            &root,
            "an Anonymous Group has no identifier",
        )
    })
}

/// The terms of the authority an LRS assigns, for [`IndexTerms::authority`] and
/// `related_agents`: the Agent's IFI, or a Group's own IFI (if identified) and its members'
/// IFIs (an OAuth authority is an anonymous Group of two Agents, xAPI 1.0.3 Data §2.4.9).
pub fn authority_terms(
    authority: &Value,
    version: XapiVersion,
) -> Result<Vec<String>, ValidationError> {
    let _ = version;
    Ok(Actor::parse(authority, &JsonPath::root("$.authority"))?.filter_terms())
}

/// xAPI 1.0.3 Data §2.4.9.s3.b1: an `authority` is an Agent, or an anonymous Group of exactly two
/// Agents (the OAuth consumer and the user); an identified Group is not an authority.
fn parse_authority<'v>(
    value: impl JsonNode<'v>,
    path: &JsonPath<'_>,
) -> Result<Actor, ValidationError> {
    let actor = Actor::parse(value, path)?;
    if let Actor::Group(group) = &actor
        && (group.ifi().is_some() || group.members().len() != 2)
    {
        return Err(ValidationError::new(
            AUTHORITY_GROUP_RULE,
            path,
            "an authority Group must be an anonymous Group of exactly two Agents",
        ));
    }
    Ok(actor)
}

const AUTHORITY_GROUP_RULE: &str = "xAPI 1.0.3 Data §2.4.9.s3.b1: an authority that is a Group MUST be an anonymous Group of exactly two Agents (OAuth consumer and user)";
