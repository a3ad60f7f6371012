//! Basic authentication against `credentials.json`, end to end through the file.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lrs_auth::{
    AuthConfig, AuthErrorKind, Authenticator, CredentialFile, Rejection, Scope, Scopes,
};

const HOME_PAGE: &str = "https://lrs.example.jp/";

fn basic(key: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{key}:{secret}")))
}

fn authenticator(dir: &Path) -> Authenticator {
    Authenticator::new(dir, AuthConfig::new(HOME_PAGE)).unwrap()
}

fn write_scopes() -> Scopes {
    Scopes::from_iter([Scope::StatementsWrite, Scope::StatementsReadMine])
}

#[test]
fn a_created_credential_authenticates_with_basic() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) =
        CredentialFile::create(dir.path(), "131016", &write_scopes(), Some("Drill tool")).unwrap();
    let auth = authenticator(dir.path());

    let principal = auth.authenticate(Some(&basic(&key, &secret))).unwrap();

    assert_eq!(principal.tenant, "131016");
    assert_eq!(principal.identity.name, key);
    assert_eq!(principal.identity.home_page, HOME_PAGE);
    assert_eq!(principal.scopes, write_scopes());
    assert_eq!(
        principal.authority,
        serde_json::json!({"objectType": "Agent", "name": "Drill tool",
            "account": {"homePage": HOME_PAGE, "name": key}})
    );
}

#[test]
fn the_scheme_name_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let header = basic(&key, &secret).replacen("Basic", "bAsIc", 1);
    assert!(
        authenticator(dir.path())
            .authenticate(Some(&header))
            .is_ok()
    );
}

#[test]
fn a_wrong_secret_is_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let wrong = format!("{secret}x");
    let err = authenticator(dir.path())
        .authenticate(Some(&basic(&key, &wrong)))
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::BadCredentials);
    assert_eq!(err.rejection(), Some(Rejection::WrongSecret));
    assert!(!err.to_string().contains(&secret));
}

#[test]
fn an_unknown_key_is_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let err = authenticator(dir.path())
        .authenticate(Some(&basic("no-such-key", "whatever")))
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::BadCredentials);
    assert_eq!(err.rejection(), Some(Rejection::UnknownKey));
    assert_eq!(err.to_string(), "bad credentials: unknown key");
}

#[test]
fn malformed_headers_are_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let auth = authenticator(dir.path());
    let no_colon = format!("Basic {}", STANDARD.encode("keyonly"));
    let cases = [
        ("Basic !!!not-base64!!!", Rejection::MalformedBasic),
        (no_colon.as_str(), Rejection::MalformedBasic),
        ("Basic", Rejection::UnsupportedScheme),
        ("", Rejection::UnsupportedScheme),
        ("Digest username=\"x\"", Rejection::UnsupportedScheme),
        ("Bearer not.a-jwt", Rejection::MalformedToken),
    ];
    for (header, expected) in cases {
        let err = auth.authenticate(Some(header)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::BadCredentials, "{header:?}");
        assert_eq!(err.rejection(), Some(expected), "{header:?}");
    }
}

#[test]
fn a_missing_header_is_missing_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let err = authenticator(dir.path()).authenticate(None).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::MissingCredentials);
}

#[test]
fn a_credential_created_after_the_authenticator_was_built_is_accepted_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let auth = authenticator(dir.path());
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    assert!(auth.authenticate(Some(&basic(&key, &secret))).is_ok());
    // And a second one created right after (same mtime tick) too.
    let (key2, secret2) = CredentialFile::create(dir.path(), "t2", &write_scopes(), None).unwrap();
    assert_eq!(
        auth.authenticate(Some(&basic(&key2, &secret2)))
            .unwrap()
            .tenant,
        "t2"
    );
}

#[test]
fn a_revoked_key_is_rejected_after_an_explicit_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let auth = authenticator(dir.path());
    assert!(auth.authenticate(Some(&basic(&key, &secret))).is_ok());

    assert!(CredentialFile::revoke(dir.path(), &key).unwrap());
    assert!(auth.reload().unwrap());

    let err = auth.authenticate(Some(&basic(&key, &secret))).unwrap_err();
    assert_eq!(err.rejection(), Some(Rejection::UnknownKey));
}

#[test]
fn a_revoked_key_is_rejected_within_the_reload_interval_without_intervention() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let auth = authenticator(dir.path());
    assert!(auth.authenticate(Some(&basic(&key, &secret))).is_ok());

    CredentialFile::revoke(dir.path(), &key).unwrap();
    std::thread::sleep(lrs_auth::RELOAD_CHECK_INTERVAL + std::time::Duration::from_millis(100));

    assert!(auth.authenticate(Some(&basic(&key, &secret))).is_err());
}

