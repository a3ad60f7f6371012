//! Signed statements (xAPI 1.0.3 Data §2.6; xAPI 2.0 keeps the same section): a JWS over the
//! statement, carried as an attachment.
//!
//! xAPI 1.0.3 Data §2.6.s5.b3: the LRS decodes the JWS and loads the statement from its payload,
//! checks that it is equivalent to the received statement (Data §2.3.1 comparison rules, so
//! `attachments`, `authority`, `stored` and `version` are ignored and durations compare to
//! 0.01 s), and, "if the JWS header includes an X.509 certificate", verifies the signature with
//! it. Without an `x5c` header there is no key to verify with (the spec names no other source),
//! so such a signature is checked for structure, algorithm and payload only. As §2.6 notes, the
//! certificate check catches mistakes; it is not trust: the chain and validity dates are not
//! checked, and clients MUST NOT assume a signature is valid because an LRS accepted it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use x509_cert::Certificate;
use x509_cert::der::Decode;

const JWS_RULE: &str = "xAPI Data §2.6.s4.b1: a signature Attachment MUST hold a JSON Web Signature (RFC 7515); this LRS reads the JWS Compact Serialization (§2.6.s4.b2)";
const PAYLOAD_RULE: &str = "xAPI Data §2.6.s4.b3: the JWS payload MUST be a valid JSON serialization of the complete Statement";
const ALGORITHM_RULE: &str =
    "xAPI Data §2.6.s4.b4: the JWS signature MUST use an algorithm of RS256, RS384 or RS512";
const EQUIVALENCE_RULE: &str = "xAPI Data §2.6.s5.b3.b2: the statement in the JWS payload MUST be logically equivalent to the received statement";
const CERTIFICATE_RULE: &str = "xAPI Data §2.6.s5.b3.b3: when the JWS header includes an X.509 certificate (x5c), the signature MUST verify against it";

/// Why a signature was refused: the rule and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SignatureError {
    rule: &'static str,
    message: String,
}

impl SignatureError {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        SignatureError {
            rule,
            message: message.into(),
        }
    }

    pub fn rule(&self) -> &'static str {
        self.rule
    }
}

/// The JOSE header fields we read; RFC 7515 §4: other fields are ignored, except `crit`.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    x5c: Option<Vec<String>>,
    #[serde(default)]
    crit: Option<Value>,
}

/// Verifies the JWS `jws` (the attachment's bytes) against the statement as received.
pub fn verify(jws: &[u8], received: &Value) -> Result<(), SignatureError> {
    let text = std::str::from_utf8(jws)
        .map_err(|_| SignatureError::new(JWS_RULE, "the signature is not text"))?
        .trim_ascii();
    if text.starts_with('{') {
        return Err(SignatureError::new(
            JWS_RULE,
            "the JWS JSON Serialization is not accepted; send the JWS Compact Serialization",
        ));
    }
    let segments: Vec<&str> = text.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(SignatureError::new(
            JWS_RULE,
            format!(
                "a JWS compact serialization has 3 dot-separated parts, not {}",
                segments.len()
            ),
        ));
    };
    let header_bytes = base64url(header_b64, "header")?;
    depth_checked(&header_bytes)?;
    let header: JoseHeader = serde_json::from_slice(&header_bytes).map_err(|e| {
        SignatureError::new(
            JWS_RULE,
            format!("the JWS header is not a JOSE header: {e}"),
        )
    })?;
    if header.crit.is_some() {
        return Err(SignatureError::new(
            JWS_RULE,
            "the JWS header names critical extensions (crit), which this LRS does not understand",
        ));
    }
    let algorithm = match header.alg.as_str() {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        other => {
            return Err(SignatureError::new(
                ALGORITHM_RULE,
                format!("the JWS algorithm is {other:?}"),
            ));
        }
    };
    let signature = base64url(signature_b64, "signature")?;
    if signature.is_empty() {
        return Err(SignatureError::new(JWS_RULE, "the JWS signature is empty"));
    }
    let payload = base64url(payload_b64, "payload")?;
    depth_checked(&payload)?;
    let signed: Value = serde_json::from_slice(&payload).map_err(|e| {
        SignatureError::new(PAYLOAD_RULE, format!("the JWS payload is not JSON: {e}"))
    })?;
    if !signed.is_object() {
        return Err(SignatureError::new(
            PAYLOAD_RULE,
            "the JWS payload is not a statement object",
        ));
    }
    if !lrs_schema::statements_equivalent(&signed, received) {
        return Err(SignatureError::new(
            EQUIVALENCE_RULE,
            "the signed statement differs from the statement sent",
        ));
    }
    if let Some(chain) = &header.x5c {
        let signing_input = &text[..header_b64.len() + 1 + payload_b64.len()];
        verify_with_certificate(chain, signing_input, signature_b64, algorithm)?;
    }
    Ok(())
}

/// The JSON of a JWS part passes the LRS's nesting limit before it is parsed (parsing and the
/// equivalence check recurse per level).
fn depth_checked(json: &[u8]) -> Result<(), SignatureError> {
    lrs_schema::check_json_depth(json, "$").map_err(|e| SignatureError {
        rule: lrs_schema::limits::JSON_DEPTH_RULE,
        message: format!("in the JWS: {}", e.message()),
    })
}

fn base64url(segment: &str, what: &str) -> Result<Vec<u8>, SignatureError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
        SignatureError::new(
            JWS_RULE,
            format!("the JWS {what} is not unpadded base64url"),
        )
    })
}

