//! The per-project pseudonym key: HMAC-SHA256 of a person's identity under it, so one project
//! (one key) links a person's rows and two projects cannot link theirs.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::extract::ExtractError;

/// The fewest bytes a key file must hold (`head -c 32 /dev/urandom > project.key`).
pub const MIN_KEY_BYTES: usize = 32;

/// Key files larger than this are refused (a key is a few dozen random bytes; a large file is
/// a wrong path).
const MAX_KEY_BYTES: u64 = 4_096;

/// A project's secret key. Its bytes never leave this type: the manifest carries only its
/// [`fingerprint`](PseudonymKey::fingerprint).
#[derive(Clone)]
pub struct PseudonymKey {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PseudonymKey({})", self.fingerprint())
    }
}

impl PseudonymKey {
    /// The key held by `path` (its raw bytes, at least [`MIN_KEY_BYTES`] of them).
    pub fn from_file(path: &Path) -> Result<PseudonymKey, ExtractError> {
        let refuse = |why: String| {
            ExtractError::Key(format!(
                "pseudonym key file {}: {why}; make one with `head -c 32 /dev/urandom > project.key` \
                 (nothing was written)",
                path.display()
            ))
        };
        let metadata = std::fs::metadata(path).map_err(|e| refuse(e.to_string()))?;
        if !metadata.is_file() {
            return Err(refuse("not a file".into()));
        }
        if metadata.len() > MAX_KEY_BYTES {
            return Err(refuse(format!(
                "{} bytes; a key file holds at most {MAX_KEY_BYTES}",
                metadata.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| refuse(e.to_string()))?;
        PseudonymKey::from_bytes(bytes).map_err(|e| refuse(e.to_string()))
    }

    /// A key of these bytes (at least [`MIN_KEY_BYTES`]).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<PseudonymKey, ExtractError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(ExtractError::Key(format!(
                "{} bytes; a pseudonym key needs at least {MIN_KEY_BYTES} random bytes",
                bytes.len()
            )));
        }
        Ok(PseudonymKey { bytes })
    }

    /// HMAC-SHA256 of `identity` under the key, as 64 lower-case hex digits.
    pub fn pseudonym(&self, identity: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.bytes).expect("HMAC takes keys of any length");
        mac.update(identity.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Names the key without revealing it: `sha256:` and the first 16 hex digits of SHA-256
    /// over a fixed label and the key (two extracts with the same fingerprint used the same
    /// key).
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(b"lrs research extract key fingerprint\0");
        hash.update(&self.bytes);
        format!("sha256:{}", &hex::encode(hash.finalize())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused() {
        assert!(PseudonymKey::from_bytes(vec![7; 31]).is_err());
        assert!(PseudonymKey::from_bytes(vec![7; 32]).is_ok());
    }

    #[test]
    fn the_same_identity_gets_the_same_pseudonym_under_one_key_and_another_under_another() {
        let one = PseudonymKey::from_bytes(vec![1; 32]).unwrap();
        let two = PseudonymKey::from_bytes(vec![2; 32]).unwrap();
        assert_eq!(one.pseudonym("b\0user\0s1"), one.pseudonym("b\0user\0s1"));
        assert_ne!(one.pseudonym("b\0user\0s1"), one.pseudonym("b\0user\0s2"));
        assert_ne!(one.pseudonym("b\0user\0s1"), two.pseudonym("b\0user\0s1"));
        assert_eq!(one.pseudonym("x").len(), 64);
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3 (test case 2): the primitive the pseudonyms are made with.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_fingerprint_does_not_contain_the_key() {
        let key = PseudonymKey::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let fingerprint = key.fingerprint();
        assert!(fingerprint.starts_with("sha256:"));
        assert!(!fingerprint.contains("0123456789abcdef"));
        assert!(!format!("{key:?}").contains("0123456789abcdef"));
    }
}
