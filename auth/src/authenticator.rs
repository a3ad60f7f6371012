//! `Authenticator`: turns an `Authorization` header into a [`Principal`].
//!
//! Basic credentials come from `DATA_DIR/credentials.json`, held in memory as a map
//! key → (salt, hash, principal). The file is re-read when its fingerprint (mtime, size, inode)
//! changes; the fingerprint is checked at most once per second on the hot path, and at once when
//! a request names an unknown key, so a credential created by the admin CLI works immediately and
//! a revoked one stops working within a second. Requests never wait on file I/O except that
//! unknown-key check.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use parking_lot::{Mutex, RwLock};

use crate::config::AuthConfig;
use crate::credential_file::{CredentialFile, SecretDigest, StoredCredential, read_records};
use crate::error::{AuthError, Rejection};
use crate::jwt_verifier::JwtVerifier;
use crate::principal::{Identity, Principal};

/// How often the hot path looks at the credentials file's metadata.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Thread-safe; share one per process (e.g. in an `Arc`).
pub struct Authenticator {
    path: PathBuf,
    authority_home_page: String,
    jwt: JwtVerifier,
    table: RwLock<Arc<CredentialTable>>,
    /// Serializes reloads; the hot path only ever `try_lock`s it.
    reload_lock: Mutex<()>,
    started: Instant,
    last_check_millis: AtomicU64,
}

struct CredentialTable {
    fingerprint: Option<FileFingerprint>,
    by_key: HashMap<String, ActiveCredential>,
}

struct ActiveCredential {
    digest: SecretDigest,
    principal: Principal,
}

