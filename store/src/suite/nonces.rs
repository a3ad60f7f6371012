//! Suite: LTI launch nonces (issue 13) are accepted once across every client of the store, and
//! again only after they expire. Run against the networked backends, the ones several query
//! instances share.

use std::sync::Arc;

use crate::NonceStore;

pub async fn a_launch_nonce_is_accepted_once_until_it_expires<S: NonceStore + ?Sized>(store: &S) {
    let nonce = format!("suite-nonce-{}", uuid::Uuid::new_v4().simple());
    let other = format!("{nonce}-other");
    let now = 2_000_000_000;
    assert!(store.use_nonce_once(&nonce, now + 300, now).await.unwrap());
    assert!(
        !store.use_nonce_once(&nonce, now + 300, now).await.unwrap(),
        "used again at once"
    );
    assert!(
        !store
            .use_nonce_once(&nonce, now + 600, now + 299)
            .await
            .unwrap(),
        "used again a second before it expires"
    );
    assert!(
        store.use_nonce_once(&other, now + 300, now).await.unwrap(),
        "another nonce is its own"
    );
}

/// Scylla's rows expire by TTL in real time, so this asks in real time: a nonce remembered for
/// one second is accepted again three seconds later.
pub async fn an_expired_launch_nonce_is_forgotten<S: NonceStore + ?Sized>(store: &S) {
    let nonce = format!("suite-nonce-{}", uuid::Uuid::new_v4().simple());
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let start = now();
    assert!(
        store
            .use_nonce_once(&nonce, start + 1, start)
            .await
            .unwrap()
    );
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        store
            .use_nonce_once(&nonce, now() + 300, now())
            .await
            .unwrap(),
        "accepted again after its expiry"
    );
}

/// Launches of one token racing on several instances: exactly one is accepted.
pub async fn concurrent_uses_of_one_nonce_let_exactly_one_win<S: NonceStore + Clone>(store: &S) {
    let nonce = Arc::new(format!("suite-nonce-{}", uuid::Uuid::new_v4().simple()));
    let now = 2_000_000_000;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, nonce) = (store.clone(), nonce.clone());
            tokio::spawn(async move { store.use_nonce_once(&nonce, now + 300, now).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(accepted, 1, "one of 16 concurrent uses");
}

/// The nonce suite for a backend: `$fresh` as in [`store_suite!`](crate::store_suite).
#[macro_export]
macro_rules! nonce_suite {
    (optional $fresh:path) => {
        $crate::store_suite!(@tests optional $fresh;
            a_launch_nonce_is_accepted_once_until_it_expires,
            an_expired_launch_nonce_is_forgotten,
            concurrent_uses_of_one_nonce_let_exactly_one_win,
        );
    };
}
