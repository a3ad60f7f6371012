//! From request body to [`PreparedStatement`]s: parse, validate, assign ids, authority, version.

use std::collections::HashSet;

use bytes::Bytes;
use lrs_auth::Principal;
use lrs_roster::Calendar;
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys};
use lrs_schema::{
    FactConfig, Statement, StudyFact, StudyRow, XapiVersion, authority_terms, canonical_ifi,
    finalize_statement, format_timestamp, parse_statements,
};
use lrs_store::{AttachmentBody, now_micros};
use uuid::Uuid;

use crate::attachments::ReceivedParts;
use crate::error::ApiError;
use crate::multipart;
use crate::sequencer::PreparedStatement;

/// Bodies at least this large are validated on the blocking pool, not on an async worker.
pub const BLOCKING_VALIDATION_BYTES: usize = 32 * 1024;

/// The authority's canonical identifier, as index keys use it.
pub fn authority_term(principal: &Principal, version: XapiVersion) -> Result<String, ApiError> {
    canonical_ifi(&principal.authority, version, "$.authority").map_err(ApiError::from)
}

/// Every identifier of the authority (a Group authority has its members too), for `related_agents`.
fn authority_related(principal: &Principal, version: XapiVersion) -> Result<Vec<String>, ApiError> {
    authority_terms(&principal.authority, version).map_err(ApiError::from)
}

/// How the study-log fact of each statement is made (`[studylog]` settings): the local day of
/// its `timestamp` in the deployment's time zone, and where the subject and curriculum code are.
/// With `enabled` off no fact is made (an LRS without study-log views; the aggregates are empty).
#[derive(Debug, Clone)]
pub struct StudyFacts {
    pub enabled: bool,
    pub calendar: Calendar,
    pub config: FactConfig,
}

impl Default for StudyFacts {
    fn default() -> Self {
        StudyFacts {
            enabled: true,
            calendar: Calendar::default(),
            config: FactConfig::default(),
        }
    }
}

/// How a statement request's body is framed (xAPI Communication §1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementContent {
    /// `application/json`: the statements alone; attachments only by `fileUrl`.
    Json,
    /// `multipart/mixed`: the statements, then one part per attachment's data.
    Multipart { boundary: String },
}

impl StatementContent {
    /// xAPI Communication §1.5: statements are sent as `application/json`, or as
    /// `multipart/mixed` when attachment data travels with them.
    pub fn from_content_type(content_type: &str) -> Result<StatementContent, ApiError> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Ok(StatementContent::Json),
            "multipart/mixed" => Ok(StatementContent::Multipart {
                boundary: multipart::boundary(content_type)?,
            }),
            _ => Err(ApiError::bad_request(
                "xAPI Communication §1.5: statements MUST be sent as application/json, or as multipart/mixed with attachments",
                "header:Content-Type",
                format!("unsupported Content-Type {content_type:?}"),
            )),
        }
    }
}

/// A request's statements and the attachment data to store before they are submitted.
pub struct PreparedRequest {
    pub statements: Vec<PreparedStatement>,
    pub attachments: Vec<AttachmentBody>,
}

/// Validates a statement request of either framing (see [`prepare_statements`]).
pub fn prepare_request(
    body: &Bytes,
    content: &StatementContent,
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    facts: &StudyFacts,
) -> Result<PreparedRequest, ApiError> {
    match content {
        StatementContent::Json => Ok(PreparedRequest {
            statements: prepare_statements(
                body,
                version,
                principal,
                put_id,
                &mut ReceivedParts::none(),
                facts,
            )?,
            attachments: Vec::new(),
        }),
        StatementContent::Multipart { boundary } => {
            let parts = multipart::parse(body, boundary)?;
            let (json, mut received) = ReceivedParts::from_parts(parts)?;
            let statements =
                prepare_statements(&json, version, principal, put_id, &mut received, facts)?;
            Ok(PreparedRequest {
                statements,
                attachments: received.finish()?,
            })
        }
    }
}

/// Validates a POST body (one statement or an array) or a PUT body (`put_id`: one statement),
/// matching the statements' Attachments with the request's attachment `parts` (none for an
/// `application/json` request) and checking signatures as it goes.
pub fn prepare_statements(
    body: &[u8],
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    parts: &mut ReceivedParts,
    facts: &StudyFacts,
) -> Result<Vec<PreparedStatement>, ApiError> {
    if put_id.is_some() && body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "xAPI Communication §2.1.1: a PUT to the Statement Resource carries exactly one statement",
            "$",
            "PUT body must be a single statement object",
        ));
    }
    let parsed = parse_statements(body, version)?;
    let received = now_micros();
    let authority = authority_term(principal, version)?;
    let authority_related = authority_related(principal, version)?;
    let mut seen = HashSet::with_capacity(parsed.len());
    let mut prepared = Vec::with_capacity(parsed.len());
    let single = parsed.len() == 1 && put_id.is_some();
    for (i, (statement, mut value)) in parsed.into_iter().enumerate() {
        let path = if single {
            "$".to_owned()
        } else {
            format!("$[{i}]")
        };
        let (id, client_id) = match (statement.id(), put_id) {
            (Some(own), Some(param)) if own != param => {
                return Err(ApiError::bad_request(
                    "xAPI Communication §2.1.1: the statementId parameter and the statement's id MUST match",
                    &format!("{path}.id"),
                    format!("statement id {own} differs from statementId {param}"),
                ));
            }
            (Some(own), _) => (own, true),
            (None, Some(param)) => (param, true),
            (None, None) => (Uuid::new_v4(), false),
        };
        if !seen.insert(id) {
            return Err(ApiError::bad_request(
                "xAPI Communication §2.1.2: statement ids within one batch MUST be unique",
                &format!("{path}.id"),
                format!("statement id {id} appears more than once in the batch"),
            ));
        }
        // Before finalizing: a signature is checked against the statement as it was sent.
        parts.check_statement(&statement, &value, &path)?;
        let had_authority = value.get("authority").is_some();
        finalize_statement(&mut value, id, &principal.authority, version);
        // xAPI 1.0.3 Data §2.4.7: if no timestamp is given, the LRS SHOULD set it to `stored`;
        // `stored` is stamped microseconds later at the log, so the receive time stands in.
        if value.get("timestamp").is_none()
            && let Some(object) = value.as_object_mut()
        {
            object.insert("timestamp".into(), format_timestamp(received).into());
        }
        // The client's authority is replaced by ours; index terms must come from ours.
        let statement = if had_authority {
            Statement::from_json(&value, version, &path)?
        } else {
            statement
        };
        let mut terms = statement.index_terms();
        terms
            .related_agents
            .extend(authority_related.iter().cloned());
        terms.authority = authority.clone();
        let body = serde_json::to_vec(&value).expect("a JSON value always serializes");
        let timestamp = statement
            .body()
            .timestamp()
            .map_or(received, |t| t.micros());
        let study = facts
            .enabled
            .then(|| StudyFact::of_statement(&statement, timestamp, &authority, &facts.config))
            .flatten()
            .map(|(fact, _)| StudyRow {
                day: facts.calendar.day_of(timestamp).days_since_epoch(),
                fact,
            });
        prepared.push(PreparedStatement {
            statement: EnvelopeStatement {
                id,
                keys: IndexKeys::from_terms(&terms),
                body,
                study,
            },
            client_id,
        });
    }
    Ok(prepared)
}
