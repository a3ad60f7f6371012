//! The typed query parameters of the three document resources: State, Activity Profile and
//! Agent Profile.
//!
//! xAPI 1.0.3 Communication §2.3, §2.6, §2.7 (2.0: §4.1.6.2, §4.1.6.5, §4.1.6.6). Parameter
//! names are case-sensitive; unknown, repeated, missing and malformed parameters are errors whose
//! path is `?name`.

use uuid::Uuid;

use crate::actor::Agent;
use crate::error::ValidationError;
use crate::iri::Iri;
use crate::json_depth::check_json_depth;
use crate::limits::{DOCUMENT_ADDRESS_RULE, MAX_DOCUMENT_ADDRESS_BYTES};
use crate::path::JsonPath;
use crate::timestamp::Timestamp;
use crate::uuid_text::parse_uuid;
use crate::version::XapiVersion;

const UNKNOWN_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b7: the LRS MUST reject with 400 Bad Request any requests that use any parameters which the LRS does not recognize";
const CASE_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b8: the LRS MUST reject with 400 Bad Request any requests that use parameters matching parameters described in this specification in all but case";
const REPEATED_RULE: &str =
    "xAPI 1.0.3 Communication §2.2: each document resource parameter takes one value";
const AGENT_JSON_RULE: &str =
    "xAPI 1.0.3 Communication §2.3 and §2.6: \"agent\" MUST be an Agent Object (JSON)";
const ID_RULE: &str =
    "xAPI 1.0.3 Communication §2.3, §2.6, §2.7: a stateId or profileId is a non-empty String";

/// One of the three document resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentResource {
    /// `/activities/state`: documents of an Agent in an Activity (and a registration).
    State,
    /// `/activities/profile`: documents of an Activity.
    ActivityProfile,
    /// `/agents/profile`: documents of an Agent.
    AgentProfile,
}

/// What a request does, which decides the parameters it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentMethod {
    /// GET or HEAD: one document (with its id) or the list of ids (without, filtered by `since`).
    Read,
    /// PUT or POST: one document; its id is required.
    Write,
    /// DELETE: one document, or (State only) every document of the context.
    Delete,
}

impl DocumentResource {
    /// The name of the parameter holding a document's id.
    pub fn id_parameter(self) -> &'static str {
        match self {
            DocumentResource::State => "stateId",
            DocumentResource::ActivityProfile | DocumentResource::AgentProfile => "profileId",
        }
    }

    fn takes_activity(self) -> bool {
        matches!(
            self,
            DocumentResource::State | DocumentResource::ActivityProfile
        )
    }

    fn takes_agent(self) -> bool {
        matches!(
            self,
            DocumentResource::State | DocumentResource::AgentProfile
        )
    }

    /// Whether a request of `method` must name one document. A DELETE without a stateId deletes
    /// every State document of its context; the profile resources have no such bulk delete.
    fn id_required(self, method: DocumentMethod) -> bool {
        match method {
            DocumentMethod::Read => false,
            DocumentMethod::Write => true,
            DocumentMethod::Delete => self != DocumentResource::State,
        }
    }
}

/// The parameters of one document request, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentParams {
    pub resource: DocumentResource,
    /// State and Activity Profile: the Activity's IRI.
    pub activity_id: Option<Iri>,
    /// State and Agent Profile: the canonical inverse functional identifier of the `agent`
    /// parameter (see [`crate::canonical_ifi`]), so any JSON spelling of one Agent (another
    /// key order, a `name`, an upper-case mbox domain) addresses the same documents.
    pub agent: Option<String>,
    /// State only.
    pub registration: Option<Uuid>,
    /// The `stateId` or `profileId`: one document when present.
    pub id: Option<String>,
    /// Reads of the id list only: microseconds since the epoch, exclusive.
    pub since: Option<i64>,
}

impl DocumentParams {
    /// From decoded query-string pairs.
    pub fn from_params(
        resource: DocumentResource,
        method: DocumentMethod,
        params: &[(String, String)],
        version: XapiVersion,
    ) -> Result<DocumentParams, ValidationError> {
        let known = known_parameters(resource, method);
        let mut out = DocumentParams {
            resource,
            activity_id: None,
            agent: None,
            registration: None,
            id: None,
            since: None,
        };
        let mut seen: Vec<&str> = Vec::with_capacity(params.len());
        for (name, value) in params {
            let path_text = format!("?{name}");
            let path = JsonPath::root(&path_text);
            let Some(name) = known.iter().copied().find(|p| *p == name.as_str()) else {
                return Err(unknown(resource, &known, name, &path));
            };
            if seen.contains(&name) {
                return Err(ValidationError::new(
                    REPEATED_RULE,
                    &path,
                    format!("parameter \"{name}\" is given twice"),
                ));
            }
            seen.push(name);
            out.set(name, value, version, &path)?;
        }
        out.check_required(method)?;
        out.check_address_length()?;
        Ok(out)
    }

