//! Concurrency control of the document resources (xAPI 1.0.3 Communication §3.1, 2.0 §4.1.4)
//! against the real server, in both versions.

mod common;

use common::TestLrs;
use common::documents::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_put_without_precondition_headers_follows_each_versions_rules() {
    // xAPI 1.0.3 Communication §3.1.s3 (State exempt; profile PUTs MUST carry a header) and
    // §3.1.s4.b13–b15 (409 when the document exists); 2.0 §4.1.4 includes the State Resource.
    let lrs = TestLrs::start();
    let cases = [
        (
            "1.0.3",
            STATE,
            StatusCode::NO_CONTENT,
            StatusCode::NO_CONTENT,
        ),
        (
            "1.0.3",
            ACTIVITY_PROFILE,
            StatusCode::BAD_REQUEST,
            StatusCode::CONFLICT,
        ),
        (
            "1.0.3",
            AGENT_PROFILE,
            StatusCode::BAD_REQUEST,
            StatusCode::CONFLICT,
        ),
        ("2.0.0", STATE, StatusCode::NO_CONTENT, StatusCode::CONFLICT),
        (
            "2.0.0",
            ACTIVITY_PROFILE,
            StatusCode::NO_CONTENT,
            StatusCode::CONFLICT,
        ),
        (
            "2.0.0",
            AGENT_PROFILE,
            StatusCode::NO_CONTENT,
            StatusCode::CONFLICT,
        ),
    ];
    for (version, path, absent, present) in cases {
        let client = Client::new(&lrs, version);
        let id = format!("unconditional-{version}");
        let params = match path {
            STATE => state_params(&id),
            ACTIVITY_PROFILE => activity_profile_params(&id),
            _ => agent_profile_params(&id),
        };
        let first = client
            .json(Method::PUT, path, &params, &[], &json!({"v": 1}))
            .await;
        assert_eq!(
            first.status(),
            absent,
            "{version} {path}: PUT of a new document"
        );
        if absent != StatusCode::NO_CONTENT {
            let created = client
                .json(
                    Method::PUT,
                    path,
                    &params,
                    &[("If-None-Match", "*")],
                    &json!({"v": 1}),
                )
                .await;
            assert_eq!(created.status(), 204);
        }
        let second = client
            .json(Method::PUT, path, &params, &[], &json!({"v": 2}))
            .await;
        assert_eq!(
            second.status(),
            present,
            "{version} {path}: PUT over an existing document"
        );
        let expected = if present == StatusCode::CONFLICT {
            1
        } else {
            2
        };
        assert_eq!(client.get_json(path, &params).await, json!({"v": expected}));
        if present == StatusCode::CONFLICT {
            let text = second.text().await.unwrap();
            assert!(
                text.contains("If-Match"),
                "the 409 explains what to do: {text}"
            );
        }
    }
}

