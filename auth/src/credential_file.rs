//! `CredentialFile`: the Basic credentials of learning tools, kept in `DATA_DIR/credentials.json`.
//!
//! The file is a JSON array of records, one per credential:
//!
//! ```json
//! [{"key":"Xq3…","tenant":"131016","scopes":["statements/write"],"label":"drill tool",
//!   "salt":"<16 bytes hex>","secret_sha256":"<32 bytes hex>","created_at":1767225600}]
//! ```
//!
//! A credential may also be bound to a roster user (`"user": "<users.csv sourcedId>"`: its
//! aggregates follow that user's roster roles), or be prefecture-wide (`"all_tenants": true`, no
//! `tenant`, scopes `["aggregates"]` only: it reads aggregates across tenants and nothing else).
//!
//! Secrets are never stored, only `SHA-256(salt ‖ secret)`. A fast hash is adequate here, unlike
//! for passwords: every secret is 32 bytes from a CSPRNG (256 bits of entropy), so neither
//! dictionary attacks nor brute force against a stolen file are feasible, and verification has
//! to stay cheap (under a microsecond) at the 20 k requests/s a prefecture peaks at. A slow KDF
//! would only buy a denial-of-service lever. The salt keeps equal secrets from having equal
//! hashes and defeats precomputed tables.
//!
//! Writers (the admin CLI, possibly while the server runs) serialize on an exclusive lock of
//! `credentials.json.lock` and replace the file atomically (temp file, fsync, rename, fsync of
//! the directory), so readers always see either the old or the new complete file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AuthError;
use crate::scope::{Scope, Scopes};
use crate::tenant::validate_tenant;

/// File name of the credentials file inside the data directory.
pub const CREDENTIALS_FILE_NAME: &str = "credentials.json";
const LOCK_FILE_NAME: &str = "credentials.json.lock";
/// 15 random bytes: exactly 20 base64url characters, no padding.
const KEY_BYTES: usize = 15;
const SECRET_BYTES: usize = 32;
const SALT_BYTES: usize = 16;
const MAX_LABEL_CHARS: usize = 200;
/// The longest roster user a credential may be bound to (a `users.csv` `sourcedId`).
pub const MAX_USER_CHARS: usize = 256;

/// A credential as listed to operators: everything but the secret hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub key: String,
    /// The tenant; empty for a prefecture-wide credential.
    pub tenant: String,
    /// Reads aggregates across every tenant (and may do nothing else).
    pub all_tenants: bool,
    pub scopes: Scopes,
    /// The roster user the credential is bound to.
    pub user: Option<String>,
    pub label: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; revoked credentials stay in the file so the `authority` of statements they
    /// wrote can still be attributed to a tool.
    pub revoked_at: Option<u64>,
}

/// One record of `credentials.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCredential {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_tenants: bool,
    pub scopes: Scopes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub salt: String,
    pub secret_sha256: String,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

impl StoredCredential {
    fn info(&self) -> CredentialInfo {
        CredentialInfo {
            key: self.key.clone(),
            tenant: self.tenant.clone(),
            all_tenants: self.all_tenants,
            scopes: self.scopes,
            user: self.user.clone(),
            label: self.label.clone(),
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        }
    }

    /// Checks who the credential acts for: one valid tenant (optionally a roster user), or every
    /// tenant with the `aggregates` scope alone.
    pub fn check_reach(&self) -> Result<(), AuthError> {
        if self.all_tenants {
            if !self.tenant.is_empty() || self.user.is_some() {
                return Err(AuthError::config(format!(
                    "credential {}: a credential for all tenants names no tenant and no user",
                    self.key
                )));
            }
            return check_prefecture_scopes(&self.scopes);
        }
        validate_tenant(&self.tenant)?;
        if let Some(user) = &self.user {
            validate_user(user)?;
        }
        Ok(())
    }

    pub fn digest(&self) -> Result<SecretDigest, AuthError> {
        let bad = || AuthError::config(format!("credential {}: malformed salt or hash", self.key));
        let salt = hex::decode(&self.salt).map_err(|_| bad())?;
        let hash = hex::decode(&self.secret_sha256).map_err(|_| bad())?;
        Ok(SecretDigest {
            salt: salt.try_into().map_err(|_| bad())?,
            hash: hash.try_into().map_err(|_| bad())?,
        })
    }
}

