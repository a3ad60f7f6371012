//! The Agents Resource: GET and HEAD `/agents?agent=…` (xAPI 1.0.3 Communication §2.4; 2.0.0
//! §4.1.6.3).

use actix_web::{HttpRequest, HttpResponse, Resource, web};

use crate::routes::{READ_METHODS, xapi_resource};
use lrs_auth::Access;
use lrs_schema::{Agent, Ifi};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::routes::params::only_param;

const AGENT_RULE: &str = "xAPI 1.0.3 Communication §2.4.s2.table1.row1: the Agents Resource requires the \"agent\" parameter, an Agent object (JSON) with one identifier";

/// `/agents`, GET and HEAD.
pub fn resource() -> Resource {
    xapi_resource("/agents", READ_METHODS)
        .route(web::get().to(get))
        .route(web::head().to(get))
}

/// The Person object of an Agent.
///
/// xAPI 1.0.3 Communication §2.4.s3.b3: without more information about the Agent, the Person
/// holds "only … the information associated with the requested Agent". This LRS keeps no
/// directory of personas, so the Person combines exactly that: the Agent's `name` (if given) and
/// its one identifier, each as a one-element array (§2.4.s5).
pub async fn get(req: HttpRequest, auth: Authenticated) -> Result<HttpResponse, ApiError> {
    auth.require(Access::ReadProfile)?;
    let text = only_param(&req, "agent", AGENT_RULE)?;
    lrs_schema::check_json_depth(text.as_bytes(), "?agent")?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        ApiError::bad_request(AGENT_RULE, "?agent", format!("agent is not JSON: {e}"))
    })?;
    let agent = Agent::from_param(&value, "?agent")?;
    Ok(HttpResponse::Ok().json(person(&agent)))
}

/// xAPI 1.0.3 Communication §2.4.s5: `objectType` "Person", then arrays of names and identifiers.
fn person(agent: &Agent) -> Value {
    let mut person = Map::new();
    person.insert("objectType".into(), Value::from("Person"));
    if let Some(name) = agent.name() {
        person.insert("name".into(), json!([name]));
    }
    let (key, value) = match agent.ifi() {
        Ifi::Mbox(mbox) => ("mbox", json!(mbox.as_str())),
        Ifi::MboxSha1Sum(hex) => ("mbox_sha1sum", json!(hex)),
        Ifi::OpenId(iri) => ("openid", json!(iri.as_str())),
        Ifi::Account(account) => (
            "account",
            json!({"homePage": account.home_page().as_str(), "name": account.name()}),
        ),
    };
    person.insert(key.into(), Value::Array(vec![value]));
    Value::Object(person)
}
