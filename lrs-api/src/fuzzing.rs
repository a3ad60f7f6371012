//! Entry points for the fuzz targets in `fuzz/` (docs/fuzzing.md). Not an API: hidden from the
//! documentation, with no stability promise. Each runs one parser of request input the way the
//! handlers do, and returns an outcome instead of an HTTP answer; a panic, an abort or a hang is
//! what the fuzzer looks for.

use actix_web::http::Method;
use bytes::Bytes;
use lrs_auth::{Principal, Scopes};
use lrs_schema::XapiVersion;
use serde_json::Value;
use uuid::Uuid;

use crate::alternate;
use crate::prepare::{StatementContent, prepare_request};
use crate::signature;

/// A statement request after its body was read: the `Content-Type` decides the framing
/// (`application/json` or `multipart/mixed; boundary=…`), then the body is parsed, validated,
/// its attachment parts matched and its signatures verified, and the statements finalized as for
/// the log. `put` makes it a PUT with a statementId. Returns how many statements were accepted.
pub fn statement_request(
    content_type: &str,
    body: &[u8],
    version: XapiVersion,
    put: bool,
) -> Result<usize, String> {
    request_through(prepare_request, content_type, body, version, put)
}

/// [`statement_request`] on both parses of the write path (the borrowed parse and the
/// `serde_json::Value` one, issue 12), with the same receive time and new ids: panics unless
/// they give the same error or the same statements, index keys, study facts and stored JSON.
pub fn write_paths(
    content_type: &str,
    body: &[u8],
    version: XapiVersion,
    put: bool,
) -> Result<usize, String> {
    request_through(
        crate::prepare::prepare_both,
        content_type,
        body,
        version,
        put,
    )
}

/// `prepare_request` or `prepare_both`.
type Prepare = fn(
    &Bytes,
    &StatementContent,
    XapiVersion,
    &Principal,
    Option<Uuid>,
    &crate::StudyFacts,
) -> Result<crate::prepare::PreparedRequest, crate::error::ApiError>;

/// The fuzz input as a request, through `prepare`: how many statements it accepted.
fn request_through(
    prepare: Prepare,
    content_type: &str,
    body: &[u8],
    version: XapiVersion,
    put: bool,
) -> Result<usize, String> {
    let content = StatementContent::from_content_type(content_type).map_err(|e| e.to_string())?;
    let put_id = put.then(|| Uuid::from_u128(0x16));
    let prepared = prepare(
        &Bytes::copy_from_slice(body),
        &content,
        version,
        &principal(),
        put_id,
        &crate::StudyFacts::default(),
    )
    .map_err(|e| e.to_string())?;
    Ok(prepared.statements.len())
}

/// A signature attachment's bytes (a JWS) checked against the statement as received.
pub fn signature(jws: &[u8], received: &Value) -> Result<(), String> {
    signature::verify(jws, received).map_err(|e| e.to_string())
}

/// An alternate-syntax form body (xAPI 1.0.3 Communication §1.3) decoded as the middleware
/// does before it rewrites the request: the fields sorted into headers, content and query, the
/// query made into the new URI and the header fields into header values. Returns the
/// content's length.
pub fn alternate_request(method: &str, form: &[u8]) -> Result<usize, String> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let translated = alternate::translate(method, form).map_err(|e| e.to_string())?;
    alternate::rewritten_uri("/xapi/statements", &translated.query).map_err(|e| e.to_string())?;
    for (name, value) in &translated.headers {
        alternate::header_value(name, value).map_err(|e| e.to_string())?;
    }
    Ok(translated.content.map_or(0, |c| c.len()))
}

/// The principal statement requests are prepared for: an Agent authority, every scope.
fn principal() -> Principal {
    Principal {
        tenant: "fuzz".into(),
        scopes: Scopes::parse_list_lenient(["all"]),
        identity: lrs_auth::Identity {
            home_page: "https://lrs.example.jp".into(),
            name: "fuzz".into(),
        },
        authority: serde_json::json!({
            "objectType": "Agent",
            "account": {"homePage": "https://lrs.example.jp", "name": "fuzz"}
        }),
        user: None,
        prefecture: false,
    }
}