/// Salted SHA-256 of a credential secret, decoded for fast verification.
#[derive(Clone)]
pub(crate) struct SecretDigest {
    salt: [u8; SALT_BYTES],
    hash: [u8; 32],
}

impl SecretDigest {
    fn new(secret: &str) -> SecretDigest {
        let mut salt = [0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let hash = salted_sha256(&salt, secret);
        SecretDigest { salt, hash }
    }

    /// Constant-time with respect to the secret and the stored hash.
    pub fn matches(&self, secret: &str) -> bool {
        constant_time_eq(&salted_sha256(&self.salt, secret), &self.hash)
    }
}

fn salted_sha256(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

/// Compares without data-dependent branches or early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Operations on `DATA_DIR/credentials.json`.
pub struct CredentialFile;

impl CredentialFile {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CREDENTIALS_FILE_NAME)
    }

    /// Creates a credential for `tenant` with `scopes` and returns `(key, secret)` in clear.
    /// This is the only time the secret is available: it is stored hashed.
    pub fn create(
        data_dir: &Path,
        tenant: &str,
        scopes: &Scopes,
        label: Option<&str>,
    ) -> Result<(String, String), AuthError> {
        CredentialFile::create_bound(data_dir, tenant, scopes, label, None)
    }

    /// Like [`create`](Self::create), bound to the roster user `user` (a `users.csv`
    /// `sourcedId`, at most [`MAX_USER_CHARS`] characters without control characters) when one
    /// is given: the credential's aggregates then follow that user's roster roles.
    pub fn create_bound(
        data_dir: &Path,
        tenant: &str,
        scopes: &Scopes,
        label: Option<&str>,
        user: Option<&str>,
    ) -> Result<(String, String), AuthError> {
        CredentialFile::insert(
            data_dir,
            StoredCredential {
                tenant: tenant.to_owned(),
                all_tenants: false,
                scopes: *scopes,
                user: user.map(str::to_owned),
                label: label.map(str::to_owned),
                ..StoredCredential::unsaved()
            },
        )
    }

    /// Creates a prefecture-wide credential: it reads the aggregates of every tenant and does
    /// nothing else, so `scopes` must be `aggregates` alone.
    pub fn create_prefecture(
        data_dir: &Path,
        scopes: &Scopes,
        label: Option<&str>,
    ) -> Result<(String, String), AuthError> {
        CredentialFile::insert(
            data_dir,
            StoredCredential {
                all_tenants: true,
                scopes: *scopes,
                label: label.map(str::to_owned),
                ..StoredCredential::unsaved()
            },
        )
    }

    /// Checks `record`, gives it a key and a secret, and appends it to the file.
    fn insert(
        data_dir: &Path,
        mut record: StoredCredential,
    ) -> Result<(String, String), AuthError> {
        if record.scopes.is_empty() {
            return Err(AuthError::config("a credential needs at least one scope"));
        }
        if let Some(label) = &record.label {
            validate_label(label)?;
        }
        record.check_reach()?;
        let key = random_token(KEY_BYTES);
        let secret = random_token(SECRET_BYTES);
        let digest = SecretDigest::new(&secret);
        record.key = key.clone();
        record.salt = hex::encode(digest.salt);
        record.secret_sha256 = hex::encode(digest.hash);
        record.created_at = unix_now();
        let (tenant, scopes, user) = (record.tenant.clone(), record.scopes, record.user.clone());
        let all_tenants = record.all_tenants;
        update(data_dir, |records| {
            records.push(record);
            true
        })?;
        tracing::info!(key = %key, tenant, all_tenants, user = user.as_deref(), scopes = %scopes, "credential created");
        Ok((key, secret))
    }

    /// All credentials, revoked ones included, without their secret hashes.
    pub fn list(data_dir: &Path) -> Result<Vec<CredentialInfo>, AuthError> {
        Ok(read_records(&CredentialFile::path(data_dir))?
            .iter()
            .map(StoredCredential::info)
            .collect())
    }