/// RFC 7515 §4.1.6: `x5c` holds base64 (not base64url) DER certificates, the signer's first.
fn verify_with_certificate(
    chain: &[String],
    signing_input: &str,
    signature_b64: &str,
    algorithm: Algorithm,
) -> Result<(), SignatureError> {
    let first = chain.first().ok_or_else(|| {
        SignatureError::new(CERTIFICATE_RULE, "the x5c certificate chain is empty")
    })?;
    let der = STANDARD
        .decode(first)
        .map_err(|_| SignatureError::new(CERTIFICATE_RULE, "the first x5c entry is not base64"))?;
    let certificate = Certificate::from_der(&der).map_err(|e| {
        SignatureError::new(
            CERTIFICATE_RULE,
            format!("the first x5c entry is not an X.509 certificate: {e}"),
        )
    })?;
    let key_info = &certificate.tbs_certificate.subject_public_key_info;
    if key_info.algorithm.oid != RSA_ENCRYPTION {
        return Err(SignatureError::new(
            CERTIFICATE_RULE,
            format!(
                "the x5c certificate holds a {} key, not an RSA key",
                key_info.algorithm.oid
            ),
        ));
    }
    let pkcs1 = key_info.subject_public_key.raw_bytes();
    let key = DecodingKey::from_rsa_der(pkcs1);
    match jsonwebtoken::crypto::verify(signature_b64, signing_input.as_bytes(), &key, algorithm) {
        Ok(true) => Ok(()),
        Ok(false) => Err(SignatureError::new(
            CERTIFICATE_RULE,
            "the JWS signature does not verify against the x5c certificate's key",
        )),
        Err(e) => Err(SignatureError::new(
            CERTIFICATE_RULE,
            format!("the x5c certificate's RSA key cannot be used: {e}"),
        )),
    }
}

/// rsaEncryption (RFC 8017 Appendix C).
const RSA_ENCRYPTION: x509_cert::der::asn1::ObjectIdentifier =
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn unsigned(header: &Value, payload: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload),
            b64(b"not-a-real-signature")
        )
    }

    fn statement() -> Value {
        json!({
            "id": "0b8c1f0e-6f6a-4c53-9a0e-1d6f5a2f7c11",
            "actor": {"mbox": "mailto:hanako@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://eportal.example.jp/courses/math-1"},
            "result": {"duration": "PT1M0.12S"}
        })
    }

    #[test]
    fn a_jws_nesting_deeper_than_the_limit_is_refused_before_it_is_parsed() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let payload = format!(r#"{{"actor":{deep}}}"#);
        let in_payload = unsigned(&json!({"alg": "RS256"}), payload.as_bytes());
        let in_header = format!(
            "{}.{}.{}",
            b64(format!(r#"{{"alg":"RS256","x":{deep}}}"#).as_bytes()),
            b64(statement().to_string().as_bytes()),
            b64(b"sig")
        );
        for jws in [in_payload, in_header] {
            let err = verify(jws.as_bytes(), &statement()).unwrap_err();
            assert_eq!(err.rule(), lrs_schema::limits::JSON_DEPTH_RULE, "{err}");
        }
    }

    #[test]
    fn a_jws_without_a_certificate_is_checked_for_structure_algorithm_and_payload() {
        let received = statement();
        let payload = statement().to_string();
        for alg in ["RS256", "RS384", "RS512"] {
            let jws = unsigned(&json!({"alg": alg}), payload.as_bytes());
            assert_eq!(verify(jws.as_bytes(), &received), Ok(()), "{alg}");
        }
    }

    #[test]
    fn the_payload_is_compared_with_the_xapi_equivalence_rules() {
        let mut received = statement();
        received["result"]["duration"] = json!("PT1M0.1237S");
        received["attachments"] = json!([]);
        received["authority"] = json!({"mbox": "mailto:lrs@example.jp"});
        let jws = unsigned(&json!({"alg": "RS256"}), statement().to_string().as_bytes());
        assert_eq!(verify(jws.as_bytes(), &received), Ok(()));

        received["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let err = verify(jws.as_bytes(), &received).unwrap_err();
        assert_eq!(err.rule(), EQUIVALENCE_RULE);
    }

    #[test]
    fn malformed_signatures_are_refused_naming_the_rule() {
        let received = statement();
        let payload = statement().to_string();
        let rs256 = json!({"alg": "RS256"});
        let cases: Vec<(String, &str)> = vec![
            (
                unsigned(&json!({"alg": "HS256"}), payload.as_bytes()),
                ALGORITHM_RULE,
            ),
            (
                unsigned(&json!({"alg": "none"}), payload.as_bytes()),
                ALGORITHM_RULE,
            ),
            (
                unsigned(&rs256, payload.replacen('"', "'", 1).as_bytes()),
                PAYLOAD_RULE,
            ),
            (unsigned(&rs256, b"[1,2]"), PAYLOAD_RULE),
            ("a.b".into(), JWS_RULE),
            ("{\"payload\":\"x\"}".into(), JWS_RULE),
            (
                format!(
                    "{}.{}.",
                    b64(b"{\"alg\":\"RS256\"}"),
                    b64(payload.as_bytes())
                ),
                JWS_RULE,
            ),
            (format!("!!.{}.c2ln", b64(payload.as_bytes())), JWS_RULE),
            (
                unsigned(
                    &json!({"alg": "RS256", "crit": ["exp"]}),
                    payload.as_bytes(),
                ),
                JWS_RULE,
            ),
            (
                unsigned(&json!({"alg": "RS256", "x5c": []}), payload.as_bytes()),
                CERTIFICATE_RULE,
            ),
            (
                unsigned(
                    &json!({"alg": "RS256", "x5c": ["bm90IGEgY2VydA=="]}),
                    payload.as_bytes(),
                ),
                CERTIFICATE_RULE,
            ),
        ];
        for (jws, rule) in cases {
            let err = verify(jws.as_bytes(), &received).unwrap_err();
            assert_eq!(err.rule(), rule, "{jws}: {err}");
        }
    }
}
