//! The typed GET /statements query.

use uuid::Uuid;

use crate::error::ValidationError;
use crate::format::StatementFormat;
use crate::iri::Iri;
use crate::json_depth::check_json_depth;
use crate::path::JsonPath;
use crate::statement::canonical_ifi;
use crate::timestamp::Timestamp;
use crate::uuid_text::parse_uuid;
use crate::version::XapiVersion;

const UNKNOWN_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b7: the LRS MUST reject with 400 Bad Request any requests that use any parameters which the LRS does not recognize";
const CASE_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b8: the LRS MUST reject with 400 Bad Request any requests that use parameters matching parameters described in this specification in all but case";
const REPEATED_RULE: &str =
    "xAPI 1.0.3 Communication §2.1.3: each GET Statements parameter takes one value";
const BOTH_IDS_RULE: &str = "xAPI 1.0.3 Communication §2.1.3: the LRS MUST reject with 400 Bad Request any requests which contain both statementId and voidedStatementId parameters";
const SINGLE_RULE: &str = "xAPI 1.0.3 Communication §2.1.3: the LRS MUST reject with 400 Bad Request any requests which contain statementId or voidedStatementId and any other parameter besides \"attachments\" or \"format\"";
const BOOLEAN_RULE: &str = "xAPI 1.0.3 Communication §2.1.3: Boolean parameters are represented as true or false as in JSON";
const LIMIT_RULE: &str = "xAPI 1.0.3 Communication §2.1.3: \"limit\" MUST be a nonnegative integer";
const FORMAT_RULE: &str =
    "xAPI 1.0.3 Communication §2.1.3: \"format\" MUST be one of ids, exact or canonical";
const AGENT_JSON_RULE: &str =
    "xAPI 1.0.3 Communication §2.1.3: \"agent\" MUST be an Agent or Identified Group Object (JSON)";

const PARAMETERS: [&str; 14] = [
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
];

/// The typed GET /statements query (xAPI 1.0.3 Communication §2.1.3; 2.0 GET Statements).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StatementQuery {
    pub statement_id: Option<Uuid>,
    pub voided_statement_id: Option<Uuid>,
    /// Canonical IFI (see [`canonical_ifi`]) of the JSON `agent` parameter.
    pub agent: Option<String>,
    /// Verb IRI.
    pub verb: Option<String>,
    /// Activity IRI.
    pub activity: Option<String>,
    pub registration: Option<Uuid>,
    pub related_activities: bool,
    pub related_agents: bool,
    /// Microseconds since the epoch, exclusive.
    pub since: Option<i64>,
    /// Microseconds since the epoch, inclusive.
    pub until: Option<i64>,
    /// 0 = the server maximum.
    pub limit: u32,
    pub format: StatementFormat,
    pub attachments: bool,
    pub ascending: bool,
}

impl StatementQuery {
    /// From decoded query-string pairs. Parameter names are case-sensitive; unknown names,
    /// repeated names, and invalid values are errors whose path is `?name`. The API must strip
    /// any parameter of its own (such as a paging cursor) before calling this.
    pub fn from_params(
        params: &[(String, String)],
        version: XapiVersion,
    ) -> Result<StatementQuery, ValidationError> {
        let mut query = StatementQuery::default();
        let mut seen: Vec<&str> = Vec::with_capacity(params.len());
        for (name, value) in params {
            let path_text = format!("?{name}");
            let path = JsonPath::root(&path_text);
            let Some(known) = PARAMETERS.iter().find(|p| **p == name.as_str()) else {
                let rule = if PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                    CASE_RULE
                } else {
                    UNKNOWN_RULE
                };
                return Err(ValidationError::new(
                    rule,
                    &path,
                    format!("unknown parameter \"{name}\""),
                ));
            };
            if seen.contains(known) {
                return Err(ValidationError::new(
                    REPEATED_RULE,
                    &path,
                    format!("parameter \"{name}\" is given twice"),
                ));
            }
            seen.push(known);
            query.set(known, value, version, &path)?;
        }
        if query.statement_id.is_some() && query.voided_statement_id.is_some() {
            return Err(ValidationError::at_str(
                BOTH_IDS_RULE,
                "?voidedStatementId",
                "both statementId and voidedStatementId",
            ));
        }
        let single = query.statement_id.is_some() || query.voided_statement_id.is_some();
        let other = seen.iter().find(|p| {
            !matches!(
                **p,
                "statementId" | "voidedStatementId" | "attachments" | "format"
            )
        });
        if single && let Some(other) = other {
            return Err(ValidationError::at_str(
                SINGLE_RULE,
                &format!("?{other}"),
                format!("\"{other}\" with a single-statement request"),
            ));
        }
        Ok(query)
    }

    fn set(
        &mut self,
        name: &str,
        value: &str,
        version: XapiVersion,
        path: &JsonPath<'_>,
    ) -> Result<(), ValidationError> {
        // xAPI 1.0.3 Data §2.2.s4.b4: parameter values are validated like the same types in Statements.
        match name {
            "statementId" => self.statement_id = Some(parse_uuid(value, path)?),
            "voidedStatementId" => self.voided_statement_id = Some(parse_uuid(value, path)?),
            "agent" => {
                check_json_depth(value.as_bytes(), &path.render())?;
                let json: serde_json::Value = serde_json::from_str(value).map_err(|e| {
                    ValidationError::new(AGENT_JSON_RULE, path, format!("agent is not JSON: {e}"))
                })?;
                self.agent = Some(canonical_ifi(&json, version, &path.render())?);
            }
            "verb" => self.verb = Some(Iri::parse_at(value, path)?.as_str().to_owned()),
            "activity" => self.activity = Some(Iri::parse_at(value, path)?.as_str().to_owned()),
            "registration" => self.registration = Some(parse_uuid(value, path)?),
            "related_activities" => self.related_activities = boolean(value, path)?,
            "related_agents" => self.related_agents = boolean(value, path)?,
            "since" => self.since = Some(Timestamp::parse_at(value, version, path)?.micros()),
            "until" => self.until = Some(Timestamp::parse_at(value, version, path)?.micros()),
            "limit" => {
                let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                self.limit = digits_only
                    .then(|| value.parse::<u64>().ok())
                    .flatten()
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                    .ok_or_else(|| {
                        ValidationError::new(
                            LIMIT_RULE,
                            path,
                            format!("\"{value}\" is not a nonnegative integer"),
                        )
                    })?;
            }
            "format" => {
                self.format = StatementFormat::parse(value).ok_or_else(|| {
                    ValidationError::new(FORMAT_RULE, path, format!("unknown format \"{value}\""))
                })?;
            }
            "attachments" => self.attachments = boolean(value, path)?,
            _ => self.ascending = boolean(value, path)?,
        }
        Ok(())
    }
}

fn boolean(value: &str, path: &JsonPath<'_>) -> Result<bool, ValidationError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValidationError::new(
            BOOLEAN_RULE,
            path,
            format!("\"{value}\" is not true or false"),
        )),
    }
}