    /// Revokes the credential `key`. Returns `false` when no active credential has that key.
    /// Running servers stop accepting it within a second (their reload interval).
    pub fn revoke(data_dir: &Path, key: &str) -> Result<bool, AuthError> {
        let revoked = update(data_dir, |records| {
            match records
                .iter_mut()
                .find(|r| r.key == key && r.revoked_at.is_none())
            {
                Some(record) => {
                    record.revoked_at = Some(unix_now());
                    true
                }
                None => false,
            }
        })?;
        if revoked {
            tracing::info!(key, "credential revoked");
        }
        Ok(revoked)
    }
}

impl StoredCredential {
    /// A record with no key, secret or scopes yet.
    fn unsaved() -> StoredCredential {
        StoredCredential {
            key: String::new(),
            tenant: String::new(),
            all_tenants: false,
            scopes: Scopes::empty(),
            user: None,
            label: None,
            salt: String::new(),
            secret_sha256: String::new(),
            created_at: 0,
            revoked_at: None,
        }
    }
}

/// A prefecture-wide credential reads aggregates and nothing else.
fn check_prefecture_scopes(scopes: &Scopes) -> Result<(), AuthError> {
    if *scopes != Scopes::from_iter([Scope::Aggregates]) {
        return Err(AuthError::config(format!(
            "a credential for all tenants may only have the scope `aggregates` (got [{scopes}])"
        )));
    }
    Ok(())
}

