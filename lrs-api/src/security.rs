//! Keeping what clients store from running as the LRS's own pages.
//!
//! Documents (State, Activity Profile, Agent Profile) are stored with the `Content-Type` their
//! writer chose and served back with it: a tool may store `text/html` or `image/svg+xml`. Served
//! as active content from the LRS's origin, such a document would run its scripts with that
//! origin (a stored-XSS path once the origin has session cookies). So:
//!
//! - every response carries `X-Content-Type-Options: nosniff` (browsers never guess a type) and
//!   `Content-Security-Policy: sandbox` (a document opened anyway runs in a unique origin, with
//!   scripts, forms and plugins off) — [`security_headers`], wrapped around the whole app;
//! - a stored body served back also gets `Content-Disposition: attachment` when its type is one
//!   a browser would render actively ([`is_active`]), so it is downloaded, not opened —
//!   [`serve_stored`]; the document resources and `multipart/mixed` statement answers use it.

use actix_web::HttpResponseBuilder;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const SANDBOX: HeaderValue = HeaderValue::from_static("sandbox");

/// Middleware: `nosniff` and `sandbox` on every response (a handler's own values are kept).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, SANDBOX);
    }
    Ok(response)
}

/// The headers of a response whose body is stored client content of `content_type`: `nosniff`,
/// `sandbox` and, for an active type, `Content-Disposition: attachment`.
pub(crate) fn serve_stored(response: &mut HttpResponseBuilder, content_type: &str) {
    response
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, NOSNIFF))
        .insert_header((header::CONTENT_SECURITY_POLICY, SANDBOX));
    if is_active(content_type) {
        response.insert_header((header::CONTENT_DISPOSITION, "attachment"));
    }
}

/// Whether a browser opening a body of `content_type` could run script or render markup from it:
///
/// - HTML, XML of every kind (`text/html`, `application/xhtml+xml`, `text/xml`,
///   `application/xml`, `text/xsl`, any `…+xml` such as `image/svg+xml`);
/// - scripts (any subtype naming `javascript`, `ecmascript`, `jscript`, `vbscript` or
///   `livescript`);
/// - documents with their own scripting or plugins (`application/pdf`,
///   `application/x-shockwave-flash`);
/// - containers browsers may render part by part (`multipart/…`, `message/…`);
/// - anything that is not a well-formed `type/subtype` (a browser's guess is unknowable).
///
/// JSON, plain text, images other than SVG, audio, video, fonts and `application/octet-stream`
/// are passive.
pub fn is_active(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return true;
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(is_token_byte);
    if !token(kind) || !token(subtype) {
        return true;
    }
    const MARKUP: [&str; 6] = ["html", "xhtml+xml", "xml", "xsl", "xslt+xml", "svg+xml"];
    const SCRIPT: [&str; 5] = [
        "javascript",
        "ecmascript",
        "jscript",
        "vbscript",
        "livescript",
    ];
    const PLUGIN: [&str; 2] = ["pdf", "x-shockwave-flash"];
    matches!(kind, "multipart" | "message")
        || subtype.ends_with("+xml")
        || MARKUP.contains(&subtype)
        || SCRIPT.iter().any(|script| subtype.contains(script))
        || (kind == "application" && PLUGIN.contains(&subtype))
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::is_active;

    #[test]
    fn markup_scripts_plugins_containers_and_malformed_types_are_active() {
        for active in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "application/xml",
            "application/rss+xml",
            "text/xsl",
            "text/javascript",
            "application/javascript",
            "application/x-javascript",
            "text/ecmascript",
            "text/vbscript",
            "application/pdf",
            "application/x-shockwave-flash",
            "multipart/x-mixed-replace; boundary=x",
            "multipart/mixed",
            "message/rfc822",
            "",
            "html",
            "text/",
            "text/html, text/plain",
            "text/ html",
        ] {
            assert!(is_active(active), "{active:?}");
        }
    }

    #[test]
    fn json_text_images_media_and_octet_streams_are_passive() {
        for passive in [
            "application/json",
            "application/json; charset=utf-8",
            "application/ld+json",
            "text/plain",
            "text/csv",
            "image/png",
            "image/jpeg",
            "audio/mpeg",
            "video/mp4",
            "font/woff2",
            "application/octet-stream",
        ] {
            assert!(!is_active(passive), "{passive:?}");
        }
    }
}