    /// The bytes that address the document(s): see [`MAX_DOCUMENT_ADDRESS_BYTES`].
    pub fn address_len(&self) -> usize {
        self.activity_id
            .as_ref()
            .map_or(0, |iri| iri.as_str().len())
            + self.agent.as_ref().map_or(0, String::len)
            + self.id.as_ref().map_or(0, String::len)
    }

    /// The address is part of a store key, which every backend must hold.
    fn check_address_length(&self) -> Result<(), ValidationError> {
        let length = self.address_len();
        if length <= MAX_DOCUMENT_ADDRESS_BYTES {
            return Ok(());
        }
        let parameter = if self.id.is_some() {
            self.resource.id_parameter()
        } else if self.agent.is_some() {
            "agent"
        } else {
            "activityId"
        };
        Err(ValidationError::at_str(
            DOCUMENT_ADDRESS_RULE,
            &format!("?{parameter}"),
            format!(
                "activityId, agent and {} address {length} bytes together, more than {MAX_DOCUMENT_ADDRESS_BYTES}",
                self.resource.id_parameter()
            ),
        ))
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
            "activityId" => self.activity_id = Some(Iri::parse_at(value, path)?),
            "agent" => self.agent = Some(agent_ifi(value, path)?),
            "registration" => self.registration = Some(parse_uuid(value, path)?),
            "since" => self.since = Some(Timestamp::parse_at(value, version, path)?.micros()),
            _ => {
                if value.is_empty() {
                    return Err(ValidationError::new(ID_RULE, path, "the id is empty"));
                }
                self.id = Some(value.to_owned());
            }
        }
        Ok(())
    }

    fn check_required(&self, method: DocumentMethod) -> Result<(), ValidationError> {
        let resource = self.resource;
        let missing = if resource.takes_activity() && self.activity_id.is_none() {
            Some("activityId")
        } else if resource.takes_agent() && self.agent.is_none() {
            Some("agent")
        } else if resource.id_required(method) && self.id.is_none() {
            Some(resource.id_parameter())
        } else {
            None
        };
        match missing {
            None => Ok(()),
            Some(name) => Err(ValidationError::at_str(
                required_rule(resource),
                &format!("?{name}"),
                format!("missing required parameter \"{name}\""),
            )),
        }
    }
}

/// The parameters a resource takes for a method. `since` belongs to the id list only, which is
/// a read; a single-document read ignores it (xAPI 1.0.3 Communication §2.3: "There is no
/// requirement here that the LRS reacts to the since parameter" with a stateId).
fn known_parameters(resource: DocumentResource, method: DocumentMethod) -> Vec<&'static str> {
    let mut known = Vec::with_capacity(5);
    if resource.takes_activity() {
        known.push("activityId");
    }
    if resource.takes_agent() {
        known.push("agent");
    }
    if resource == DocumentResource::State {
        known.push("registration");
    }
    known.push(resource.id_parameter());
    if method == DocumentMethod::Read {
        known.push("since");
    }
    known
}

fn unknown(
    resource: DocumentResource,
    known: &[&str],
    name: &str,
    path: &JsonPath<'_>,
) -> ValidationError {
    let rule = if known.iter().any(|p| p.eq_ignore_ascii_case(name)) {
        CASE_RULE
    } else {
        UNKNOWN_RULE
    };
    ValidationError::new(
        rule,
        path,
        format!(
            "unknown parameter \"{name}\" for this request to the {resource:?} resource (it takes {})",
            known.join(", ")
        ),
    )
}

fn required_rule(resource: DocumentResource) -> &'static str {
    match resource {
        DocumentResource::State => {
            "xAPI 1.0.3 Communication §2.3 (2.0 §4.1.6.2): activityId and agent are required, and stateId is required to PUT or POST"
        }
        DocumentResource::ActivityProfile => {
            "xAPI 1.0.3 Communication §2.7 (2.0 §4.1.6.6): activityId is required, and profileId is required to PUT, POST or DELETE"
        }
        DocumentResource::AgentProfile => {
            "xAPI 1.0.3 Communication §2.6 (2.0 §4.1.6.5): agent is required, and profileId is required to PUT, POST or DELETE"
        }
    }
}