fn validate_user(user: &str) -> Result<(), AuthError> {
    if user.is_empty()
        || user.chars().count() > MAX_USER_CHARS
        || user.chars().any(char::is_control)
    {
        return Err(AuthError::config(format!(
            "a credential's user must be a roster sourcedId of 1 to {MAX_USER_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

fn validate_label(label: &str) -> Result<(), AuthError> {
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(AuthError::config(format!(
            "credential label must be at most {MAX_LABEL_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

/// `bytes` random bytes as base64url, never starting with `-`: a command line reads a
/// `--secret -abc…` as a flag (one token in 64 is drawn again, which leaves 5.98 of the first
/// character's 6 bits).
fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    loop {
        // ThreadRng is a CSPRNG (ChaCha12) reseeded from the operating system.
        rand::rng().fill_bytes(&mut buf);
        let token = URL_SAFE_NO_PAD.encode(&buf);
        if !token.starts_with('-') {
            return token;
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads all records; a missing file is an empty list.
pub(crate) fn read_records(path: &Path) -> Result<Vec<StoredCredential>, AuthError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuthError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| AuthError::config(format!("{} is not a credential list: {e}", path.display())))
}

/// Read-modify-write under the writers' lock; `change` returns whether it changed anything.
fn update(
    data_dir: &Path,
    change: impl FnOnce(&mut Vec<StoredCredential>) -> bool,
) -> Result<bool, AuthError> {
    fs::create_dir_all(data_dir).map_err(|e| AuthError::io(data_dir, e))?;
    let lock_path = data_dir.join(LOCK_FILE_NAME);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| AuthError::io(&lock_path, e))?;
    lock.lock().map_err(|e| AuthError::io(&lock_path, e))?;

    let path = CredentialFile::path(data_dir);
    let mut records = read_records(&path)?;
    if !change(&mut records) {
        return Ok(false);
    }
    let mut json = serde_json::to_vec_pretty(&records)
        .map_err(|e| AuthError::config(format!("cannot serialize credentials: {e}")))?;
    json.push(b'\n');
    write_atomically(data_dir, &path, &json).map_err(|e| AuthError::io(&path, e))?;
    // The lock is released when `lock` is dropped.
    Ok(true)
}

fn write_atomically(dir: &Path, path: &Path, contents: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!(".{CREDENTIALS_FILE_NAME}.{}.tmp", random_token(6)));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_only_their_own_secret() {
        let digest = SecretDigest::new("correct horse");
        assert!(digest.matches("correct horse"));
        assert!(!digest.matches("correct horsf"));
        assert!(!digest.matches(""));
    }

    #[test]
    fn equal_secrets_get_different_salts_and_hashes() {
        let a = SecretDigest::new("same");
        let b = SecretDigest::new("same");
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn keys_are_twenty_and_secrets_forty_three_base64url_characters() {
        let dir = tempfile::tempdir().unwrap();
        let scopes = Scopes::from_iter([Scope::StatementsWrite]);
        let (key, secret) = CredentialFile::create(dir.path(), "131016", &scopes, None).unwrap();
        assert_eq!(key.len(), 20);
        assert_eq!(secret.len(), 43);
        let alphabet = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        assert!(alphabet(&key) && alphabet(&secret));
    }

    #[test]
    fn no_token_starts_with_a_dash_that_a_command_line_would_read_as_a_flag() {
        // Without the redraw, 1 in 64 would: ~1 - (63/64)^4000 of runs would see one.
        assert!((0..4000).all(|_| !random_token(SECRET_BYTES).starts_with('-')));
    }

    #[test]
    fn the_file_holds_the_hash_but_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let scopes = Scopes::from_iter([Scope::StatementsWrite]);
        let (key, secret) =
            CredentialFile::create(dir.path(), "131016", &scopes, Some("drill")).unwrap();
        let text = fs::read_to_string(CredentialFile::path(dir.path())).unwrap();
        assert!(text.contains(&key));
        assert!(!text.contains(&secret));
        let records = read_records(&CredentialFile::path(dir.path())).unwrap();
        assert!(records[0].digest().unwrap().matches(&secret));
    }

    #[cfg(unix)]
    #[test]
    fn the_credentials_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let scopes = Scopes::from_iter([Scope::All]);
        CredentialFile::create(dir.path(), "131016", &scopes, None).unwrap();
        let mode = fs::metadata(CredentialFile::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_bound_credential_keeps_its_user_and_a_prefecture_credential_has_no_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let aggregates = Scopes::from_iter([Scope::Aggregates]);
        let (bound, _) =
            CredentialFile::create_bound(dir.path(), "131016", &aggregates, None, Some("t-001"))
                .unwrap();
        let (prefecture, _) =
            CredentialFile::create_prefecture(dir.path(), &aggregates, None).unwrap();
        let listed = CredentialFile::list(dir.path()).unwrap();
        let find = |key: &str| listed.iter().find(|c| c.key == key).unwrap().clone();
        assert_eq!(find(&bound).user.as_deref(), Some("t-001"));
        assert!(!find(&bound).all_tenants);
        assert!(find(&prefecture).all_tenants);
        assert_eq!(find(&prefecture).tenant, "");
        let text = fs::read_to_string(CredentialFile::path(dir.path())).unwrap();
        assert!(text.contains("\"all_tenants\": true") && text.contains("\"user\": \"t-001\""));
    }

    #[test]
    fn a_prefecture_credential_may_have_the_aggregates_scope_only() {
        let dir = tempfile::tempdir().unwrap();
        for scopes in ["all", "aggregates,statements/read", "roster"] {
            let scopes = Scopes::parse_list(scopes).unwrap();
            let err = CredentialFile::create_prefecture(dir.path(), &scopes, None).unwrap_err();
            assert_eq!(err.kind(), crate::AuthErrorKind::Config);
        }
        assert!(CredentialFile::list(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_user_that_is_not_a_sourced_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let scopes = Scopes::from_iter([Scope::Aggregates]);
        let long = "u".repeat(MAX_USER_CHARS + 1);
        for user in ["", "a\tb", long.as_str()] {
            let err = CredentialFile::create_bound(dir.path(), "131016", &scopes, None, Some(user))
                .unwrap_err();
            assert_eq!(err.kind(), crate::AuthErrorKind::Config, "{user:?}");
        }
    }

    #[test]
    fn labels_with_control_characters_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let scopes = Scopes::from_iter([Scope::All]);
        let err = CredentialFile::create(dir.path(), "131016", &scopes, Some("a\nb")).unwrap_err();
        assert_eq!(err.kind(), crate::AuthErrorKind::Config);
    }
}
