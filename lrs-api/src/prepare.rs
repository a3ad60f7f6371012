//! From request body to [`PreparedStatement`]s: parse, validate, assign ids, authority, version.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use lrs_auth::Principal;
use lrs_roster::Calendar;
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys};
use lrs_schema::{
    FactConfig, Statement, StudyFact, StudyRow, XapiVersion, authority_terms, canonical_ifi,
    finalize_statement, format_timestamp, parse_statements, parse_statements_fast,
};
use lrs_store::{AttachmentBody, now_micros};
use uuid::Uuid;

use crate::attachments::ReceivedParts;
use crate::error::ApiError;
use crate::multipart;
use crate::sequencer::PreparedStatement;

/// Bodies at least this large are validated on the blocking pool, not on an async worker.
pub const BLOCKING_VALIDATION_BYTES: usize = 32 * 1024;

/// Whether statement bodies are first tried on the borrowed parse (`server.borrowed_parse`, on by
/// default): see [`prepare_statements`].
static BORROWED_PARSE: AtomicBool = AtomicBool::new(true);

/// Turns the borrowed parse on or off for this process (`server.borrowed_parse`).
pub fn set_borrowed_parse(enabled: bool) {
    BORROWED_PARSE.store(enabled, Ordering::Relaxed);
}

/// Whether the borrowed parse is on.
pub fn borrowed_parse() -> bool {
    BORROWED_PARSE.load(Ordering::Relaxed)
}

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
    let how = Preparation {
        borrowed: borrowed_parse(),
        received: now_micros(),
        new_id: &mut Uuid::new_v4,
    };
    prepare_request_with(body, content, version, principal, put_id, facts, how)
}

pub(crate) fn prepare_request_with(
    body: &Bytes,
    content: &StatementContent,
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    facts: &StudyFacts,
    how: Preparation<'_>,
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
                how,
            )?,
            attachments: Vec::new(),
        }),
        StatementContent::Multipart { boundary } => {
            let parts = multipart::parse(body, boundary)?;
            let (json, mut received) = ReceivedParts::from_parts(parts)?;
            let statements =
                prepare_statements(&json, version, principal, put_id, &mut received, facts, how)?;
            Ok(PreparedRequest {
                statements,
                attachments: received.finish()?,
            })
        }
    }
}

/// What [`prepare_statements`] takes from the process: whether to try the borrowed parse, the
/// receive time, where new statement ids come from. Benches, tests and the fuzz target fix them
/// to compare the two parses.
pub(crate) struct Preparation<'a> {
    pub borrowed: bool,
    pub received: i64,
    pub new_id: &'a mut dyn FnMut() -> Uuid,
}

/// Validates a POST body (one statement or an array) or a PUT body (`put_id`: one statement),
/// matching the statements' Attachments with the request's attachment `parts` (none for an
/// `application/json` request) and checking signatures as it goes.
///
/// With [`borrowed_parse`] on, the body is first tried on the borrowed parse
/// ([`parse_statements_fast`]: typed straight from the simd-json tape, the stored bytes spliced
/// from the body); whenever that declines (an invalid body among others) or any check here
/// fails, the request is prepared again on the `serde_json::Value` path, whose answer is final.
/// Both give the same statements, index keys, study facts and stored JSON
/// (docs/performance.md, "Issue 12: the borrowed parse").
pub(crate) fn prepare_statements(
    body: &[u8],
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    parts: &mut ReceivedParts,
    facts: &StudyFacts,
    how: Preparation<'_>,
) -> Result<Vec<PreparedStatement>, ApiError> {
    let Preparation {
        borrowed,
        received,
        new_id,
    } = how;
    if put_id.is_some() && body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "xAPI Communication §2.1.1: a PUT to the Statement Resource carries exactly one statement",
            "$",
            "PUT body must be a single statement object",
        ));
    }
    if borrowed
        && let Some(prepared) =
            prepare_borrowed(body, version, principal, put_id, facts, received, new_id)
    {
        return Ok(prepared);
    }
    let parsed = parse_statements(body, version)?;
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
            (None, None) => (new_id(), false),
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
        let body = serde_json::to_vec(&value).expect("a JSON value always serializes");
        let authority = (authority.as_str(), authority_related.as_slice());
        prepared.push(prepared_statement(
            &statement, id, client_id, body, received, authority, facts,
        ));
    }
    Ok(prepared)
}