/// The canonical IFI of the JSON `agent` parameter, which MUST be an Agent (not a Group).
fn agent_ifi(value: &str, path: &JsonPath<'_>) -> Result<String, ValidationError> {
    check_json_depth(value.as_bytes(), &path.render())?;
    let json: serde_json::Value = serde_json::from_str(value).map_err(|e| {
        ValidationError::new(AGENT_JSON_RULE, path, format!("agent is not JSON: {e}"))
    })?;
    if !json.is_object() {
        return Err(ValidationError::new(
            AGENT_JSON_RULE,
            path,
            "agent is not a JSON object",
        ));
    }
    Ok(Agent::parse(&json, path)?.ifi().canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pair = (&'static str, &'static str);

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const AGENT: &str = r#"{"objectType":"Agent","account":{"homePage":"https://eportal.example.jp","name":"生徒-1"}}"#;

    fn state(
        list: &[(&str, &str)],
        method: DocumentMethod,
    ) -> Result<DocumentParams, ValidationError> {
        DocumentParams::from_params(
            DocumentResource::State,
            method,
            &pairs(list),
            XapiVersion::V2_0_0,
        )
    }

    #[test]
    fn a_full_state_request_is_typed_with_a_canonical_agent() {
        let params = state(
            &[
                ("activityId", "https://drill.example.jp/units/1"),
                ("agent", AGENT),
                ("registration", "6F1B1E6C-0D4B-4C52-9A4E-3C7E0F1D2A3B"),
                ("stateId", "bookmark"),
            ],
            DocumentMethod::Write,
        )
        .unwrap();
        assert_eq!(
            params.agent.as_deref(),
            Some("account::https://eportal.example.jp::生徒-1")
        );
        assert_eq!(
            params.registration.unwrap().to_string(),
            "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b"
        );
        assert_eq!(params.id.as_deref(), Some("bookmark"));
    }

    #[test]
    fn two_spellings_of_one_agent_have_one_canonical_form() {
        let a = r#"{"mbox":"mailto:Taro@Example.JP","name":"Taro"}"#;
        let b = r#"{"objectType":"Agent","mbox":"mailto:Taro@example.jp"}"#;
        let path = JsonPath::root("?agent");
        assert_eq!(agent_ifi(a, &path).unwrap(), agent_ifi(b, &path).unwrap());
    }

    #[test]
    fn missing_required_parameters_are_named() {
        let cases: [(&[Pair], DocumentMethod, &str); 4] = [
            (
                &[("agent", AGENT), ("stateId", "s")],
                DocumentMethod::Write,
                "?activityId",
            ),
            (
                &[("activityId", "https://a.example/x"), ("stateId", "s")],
                DocumentMethod::Read,
                "?agent",
            ),
            (
                &[("activityId", "https://a.example/x"), ("agent", AGENT)],
                DocumentMethod::Write,
                "?stateId",
            ),
            (&[], DocumentMethod::Delete, "?activityId"),
        ];
        for (list, method, path) in cases {
            let err = state(list, method).unwrap_err();
            assert_eq!(err.path(), path, "{list:?}");
        }
        let err = DocumentParams::from_params(
            DocumentResource::AgentProfile,
            DocumentMethod::Delete,
            &pairs(&[("agent", AGENT)]),
            XapiVersion::V1_0_3,
        )
        .unwrap_err();
        assert_eq!(err.path(), "?profileId");
    }

    #[test]
    fn a_state_delete_without_a_state_id_addresses_every_document_of_the_context() {
        let params = state(
            &[("activityId", "https://a.example/x"), ("agent", AGENT)],
            DocumentMethod::Delete,
        )
        .unwrap();
        assert_eq!(params.id, None);
    }

    #[test]
    fn malformed_unknown_and_repeated_parameters_are_rejected() {
        let base = [("activityId", "https://a.example/x"), ("agent", AGENT)];
        let bad: [(&str, &str, DocumentMethod); 10] = [
            ("agent", "not JSON", DocumentMethod::Read),
            ("agent", "true", DocumentMethod::Read),
            (
                "agent",
                r#"{"objectType":"Group","mbox":"mailto:g@example.jp"}"#,
                DocumentMethod::Read,
            ),
            ("agent", r#"{"name":"no identifier"}"#, DocumentMethod::Read),
            ("registration", "true", DocumentMethod::Read),
            ("since", "not a timestamp", DocumentMethod::Read),
            ("since", "2025-10-14T10:00:00Z", DocumentMethod::Delete),
            ("stateId", "", DocumentMethod::Read),
            ("StateId", "s", DocumentMethod::Read),
            ("profileId", "s", DocumentMethod::Read),
        ];
        for (name, value, method) in bad {
            let mut list = base.to_vec();
            list.push((name, value));
            let err = state(&list, method).unwrap_err();
            assert_eq!(err.path(), format!("?{name}"), "{name}={value}");
        }
        let mut list = base.to_vec();
        list.push(("activityId", "https://a.example/y"));
        assert_eq!(
            state(&list, DocumentMethod::Read).unwrap_err().path(),
            "?activityId"
        );
        let err = DocumentParams::from_params(
            DocumentResource::ActivityProfile,
            DocumentMethod::Read,
            &pairs(&[("activityId", "not an iri")]),
            XapiVersion::V1_0_3,
        )
        .unwrap_err();
        assert_eq!(err.path(), "?activityId");
    }

    #[test]
    fn since_is_a_timestamp_of_the_request_version() {
        let list = [
            ("activityId", "https://a.example/x"),
            ("agent", AGENT),
            ("since", "2025-10-14T10:00:00"),
        ];
        let v1 = DocumentParams::from_params(
            DocumentResource::State,
            DocumentMethod::Read,
            &pairs(&list),
            XapiVersion::V1_0_3,
        );
        assert!(
            v1.unwrap().since.is_some(),
            "1.0.3 reads a bare time as UTC"
        );
        assert!(
            state(&list, DocumentMethod::Read).is_err(),
            "2.0 needs an offset"
        );
    }
}
