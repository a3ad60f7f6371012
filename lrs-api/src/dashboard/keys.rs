//! A platform's id_token keys: static PEM keys, or its JWK Set fetched from `jwks_url`, cached,
//! and fetched again when a token names a `kid` the cache lacks (platforms rotate keys by
//! publishing the new one before signing with it).

use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use tokio::sync::Mutex;

use crate::dashboard::config::KeySource;

/// A JWK Set is fetched again at most this often for unknown `kid`s (a flood of forged tokens
/// naming random `kid`s must not become a flood of requests to the platform).
pub const JWKS_MIN_REFETCH: Duration = Duration::from_secs(10);
/// A cached JWK Set is fetched again after this long even when every `kid` is known.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long one JWK Set fetch may take.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWK Set read.
const JWKS_MAX_BYTES: usize = 256 * 1024;

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The JWK Set could not be fetched and none is cached.
    #[error("the platform's JWK Set could not be fetched: {0}")]
    Unreachable(String),
}

/// One platform's keys.
pub struct PlatformKeys {
    source: KeySource,
    cache: Mutex<JwksCache>,
    /// [`JWKS_MIN_REFETCH`] (tests use zero).
    min_refetch: Duration,
}

#[derive(Default)]
struct JwksCache {
    keys: Vec<(Option<String>, DecodingKey)>,
    fetched: Option<Instant>,
}

impl PlatformKeys {
    pub fn new(source: KeySource) -> PlatformKeys {
        PlatformKeys::with_min_refetch(source, JWKS_MIN_REFETCH)
    }

    fn with_min_refetch(source: KeySource, min_refetch: Duration) -> PlatformKeys {
        PlatformKeys {
            source,
            cache: Mutex::new(JwksCache::default()),
            min_refetch,
        }
    }

    /// The keys that may have signed a token with header `kid`: those with that `kid` (every
    /// key when the token names none, or the keys are static).
    pub async fn candidates(
        &self,
        kid: Option<&str>,
        http: &reqwest::Client,
    ) -> Result<Vec<DecodingKey>, KeyError> {
        let url = match &self.source {
            KeySource::Static(keys) => return Ok(keys.clone()),
            KeySource::JwksUrl(url) => url,
        };
        let mut cache = self.cache.lock().await;
        let known = |cache: &JwksCache| {
            kid.is_none_or(|kid| cache.keys.iter().any(|(k, _)| k.as_deref() == Some(kid)))
        };
        let stale = cache.fetched.is_none_or(|at| at.elapsed() >= JWKS_MAX_AGE);
        let may_refetch = cache
            .fetched
            .is_none_or(|at| at.elapsed() >= self.min_refetch);
        if stale || (!known(&cache) && may_refetch) {
            match fetch(http, url).await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                Err(error) if cache.fetched.is_some() => {
                    tracing::warn!(%error, url, "JWK Set not refreshed; using the cached keys");
                }
                Err(error) => return Err(KeyError::Unreachable(error)),
            }
        }
        Ok(cache
            .keys
            .iter()
            .filter(|(k, _)| kid.is_none() || k.as_deref() == kid)
            .map(|(_, key)| key.clone())
            .collect())
    }
}

/// The RSA signing keys of the JWK Set at `url` (keys of other types or uses are skipped).
async fn fetch(
    http: &reqwest::Client,
    url: &str,
) -> Result<Vec<(Option<String>, DecodingKey)>, String> {
    let response = http
        .get(url)
        .timeout(JWKS_FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > JWKS_MAX_BYTES {
        return Err(format!("{url} answered more than {JWKS_MAX_BYTES} bytes"));
    }
    let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
    Ok(set
        .keys
        .iter()
        .filter(|jwk| {
            jwk.common
                .key_algorithm
                .is_none_or(|alg| alg == KeyAlgorithm::RS256)
        })
        .filter_map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).ok()?;
            (key.family() == jsonwebtoken::AlgorithmFamily::Rsa)
                .then(|| (jwk.common.key_id.clone(), key))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const JWKS: &str = include_str!("../../../lrs/tests/fixtures/lti/platform-jwks.json");

    /// Serves the platform's JWK Set with its `kid` renamed to `kid-N` for the N-th request
    /// (a platform rotating its key); returns the URL and the request count.
    fn rotating_jwks() -> (String, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.read(&mut [0u8; 4096]);
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let body = JWKS.replace("platform-1", &format!("kid-{n}"));
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, served)
    }

    #[tokio::test]
    async fn the_jwk_set_is_cached_and_fetched_again_for_an_unknown_kid_only() {
        let (url, served) = rotating_jwks();
        let keys = PlatformKeys::with_min_refetch(KeySource::JwksUrl(url), Duration::ZERO);
        let http = reqwest::Client::new();
        assert_eq!(
            keys.candidates(Some("kid-1"), &http).await.unwrap().len(),
            1
        );
        assert_eq!(
            keys.candidates(Some("kid-1"), &http).await.unwrap().len(),
            1
        );
        assert_eq!(keys.candidates(None, &http).await.unwrap().len(), 1);
        assert_eq!(
            served.load(Ordering::SeqCst),
            1,
            "known kids are answered from the cache"
        );
        // The platform rotated: a token names the new kid.
        assert_eq!(
            keys.candidates(Some("kid-2"), &http).await.unwrap().len(),
            1
        );
        assert_eq!(served.load(Ordering::SeqCst), 2);
        // The old kid is gone from the platform's set: asked again, then refused.
        assert!(
            keys.candidates(Some("kid-1"), &http)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(served.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unknown_kid_within_the_refetch_interval_is_answered_from_the_cache() {
        let (url, served) = rotating_jwks();
        let keys = PlatformKeys::new(KeySource::JwksUrl(url));
        let http = reqwest::Client::new();
        assert_eq!(
            keys.candidates(Some("kid-1"), &http).await.unwrap().len(),
            1
        );
        assert!(
            keys.candidates(Some("forged-kid"), &http)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(served.load(Ordering::SeqCst), 1, "no fetch per forged kid");
    }

    #[tokio::test]
    async fn an_unreachable_jwk_set_with_nothing_cached_is_an_error() {
        let keys = PlatformKeys::new(KeySource::JwksUrl("http://127.0.0.1:9/jwks".into()));
        let http = reqwest::Client::new();
        assert!(keys.candidates(Some("kid-1"), &http).await.is_err());
    }
}
