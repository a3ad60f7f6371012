//! The Activities Resource: GET and HEAD `/activities?activityId=…` (xAPI 1.0.3 Communication
//! §2.5; 2.0.0 §4.1.6.4).

use actix_web::{HttpRequest, HttpResponse, Resource, web};

use crate::routes::{READ_METHODS, xapi_resource};
use lrs_auth::Access;
use lrs_schema::Iri;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::routes::params::only_param;

const ACTIVITY_ID_RULE: &str = "xAPI 1.0.3 Communication §2.5.s1.table1.row1: the Activities Resource requires the \"activityId\" parameter, an IRI";

/// `/activities`, GET and HEAD.
pub fn resource() -> Resource {
    xapi_resource("/activities", READ_METHODS)
        .route(web::get().to(get))
        .route(web::head().to(get))
}

/// The Activity with the canonical definition learned from the tenant's statements (see
/// `lrs_schema::DefinitionJson` for how definitions merge).
///
/// xAPI 1.0.3 Communication §2.5.s2.b1: an LRS without a canonical definition "SHOULD* still
/// return an Activity Object when queried" (2.0.0 conformance: with the id and `objectType`).
/// The lookup first waits for the credential's own writes acknowledged before the request (up
/// to `query.read_your_writes_wait_ms`), so a statement it POSTed just before is reflected.
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::ReadProfile)?;
    let id = only_param(&req, "activityId", ACTIVITY_ID_RULE)?;
    Iri::parse(&id).map_err(|e| ApiError::bad_request(e.rule(), "?activityId", e.message()))?;
    state
        .visibility()
        .wait_for_own_writes(
            Some(auth.writer()),
            state.queries.config().read_your_writes_wait,
        )
        .await;
    let definition = state
        .activities
        .get_activity_definition(auth.tenant(), &id)
        .await?;
    let mut activity = Map::new();
    activity.insert("objectType".into(), Value::from("Activity"));
    activity.insert("id".into(), Value::from(id));
    if let Some(definition) = definition.filter(|d| !d.is_empty()) {
        activity.insert("definition".into(), Value::Object(definition.into_map()));
    }
    Ok(HttpResponse::Ok().json(Value::Object(activity)))
}
