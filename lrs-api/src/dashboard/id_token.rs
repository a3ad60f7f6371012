//! The LTI 1.3 launch's id_token, verified and typed (LTI 1.3 Core §5.1, Security Framework
//! §5.1.3): RS256 signature by one of the platform's keys, `iss`, `aud`/`azp`, `exp`, the
//! nonce the login put in the state cookie, the deployment id, message type and version.

use jsonwebtoken::{Algorithm, Validation, decode, decode_header, errors::ErrorKind};
use serde_json::Value;

use crate::dashboard::config::{ClassClaim, LtiPlatform, UserClaim};

const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
const LIS: &str = "https://purl.imsglobal.org/spec/lti/claim/lis";

/// LIS role URIs (LTI 1.3 Core §A.2): context roles first, then institution and system ones.
const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
const ADMINISTRATORS: [&str; 3] = [
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
];

/// The launch's role, as the dashboard uses it: which view it lands on. What the user may see
/// is decided by the roster, never by this claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchRole {
    Instructor,
    Administrator,
    Learner,
    Other,
}

impl LaunchRole {
    /// From the roles claim: Instructor over Administrator over Learner (a teacher who is also
    /// an administrator launching from a class lands on the class).
    fn of(roles: &[String]) -> LaunchRole {
        let has = |uri: &str| roles.iter().any(|r| r == uri);
        if has(INSTRUCTOR) {
            LaunchRole::Instructor
        } else if ADMINISTRATORS.iter().any(|uri| has(uri)) {
            LaunchRole::Administrator
        } else if has(LEARNER) {
            LaunchRole::Learner
        } else {
            LaunchRole::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LaunchRole::Instructor => "instructor",
            LaunchRole::Administrator => "administrator",
            LaunchRole::Learner => "learner",
            LaunchRole::Other => "other",
        }
    }
}

/// A verified launch.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The roster user (`user_claim`).
    pub user: String,
    pub role: LaunchRole,
    /// The roster class (`class_claim`), when the launch has a context.
    pub class: Option<String>,
    pub nonce: String,
    /// When the token expires (Unix seconds): how long its nonce must be remembered.
    pub expires: i64,
}

/// Why a token was refused (answered 401; the reason goes to the page and the log).
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    #[error("the id_token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("the id_token is signed with {0:?}; LTI 1.3 requires RS256")]
    Algorithm(Algorithm),
    #[error("no key of the platform verifies the id_token's signature")]
    Signature,
    #[error("the id_token has expired")]
    Expired,
    #[error("the id_token's iss is not the platform's issuer")]
    Issuer,
    #[error("the id_token's aud/azp is not this tool's client_id")]
    Audience,
    #[error("the id_token's nonce is not the one this login issued")]
    Nonce,
    #[error("the id_token's deployment_id is not a registered deployment")]
    Deployment,
    #[error("the id_token lacks or misstates a required claim: {0}")]
    Claim(&'static str),
}

/// The header's `kid` (`None`: the token names no key), after checking the algorithm.
pub fn key_id(token: &str) -> Result<Option<String>, TokenRefused> {
    let header = decode_header(token).map_err(|e| TokenRefused::Malformed(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenRefused::Algorithm(header.alg));
    }
    Ok(header.kid)
}

/// Verifies `token` against the platform's candidate `keys` and the login's `nonce`.
pub fn verify(
    token: &str,
    keys: &[jsonwebtoken::DecodingKey],
    platform: &LtiPlatform,
    nonce: &str,
    leeway_seconds: u64,
) -> Result<Launch, TokenRefused> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&platform.issuer]);
    validation.set_audience(&[&platform.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = leeway_seconds;
    let mut refused = TokenRefused::Signature;
    for key in keys {
        match decode::<Value>(token, key, &validation) {
            Ok(data) => return claims(&data.claims, platform, nonce),
            Err(err) => {
                refused = match err.kind() {
                    ErrorKind::InvalidSignature => continue,
                    ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                        TokenRefused::Expired
                    }
                    ErrorKind::InvalidIssuer => TokenRefused::Issuer,
                    ErrorKind::InvalidAudience => TokenRefused::Audience,
                    ErrorKind::MissingRequiredClaim(_) => TokenRefused::Claim("exp, iss, aud, sub"),
                    _ => TokenRefused::Malformed(err.to_string()),
                };
                // The signature was good (claims are checked after it): no other key matters.
                break;
            }
        }
    }
    Err(refused)
}

/// The claims of a token whose signature, `iss`, `aud` and `exp` were verified.
fn claims(claims: &Value, platform: &LtiPlatform, nonce: &str) -> Result<Launch, TokenRefused> {
    // OIDC Core §3.1.3.7: several audiences need `azp`, and an `azp` must be the client.
    let several_audiences = claims["aud"].as_array().is_some_and(|a| a.len() > 1);
    match claims.get("azp").map(|azp| azp.as_str()) {
        Some(Some(azp)) if azp == platform.client_id => {}
        None if !several_audiences => {}
        _ => return Err(TokenRefused::Audience),
    }
    if claims["nonce"].as_str() != Some(nonce) {
        return Err(TokenRefused::Nonce);
    }
    let deployment = claims[DEPLOYMENT_ID]
        .as_str()
        .ok_or(TokenRefused::Claim(DEPLOYMENT_ID))?;
    if !platform.deployment_ids.iter().any(|d| d == deployment) {
        return Err(TokenRefused::Deployment);
    }
    if claims[MESSAGE_TYPE].as_str() != Some("LtiResourceLinkRequest") {
        return Err(TokenRefused::Claim(MESSAGE_TYPE));
    }
    if claims[VERSION].as_str() != Some("1.3.0") {
        return Err(TokenRefused::Claim(VERSION));
    }
    let roles: Vec<String> = match &claims[ROLES] {
        Value::Array(roles) => roles
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        _ => return Err(TokenRefused::Claim(ROLES)),
    };
    let user = match platform.user_claim {
        UserClaim::Subject => claims["sub"].as_str(),
        UserClaim::LisPersonSourcedId => claims[LIS]["person_sourcedid"].as_str(),
    }
    .filter(|u| !u.is_empty())
    .ok_or(TokenRefused::Claim(match platform.user_claim {
        UserClaim::Subject => "sub",
        UserClaim::LisPersonSourcedId => "lis.person_sourcedid",
    }))?;
    let class = match platform.class_claim {
        ClassClaim::ContextId => claims[CONTEXT]["id"].as_str(),
        ClassClaim::LisCourseSectionSourcedId => claims[LIS]["course_section_sourcedid"].as_str(),
    }
    .filter(|c| !c.is_empty());
    Ok(Launch {
        user: user.to_owned(),
        role: LaunchRole::of(&roles),
        class: class.map(str::to_owned),
        nonce: nonce.to_owned(),
        expires: claims["exp"].as_i64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launch_role_prefers_instructor_then_administrator_then_learner() {
        let of = |roles: &[&str]| {
            LaunchRole::of(&roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(of(&[LEARNER, INSTRUCTOR]), LaunchRole::Instructor);
        assert_eq!(of(&[LEARNER, ADMINISTRATORS[1]]), LaunchRole::Administrator);
        assert_eq!(of(&[LEARNER]), LaunchRole::Learner);
        // Short names are not LIS role URIs.
        assert_eq!(of(&["Instructor"]), LaunchRole::Other);
        assert_eq!(of(&[]), LaunchRole::Other);
    }
}