/// The borrowed parse of [`prepare_statements`]: `None` whenever the `Value` path must answer
/// (the borrowed parse declined, an id clash, an authority that does not parse).
fn prepare_borrowed(
    body: &[u8],
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    facts: &StudyFacts,
    received: i64,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Option<Vec<PreparedStatement>> {
    let parsed = parse_statements_fast(body, version)?;
    let authority = authority_term(principal, version).ok()?;
    let authority_related = authority_related(principal, version).ok()?;
    let authority_json = serde_json::to_vec(&principal.authority).ok()?;
    // xAPI 1.0.3 Data §2.4.7: a missing timestamp is set to the receive time, as on the Value path.
    let timestamp = format_timestamp(received);
    let mut seen = HashSet::with_capacity(parsed.len());
    let mut prepared = Vec::with_capacity(parsed.len());
    for fast in &parsed {
        let statement = fast.statement();
        let (id, client_id) = match (statement.id(), put_id) {
            (Some(own), Some(param)) if own != param => return None,
            (Some(own), _) => (own, true),
            (None, Some(param)) => (param, true),
            (None, None) => (new_id(), false),
        };
        if !seen.insert(id) {
            return None;
        }
        let body = fast.stored_body(id, &authority_json, version, &timestamp);
        prepared.push(prepared_statement(
            statement,
            id,
            client_id,
            body,
            received,
            (&authority, &authority_related),
            facts,
        ));
    }
    Some(prepared)
}

/// A validated statement with its stored bytes, as the log takes it: index keys (with the
/// writing credential's `authority` term and its related agents) and the study-log fact.
fn prepared_statement(
    statement: &Statement,
    id: Uuid,
    client_id: bool,
    body: Vec<u8>,
    received: i64,
    (authority, authority_related): (&str, &[String]),
    facts: &StudyFacts,
) -> PreparedStatement {
    let mut terms = statement.index_terms();
    terms
        .related_agents
        .extend(authority_related.iter().cloned());
    terms.authority = authority.to_owned();
    let timestamp = statement
        .body()
        .timestamp()
        .map_or(received, |t| t.micros());
    let study = facts
        .enabled
        .then(|| StudyFact::of_statement(statement, timestamp, authority, &facts.config))
        .flatten()
        .map(|(fact, _)| StudyRow {
            day: facts.calendar.day_of(timestamp).days_since_epoch(),
            fact,
        });
    PreparedStatement {
        statement: EnvelopeStatement {
            id,
            keys: IndexKeys::from_terms(&terms),
            body,
            study,
        },
        client_id,
    }
}

/// Prepares a request on both parses with the same receive time and the same new ids, and
/// panics unless they agree: the same error, or the same statements (ids, index keys, study
/// facts, `client_id`, attachments) whose stored bodies, read with the parser the `Value` path
/// uses, serialise to the `Value` path's bytes. Returns the `Value` path's answer. For the
/// differential tests and the `write_paths` fuzz target.
pub(crate) fn prepare_both(
    body: &Bytes,
    content: &StatementContent,
    version: XapiVersion,
    principal: &Principal,
    put_id: Option<Uuid>,
    facts: &StudyFacts,
) -> Result<PreparedRequest, ApiError> {
    let run = |borrowed: bool| {
        let mut next = 0u128;
        let mut new_id = || {
            next += 1;
            Uuid::from_u128(next)
        };
        let how = Preparation {
            borrowed,
            received: 1_775_000_000_123_456,
            new_id: &mut new_id,
        };
        prepare_request_with(body, content, version, principal, put_id, facts, how)
    };
    let fast = run(true);
    let slow = run(false);
    let shown = String::from_utf8_lossy(body);
    match (&fast, &slow) {
        (Err(f), Err(s)) => assert_eq!(f.to_string(), s.to_string(), "errors of {shown}"),
        (Ok(f), Ok(s)) => {
            assert_eq!(f.attachments.len(), s.attachments.len(), "{shown}");
            assert_eq!(f.statements.len(), s.statements.len(), "{shown}");
            for (f, s) in f.statements.iter().zip(&s.statements) {
                let (f, s, client_id) = (&f.statement, &s.statement, (f.client_id, s.client_id));
                assert_eq!(client_id.0, client_id.1, "{shown}");
                assert_eq!(
                    (f.id, &f.keys, &f.study),
                    (s.id, &s.keys, &s.study),
                    "{shown}"
                );
                let read = lrs_schema::parse_json(&f.body).expect("stored bytes are JSON");
                let read = serde_json::to_vec(&read).expect("a JSON value always serializes");
                assert_eq!(
                    String::from_utf8_lossy(&read),
                    String::from_utf8_lossy(&s.body),
                    "stored form of {shown}"
                );
            }
        }
        _ => panic!(
            "the parses disagree on {shown}: borrowed {:?}, Value {:?}",
            fast.as_ref().err().map(ToString::to_string),
            slow.as_ref().err().map(ToString::to_string)
        ),
    }
    slow
}

#[cfg(test)]
mod tests {
    use lrs_auth::{Identity, Scopes};
    use serde_json::{Value, json};

    use super::*;

    fn principal() -> Principal {
        Principal {
            tenant: "t".into(),
            scopes: Scopes::empty(),
            user: None,
            prefecture: false,
            identity: Identity {
                home_page: "https://lrs.example.jp".into(),
                name: "tool-1".into(),
            },
            authority: json!({"objectType": "Agent", "name": "ドリル", "account": {"homePage": "https://lrs.example.jp", "name": "tool-1"}}),
        }
    }

    fn japanese() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schema/tests/fixtures/japan-statements.json"
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn both(body: &[u8], put_id: Option<Uuid>) -> Result<PreparedRequest, ApiError> {
        prepare_both(
            &Bytes::copy_from_slice(body),
            &StatementContent::Json,
            XapiVersion::V1_0_3,
            &principal(),
            put_id,
            &StudyFacts::default(),
        )
    }

    #[test]
    fn the_borrowed_parse_prepares_what_the_value_path_prepares() {
        let statements = japanese();
        let mut bodies: Vec<(Value, Option<Uuid>)> = vec![(Value::Array(statements.clone()), None)];
        for s in &statements {
            let mut without = s.clone();
            let map = without.as_object_mut().unwrap();
            map.shift_remove("id");
            map.shift_remove("timestamp");
            map.shift_remove("version");
            bodies.push((s.clone(), None));
            bodies.push((without.clone(), None));
            bodies.push((without, Some(Uuid::from_u128(7))));
        }
        for (sent, put_id) in bodies {
            for body in [
                serde_json::to_vec(&sent).unwrap(),
                serde_json::to_vec_pretty(&sent).unwrap(),
            ] {
                let prepared = both(&body, put_id).expect("accepted");
                assert!(!prepared.statements.is_empty());
                // The borrowed parse really answered (it declines nothing here).
                assert!(parse_statements_fast(&body, XapiVersion::V1_0_3).is_some());
            }
        }
    }

    #[test]
    fn a_request_the_value_path_refuses_gets_its_exact_error_with_the_borrowed_parse_on() {
        let statement = japanese()[0].clone();
        let id: Uuid = statement["id"].as_str().unwrap().parse().unwrap();
        let bodies: Vec<(Vec<u8>, Option<Uuid>)> = vec![
            (
                serde_json::to_vec(&json!([statement, statement])).unwrap(),
                None,
            ),
            (
                serde_json::to_vec(&statement).unwrap(),
                Some(Uuid::from_u128(1)),
            ),
            (serde_json::to_vec(&json!([statement])).unwrap(), Some(id)),
            (
                br#"{"actor":{"mbox":"mailto:a@example.jp"}}"#.to_vec(),
                None,
            ),
            (b"{\"a\":}".to_vec(), None),
        ];
        for (body, put_id) in bodies {
            // `both` panics unless the two errors are the same.
            assert!(both(&body, put_id).is_err());
        }
    }

    #[test]
    fn a_client_authority_is_replaced_with_the_same_result_on_either_path() {
        let mut statement = japanese()[0].clone();
        statement["authority"] = json!({"mbox": "mailto:x@example.jp"});
        let body = serde_json::to_vec(&statement).unwrap();
        assert!(parse_statements_fast(&body, XapiVersion::V1_0_3).is_none());
        both(&body, None).expect("accepted");
    }
}