#[tokio::test]
async fn if_match_and_if_none_match_guard_put_post_and_delete_in_both_versions() {
    // xAPI 1.0.3 Communication §3.1.s4.b5–b12; 2.0 §4.1.4 (XAPI-00322).
    let lrs = TestLrs::start();
    for version in ["1.0.3", "2.0.0"] {
        for path in [STATE, ACTIVITY_PROFILE, AGENT_PROFILE] {
            let client = Client::new(&lrs, version);
            let id = format!("guarded-{version}");
            let params = match path {
                STATE => state_params(&id),
                ACTIVITY_PROFILE => activity_profile_params(&id),
                _ => agent_profile_params(&id),
            };
            let label = format!("{version} {path}");
            let stale = "\"1111111111111111111111111111111111111111\"";

            let missing = client
                .json(
                    Method::PUT,
                    path,
                    &params,
                    &[("If-Match", stale)],
                    &json!({}),
                )
                .await;
            assert_eq!(
                missing.status(),
                412,
                "{label}: If-Match without a document"
            );
            let created = client
                .json(
                    Method::PUT,
                    path,
                    &params,
                    &[("If-None-Match", "*")],
                    &json!({"v": 1}),
                )
                .await;
            assert_eq!(created.status(), 204, "{label}");
            let etag = client.etag(path, &params).await;
            assert_eq!(
                header(&created, "ETag"),
                etag,
                "{label}: the write answers the new ETag"
            );

            for method in [Method::PUT, Method::POST] {
                let exists = client
                    .json(
                        method.clone(),
                        path,
                        &params,
                        &[("If-None-Match", "*")],
                        &json!({"v": 9}),
                    )
                    .await;
                assert_eq!(
                    exists.status(),
                    412,
                    "{label} {method}: If-None-Match * with a document"
                );
                let stale_write = client
                    .json(
                        method.clone(),
                        path,
                        &params,
                        &[("If-Match", stale)],
                        &json!({"v": 9}),
                    )
                    .await;
                assert_eq!(
                    stale_write.status(),
                    412,
                    "{label} {method}: stale If-Match"
                );
            }
            let stale_delete = client
                .send(Method::DELETE, path, &params, &[("If-Match", stale)], None)
                .await;
            assert_eq!(
                stale_delete.status(),
                412,
                "{label}: DELETE with a stale If-Match"
            );
            assert_eq!(
                client.get_json(path, &params).await,
                json!({"v": 1}),
                "{label}: unchanged"
            );

            let put = client
                .json(
                    Method::PUT,
                    path,
                    &params,
                    &[("If-Match", &etag)],
                    &json!({"v": 2}),
                )
                .await;
            assert_eq!(put.status(), 204, "{label}: PUT with the current ETag");
            let etag = client.etag(path, &params).await;
            let post = client
                .json(
                    Method::POST,
                    path,
                    &params,
                    &[("If-Match", &etag)],
                    &json!({"w": 3}),
                )
                .await;
            assert_eq!(post.status(), 204, "{label}: POST with the current ETag");
            assert_eq!(
                client.get_json(path, &params).await,
                json!({"v": 2, "w": 3})
            );
            let etag = client.etag(path, &params).await;
            let delete = client
                .send(Method::DELETE, path, &params, &[("If-Match", &etag)], None)
                .await;
            assert_eq!(
                delete.status(),
                204,
                "{label}: DELETE with the current ETag"
            );
            assert_eq!(client.get(path, &params).await.status(), 404);
        }
    }
}

#[tokio::test]
async fn concurrent_posts_to_one_document_never_lose_a_key() {
    // The merge is a compare-and-set loop: every POST's key survives.
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let params = state_params("answers");
    let posts = (0..24).map(|n| {
        let client = &client;
        let params = &params;
        async move {
            let body = json!({format!("q{n}"): n});
            client
                .json(Method::POST, STATE, params, &[], &body)
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let merged = client.get_json(STATE, &params).await;
    let keys = merged.as_object().unwrap().len();
    assert_eq!(keys, 24, "{merged}");
}

#[tokio::test]
async fn a_get_whose_if_none_match_matches_is_304_and_a_stale_if_match_is_412() {
    // RFC 9110 §13.1.1–§13.1.2, which xAPI 1.0.3 Communication §3.1 points to.
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let params = agent_profile_params("conditional-get");
    client
        .json(
            Method::PUT,
            AGENT_PROFILE,
            &params,
            &[("If-None-Match", "*")],
            &json!({"a": 1}),
        )
        .await;
    let etag = client.etag(AGENT_PROFILE, &params).await;
    let cached = client
        .send(
            Method::GET,
            AGENT_PROFILE,
            &params,
            &[("If-None-Match", &etag)],
            None,
        )
        .await;
    assert_eq!(cached.status(), 304);
    assert_eq!(header(&cached, "ETag"), etag);
    let stale = client
        .send(
            Method::GET,
            AGENT_PROFILE,
            &params,
            &[("If-Match", "\"0000\"")],
            None,
        )
        .await;
    assert_eq!(stale.status(), 412);
}
