//! Query-string parameters: decoding, and the resources that take exactly one.

use actix_web::HttpRequest;

use crate::error::ApiError;

const UNKNOWN_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b7: the LRS MUST reject with 400 Bad Request any requests that use any parameters which the LRS does not recognize";
const CASE_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b8: the LRS MUST reject with 400 Bad Request any requests that use parameters matching parameters described in this specification in all but case";

/// Decoded query-string pairs, in order.
pub(crate) type QueryParams = Vec<(String, String)>;

/// The query string as name/value pairs, in order; not form-urlencoded → 400.
pub(crate) fn query_pairs(req: &HttpRequest) -> Result<QueryParams, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::bad_request(
            "RFC 3986: the query string must be form-urlencoded",
            "?",
            e.to_string(),
        )
    })
}

/// The value of `name`, the only parameter the resource takes. `required_rule` names the rule a
/// request without it breaks; an unknown, miscased or repeated parameter is a 400 too.
pub(crate) fn only_param(
    req: &HttpRequest,
    name: &str,
    required_rule: &str,
) -> Result<String, ApiError> {
    let pairs = query_pairs(req)?;
    let mut value = None;
    for (key, v) in pairs {
        if key != name {
            let rule = if key.eq_ignore_ascii_case(name) {
                CASE_RULE
            } else {
                UNKNOWN_RULE
            };
            return Err(ApiError::bad_request(
                rule,
                &format!("?{key}"),
                format!("unknown parameter \"{key}\"; this resource takes only \"{name}\""),
            ));
        }
        if value.replace(v).is_some() {
            return Err(ApiError::bad_request(
                required_rule,
                &format!("?{name}"),
                format!("parameter \"{name}\" is given twice"),
            ));
        }
    }
    value.ok_or_else(|| {
        ApiError::bad_request(
            required_rule,
            &format!("?{name}"),
            format!("missing parameter \"{name}\""),
        )
    })
}
