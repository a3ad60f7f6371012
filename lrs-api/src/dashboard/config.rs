//! The dashboard's settings, typed: registered LTI 1.3 platforms (`[[lti.platforms]]`) and the
//! session settings (`[dashboard]`). The binary parses the TOML tree into these.

use std::time::Duration;

use jsonwebtoken::DecodingKey;

/// Where a launch's roster user is read from (`user_claim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// The id_token's `sub` (the default).
    Subject,
    /// `https://purl.imsglobal.org/spec/lti/claim/lis` → `person_sourcedid`.
    LisPersonSourcedId,
}

impl UserClaim {
    /// `sub` or `lis.person_sourcedid`.
    pub fn parse(text: &str) -> Option<UserClaim> {
        match text {
            "sub" => Some(UserClaim::Subject),
            "lis.person_sourcedid" => Some(UserClaim::LisPersonSourcedId),
            _ => None,
        }
    }
}

/// Where a launch's roster class is read from (`class_claim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassClaim {
    /// `https://purl.imsglobal.org/spec/lti/claim/context` → `id` (the default).
    ContextId,
    /// `https://purl.imsglobal.org/spec/lti/claim/lis` → `course_section_sourcedid`.
    LisCourseSectionSourcedId,
}

impl ClassClaim {
    /// `context.id` (also accepted as `context_id`) or `lis.course_section_sourcedid`.
    pub fn parse(text: &str) -> Option<ClassClaim> {
        match text {
            "context.id" | "context_id" => Some(ClassClaim::ContextId),
            "lis.course_section_sourcedid" => Some(ClassClaim::LisCourseSectionSourcedId),
            _ => None,
        }
    }
}

/// The platform's id_token signing keys.
#[derive(Clone)]
pub enum KeySource {
    /// A JWK Set URL, fetched on first use, cached, and fetched again for an unknown `kid`.
    JwksUrl(String),
    /// Static RSA public keys (`public_keys_pem`: one or more PEM blocks).
    Static(Vec<DecodingKey>),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::JwksUrl(url) => f.debug_tuple("JwksUrl").field(url).finish(),
            KeySource::Static(keys) => write!(f, "Static({} keys)", keys.len()),
        }
    }
}

impl KeySource {
    /// Every RSA public key of `pem` (one or more `-----BEGIN PUBLIC KEY-----` or
    /// `-----BEGIN RSA PUBLIC KEY-----` blocks); an error names the block that is not one.
    pub fn from_pem(pem: &str) -> Result<KeySource, String> {
        let mut keys = Vec::new();
        for (n, block) in pem.split("-----BEGIN ").skip(1).enumerate() {
            let block = format!("-----BEGIN {block}");
            let key = DecodingKey::from_rsa_pem(block.trim().as_bytes())
                .map_err(|e| format!("PEM block {} is not an RSA public key: {e}", n + 1))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err("no PEM block (-----BEGIN PUBLIC KEY-----) found".into());
        }
        Ok(KeySource::Static(keys))
    }
}

/// One registered LTI 1.3 platform (a learning e-portal), as `[[lti.platforms]]` names it.
#[derive(Debug, Clone)]
pub struct LtiPlatform {
    /// The id_token's `iss`.
    pub issuer: String,
    /// The tool's client id on that platform: the id_token's `aud` (or `azp`).
    pub client_id: String,
    /// The deployments of the tool the platform may launch.
    pub deployment_ids: Vec<String>,
    /// The platform's OIDC authorization endpoint (`/lti/login` redirects there).
    pub auth_url: String,
    pub keys: KeySource,
    /// The tenant (board of education) whose roster and statements a launch sees.
    pub tenant: String,
    pub user_claim: UserClaim,
    pub class_claim: ClassClaim,
}

/// The dashboard's settings.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    pub platforms: Vec<LtiPlatform>,
    /// The key signing session, login-state and CSRF cookies (at least 32 bytes). `None`: a
    /// random key made at start (sessions end when the process does and are not valid on
    /// another instance).
    pub session_secret: Option<Vec<u8>>,
    /// How long a session lasts after login or launch.
    pub session_ttl: Duration,
    /// Learners with no statement on this many school days (Monday–Friday) up to the end of
    /// the period are flagged in the class view.
    pub inactive_school_days: u32,
    /// The most launch nonces remembered at once (each until its id_token expires).
    pub max_remembered_nonces: usize,
    /// The clock skew allowed on an id_token's `exp` (and `iat`, `nbf`).
    pub leeway: Duration,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            platforms: Vec::new(),
            session_secret: None,
            session_ttl: Duration::from_secs(8 * 3600),
            inactive_school_days: 5,
            max_remembered_nonces: 100_000,
            leeway: Duration::from_secs(30),
        }
    }
}