/// Identifies one version of the file. The inode matters: writers replace the file by rename,
/// so two writes within one mtime tick still differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileFingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Authenticator {
    /// Loads `data_dir/credentials.json` (a missing file means no Basic credentials yet) and
    /// prepares the JWT issuers. Fails on an unreadable or malformed file and on unusable JWT
    /// configuration.
    pub fn new(data_dir: &Path, config: AuthConfig) -> Result<Authenticator, AuthError> {
        if config.authority_home_page.is_empty() {
            return Err(AuthError::config("authority_home_page must not be empty"));
        }
        let jwt = JwtVerifier::new(&config)?;
        let path = CredentialFile::path(data_dir);
        let table = load_table(&path, &config.authority_home_page)?;
        Ok(Authenticator {
            path,
            authority_home_page: config.authority_home_page,
            jwt,
            table: RwLock::new(Arc::new(table)),
            reload_lock: Mutex::new(()),
            started: Instant::now(),
            last_check_millis: AtomicU64::new(0),
        })
    }

    /// Authenticates from the raw `Authorization` header value (`None` when absent):
    /// `Basic base64(key:secret)` or `Bearer <jwt>`; scheme names are case-insensitive
    /// (RFC 9110 §11.1).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization.ok_or(AuthError::MissingCredentials)?.trim();
        let (scheme, credentials) = header.split_once(' ').ok_or(Rejection::UnsupportedScheme)?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            self.authenticate_basic(credentials)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.jwt.verify(credentials)
        } else {
            Err(Rejection::UnsupportedScheme.into())
        }
    }

    /// Re-reads the credentials file now if it changed. Returns whether it was reloaded.
    pub fn reload(&self) -> Result<bool, AuthError> {
        let _guard = self.reload_lock.lock();
        self.reload_if_changed()
    }

    fn authenticate_basic(&self, encoded: &str) -> Result<Principal, AuthError> {
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| Rejection::MalformedBasic)?;
        let decoded = std::str::from_utf8(&decoded).map_err(|_| Rejection::MalformedBasic)?;
        // RFC 7617 §2: the user-id cannot contain a colon; the password may.
        let (key, secret) = decoded.split_once(':').ok_or(Rejection::MalformedBasic)?;
        self.authenticate_key(key, secret)
    }

    /// Authenticates a Basic credential given as its key and secret (the dashboard's login
    /// form), with the same checks as the `Authorization` header.
    pub fn authenticate_key(&self, key: &str, secret: &str) -> Result<Principal, AuthError> {
        self.reload_periodically();
        let mut table = self.table.read().clone();
        if !table.by_key.contains_key(key) {
            // Maybe created since the last check; this waits for a reload in progress.
            self.reload_logging_errors(true);
            table = self.table.read().clone();
        }
        let credential = table.by_key.get(key).ok_or(Rejection::UnknownKey)?;
        if credential.digest.matches(secret) {
            Ok(credential.principal.clone())
        } else {
            Err(Rejection::WrongSecret.into())
        }
    }

    /// The principal of the active (not revoked) credential `key`, without its secret: a
    /// dashboard session made by [`authenticate_key`](Self::authenticate_key) asks on every
    /// request, so a revoked credential's sessions end within [`RELOAD_CHECK_INTERVAL`].
    pub fn active_principal(&self, key: &str) -> Option<Principal> {
        self.reload_periodically();
        let table = self.table.read().clone();
        table.by_key.get(key).map(|c| c.principal.clone())
    }

    fn reload_periodically(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_check_millis.load(Ordering::Relaxed);
        if now.saturating_sub(last) < RELOAD_CHECK_INTERVAL.as_millis() as u64 {
            return;
        }
        // One request per interval does the check; the others go on with the current table.
        if self
            .last_check_millis
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.reload_logging_errors(false);
        }
    }

    /// A broken file (e.g. a bad hand edit) must not lock every tool out: keep the last good
    /// table and log.
    fn reload_logging_errors(&self, wait: bool) {
        let _guard = if wait {
            self.reload_lock.lock()
        } else {
            match self.reload_lock.try_lock() {
                Some(guard) => guard,
                None => return,
            }
        };
        if let Err(error) = self.reload_if_changed() {
            tracing::warn!(%error, "credentials file not reloaded; keeping the previous credentials");
        }
    }

    /// Caller holds `reload_lock`.
    fn reload_if_changed(&self) -> Result<bool, AuthError> {
        let fingerprint = fingerprint(&self.path)?;
        if fingerprint == self.table.read().fingerprint {
            return Ok(false);
        }
        let table = load_table(&self.path, &self.authority_home_page)?;
        let count = table.by_key.len();
        *self.table.write() = Arc::new(table);
        tracing::info!(active_credentials = count, "credentials reloaded");
        Ok(true)
    }
}

/// Fingerprint first, then contents: if the file is replaced in between, the next check sees a
/// newer fingerprint and loads again, so the table converges to the latest file.
fn load_table(path: &Path, authority_home_page: &str) -> Result<CredentialTable, AuthError> {
    let fingerprint = fingerprint(path)?;
    let records = read_records(path)?;
    let mut by_key = HashMap::with_capacity(records.len());
    for record in records.iter().filter(|r| r.revoked_at.is_none()) {
        let credential = active_credential(record, authority_home_page)?;
        if by_key.insert(record.key.clone(), credential).is_some() {
            return Err(AuthError::config(format!(
                "{}: key {} appears twice",
                path.display(),
                record.key
            )));
        }
    }
    Ok(CredentialTable {
        fingerprint,
        by_key,
    })
}

fn active_credential(
    record: &StoredCredential,
    authority_home_page: &str,
) -> Result<ActiveCredential, AuthError> {
    record.check_reach()?;
    let identity = Identity {
        home_page: authority_home_page.to_owned(),
        name: record.key.clone(),
    };
    Ok(ActiveCredential {
        digest: record.digest()?,
        principal: Principal {
            tenant: record.tenant.clone(),
            scopes: record.scopes,
            authority: identity.authority(record.label.as_deref()),
            identity,
            user: record.user.clone(),
            prefecture: record.all_tenants,
        },
    })
}

fn fingerprint(path: &Path) -> Result<Option<FileFingerprint>, AuthError> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError::io(path, e)),
    };
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Some(FileFingerprint {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode,
    }))
}