#[test]
fn revoking_twice_or_an_unknown_key_reports_false() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    assert!(CredentialFile::revoke(dir.path(), &key).unwrap());
    assert!(!CredentialFile::revoke(dir.path(), &key).unwrap());
    assert!(!CredentialFile::revoke(dir.path(), "nope").unwrap());
}

#[test]
fn listing_shows_every_credential_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, s1) = CredentialFile::create(dir.path(), "t1", &write_scopes(), Some("a")).unwrap();
    let (k2, _) = CredentialFile::create(dir.path(), "t2", &write_scopes(), None).unwrap();
    CredentialFile::revoke(dir.path(), &k2).unwrap();

    let list = CredentialFile::list(dir.path()).unwrap();

    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].key.as_str(), list[0].label.as_deref()),
        (k1.as_str(), Some("a"))
    );
    assert!(list[0].revoked_at.is_none());
    assert_eq!(list[1].key, k2);
    assert!(list[1].revoked_at.is_some());
    assert!(!format!("{list:?}").contains(&s1));
}

#[test]
fn listing_an_empty_data_dir_gives_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        CredentialFile::list(&dir.path().join("absent"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn create_makes_the_data_dir_and_refuses_bad_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    CredentialFile::create(&nested, "board-131016", &write_scopes(), None).unwrap();
    assert!(CredentialFile::path(&nested).exists());
    let err = CredentialFile::create(&nested, "../etc", &write_scopes(), None).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Config);
}

#[test]
fn concurrent_creates_lose_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = dir.path().to_owned();
            std::thread::spawn(move || {
                CredentialFile::create(&path, "t1", &write_scopes(), None).unwrap()
            })
        })
        .collect();
    let created: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let auth = authenticator(dir.path());
    for (key, secret) in &created {
        assert!(auth.authenticate(Some(&basic(key, secret))).is_ok());
    }
    assert_eq!(CredentialFile::list(dir.path()).unwrap().len(), 8);
}

#[test]
fn a_corrupt_file_fails_startup_but_not_a_running_authenticator() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = CredentialFile::create(dir.path(), "t1", &write_scopes(), None).unwrap();
    let auth = authenticator(dir.path());
    std::fs::write(CredentialFile::path(dir.path()), b"{not json").unwrap();

    // The running authenticator keeps its last good table.
    assert!(auth.reload().is_err());
    assert!(auth.authenticate(Some(&basic(&key, &secret))).is_ok());
    // A new one refuses to start.
    let err = Authenticator::new(dir.path(), AuthConfig::new(HOME_PAGE))
        .err()
        .unwrap();
    assert_eq!(err.kind(), AuthErrorKind::Config);
}

#[test]
fn a_bound_credential_authenticates_as_its_roster_user_and_an_unbound_one_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let aggregates = Scopes::from_iter([Scope::Aggregates]);
    let (bound, bound_secret) =
        CredentialFile::create_bound(dir.path(), "131016", &aggregates, None, Some("t-001"))
            .unwrap();
    let (plain, plain_secret) =
        CredentialFile::create(dir.path(), "131016", &aggregates, None).unwrap();
    let auth = authenticator(dir.path());
    let principal = auth
        .authenticate(Some(&basic(&bound, &bound_secret)))
        .unwrap();
    assert_eq!(principal.user.as_deref(), Some("t-001"));
    assert!(!principal.prefecture);
    let principal = auth
        .authenticate(Some(&basic(&plain, &plain_secret)))
        .unwrap();
    assert_eq!(principal.user, None);
}

#[test]
fn a_prefecture_credential_authenticates_without_a_tenant_and_may_only_read_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let aggregates = Scopes::from_iter([Scope::Aggregates]);
    let (key, secret) = CredentialFile::create_prefecture(dir.path(), &aggregates, None).unwrap();
    let auth = authenticator(dir.path());
    let principal = auth.authenticate(Some(&basic(&key, &secret))).unwrap();
    assert!(principal.prefecture);
    assert_eq!(principal.tenant, "");
    assert!(principal.allows(lrs_auth::Access::ReadAggregates));
    assert!(!principal.allows(lrs_auth::Access::ReadStatements));
}

#[test]
fn a_hand_edited_prefecture_credential_with_more_scopes_fails_startup() {
    let dir = tempfile::tempdir().unwrap();
    let aggregates = Scopes::from_iter([Scope::Aggregates]);
    CredentialFile::create_prefecture(dir.path(), &aggregates, None).unwrap();
    let path = CredentialFile::path(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"aggregates\"", "\"all\"")).unwrap();
    let err = Authenticator::new(dir.path(), AuthConfig::new(HOME_PAGE))
        .err()
        .unwrap();
    assert_eq!(err.kind(), AuthErrorKind::Config, "{err}");
}
