//! The document resources (State, Activity Profile, Agent Profile) against the real server on
//! port 0 with a real embedded store: storage, merge, listings, parameters, tenancy and scopes.

mod common;

use common::TestLrs;
use common::create_credential;
use common::documents::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_state_document_round_trips_with_its_content_type_quoted_sha1_etag_and_last_modified() {
    // xAPI 1.0.3 Communication §2.3, §3.1.s4.b1–b4; 2.0 §4.1.6.2 (Last-Modified).
    let lrs = TestLrs::start();
    for version in ["1.0.3", "2.0.0"] {
        let client = Client::new(&lrs, version);
        let params = state_params(&format!("bookmark-{version}"));
        let body = b"\x00\x01 page 12".to_vec();
        let put = client
            .send(
                Method::PUT,
                STATE,
                &params,
                &[],
                Some(("application/octet-stream", body.clone())),
            )
            .await;
        assert_eq!(put.status(), 204, "{version}");

        let got = client.get(STATE, &params).await;
        assert_eq!(got.status(), 200);
        assert_eq!(header(&got, "Content-Type"), "application/octet-stream");
        assert_eq!(header(&got, "ETag"), format!("\"{}\"", sha1_hex(&body)));
        assert!(!header(&got, "Last-Modified").is_empty());
        assert_eq!(header(&got, "X-Experience-API-Version"), version);
        assert_eq!(got.bytes().await.unwrap().to_vec(), body);

        let head = client.send(Method::HEAD, STATE, &params, &[], None).await;
        assert_eq!(head.status(), 200, "HEAD (xAPI 1.0.3 Communication §1.1)");
        assert_eq!(header(&head, "ETag"), format!("\"{}\"", sha1_hex(&body)));
        assert!(head.headers().contains_key("Last-Modified"));
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");

        let delete = client.send(Method::DELETE, STATE, &params, &[], None).await;
        assert_eq!(delete.status(), 204);
        assert_eq!(client.get(STATE, &params).await.status(), 404);
        let again = client.send(Method::DELETE, STATE, &params, &[], None).await;
        assert_eq!(
            again.status(),
            204,
            "deleting a missing document is not an error"
        );
    }
}

#[tokio::test]
async fn post_merges_top_level_keys_of_json_objects_and_stores_a_new_document() {
    // xAPI 1.0.3 Communication §2.2.s7 (Document Merge), §2.3 (XAPI-00183, XAPI-00234).
    let lrs = TestLrs::start();
    for (path, params) in [
        (STATE, state_params("merge")),
        (ACTIVITY_PROFILE, activity_profile_params("merge")),
        (AGENT_PROFILE, agent_profile_params("merge")),
    ] {
        let client = Client::new(&lrs, "2.0.0");
        let first =
            json!({"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale", "kept": true});
        let posted = client.json(Method::POST, path, &params, &[], &first).await;
        assert_eq!(
            posted.status(),
            204,
            "{path}: POST of a new document stores it"
        );
        assert_eq!(client.get_json(path, &params).await, first);

        let second = json!({"car": {"make": "Dodge"}, "driver": "Jeff"});
        let merged = client.json(Method::POST, path, &params, &[], &second).await;
        assert_eq!(merged.status(), 204);
        assert_eq!(
            client.get_json(path, &params).await,
            json!({"car": {"make": "Dodge"}, "driver": "Jeff", "kept": true}),
            "{path}: top-level keys overwritten, nested objects replaced, the rest kept"
        );
    }
}

#[tokio::test]
async fn a_merge_with_a_non_json_side_is_refused_and_changes_nothing() {
    // xAPI 1.0.3 Communication §2.2.s8.b1 (XAPI-00229, XAPI-00232, XAPI-00278).
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "1.0.3");
    let json_doc = state_params("json");
    let original = json!({"page": 12});
    client
        .json(Method::POST, STATE, &json_doc, &[], &original)
        .await;
    let cases: [(&str, &[u8]); 4] = [
        ("text/plain", b"abcdefg"),
        ("application/json", b"[1, 2]"),
        ("application/json", b"{\"page\": 13}{"),
        ("application/json", b"not json"),
    ];
    for (content_type, body) in cases {
        let response = client
            .send(
                Method::POST,
                STATE,
                &json_doc,
                &[],
                Some((content_type, body.to_vec())),
            )
            .await;
        assert_eq!(response.status(), 400, "{content_type} {body:?}");
        assert_eq!(client.get_json(STATE, &json_doc).await, original);
    }

    let binary = state_params("binary");
    client
        .send(
            Method::PUT,
            STATE,
            &binary,
            &[],
            Some(("application/octet-stream", b"/ asdf /".to_vec())),
        )
        .await;
    let response = client
        .json(Method::POST, STATE, &binary, &[], &json!({"a": 1}))
        .await;
    assert_eq!(response.status(), 400, "the stored document is not JSON");
    let got = client.get(STATE, &binary).await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"/ asdf /");

    let bad_json_put = client
        .send(
            Method::PUT,
            STATE,
            &state_params("bad"),
            &[],
            Some(("application/json", b"{".to_vec())),
        )
        .await;
    assert_eq!(
        bad_json_put.status(),
        400,
        "a body labelled JSON must be JSON"
    );
    assert_eq!(client.get(STATE, &state_params("bad")).await.status(), 404);
}

#[tokio::test]
async fn one_agent_spelled_two_ways_reaches_the_same_documents() {
    // The agent parameter is an Agent identified by its IFI (xAPI 1.0.3 Communication §2.3).
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let one = json!({"mbox": "mailto:taro@EXAMPLE.jp", "name": "山田太郎"}).to_string();
    let other = json!({"objectType": "Agent", "mbox": "mailto:taro@example.jp"}).to_string();
    let params: Params = vec![("agent", one), ("profileId", "prefs".into())];
    client
        .json(
            Method::POST,
            AGENT_PROFILE,
            &params,
            &[],
            &json!({"furigana": true}),
        )
        .await;
    let other_params: Params = vec![("agent", other), ("profileId", "prefs".into())];
    assert_eq!(
        client.get_json(AGENT_PROFILE, &other_params).await,
        json!({"furigana": true})
    );
}

#[tokio::test]
async fn id_lists_honour_since_and_state_registrations() {
    // xAPI 1.0.3 Communication §2.3 (GET without stateId, "since"), §2.6, §2.7.
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let context = without(&state_params(""), "stateId");
    client
        .json(
            Method::PUT,
            STATE,
            &with(&context, "stateId", "a"),
            &[],
            &json!({}),
        )
        .await;
    client
        .json(
            Method::PUT,
            STATE,
            &with(
                &with(&context, "stateId", "b"),
                "registration",
                REGISTRATION,
            ),
            &[],
            &json!({}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = now_timestamp();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    client
        .json(
            Method::PUT,
            STATE,
            &with(&context, "stateId", "c"),
            &[],
            &json!({}),
        )
        .await;

    assert_eq!(
        client.get_json(STATE, &context).await,
        json!(["a", "b", "c"])
    );
    assert_eq!(
        client
            .get_json(STATE, &with(&context, "registration", REGISTRATION))
            .await,
        json!(["b"])
    );
    assert_eq!(
        client
            .get_json(STATE, &with(&context, "since", &between))
            .await,
        json!(["c"])
    );

    let profiles = without(&activity_profile_params(""), "profileId");
    client
        .json(
            Method::POST,
            ACTIVITY_PROFILE,
            &with(&profiles, "profileId", "p1"),
            &[],
            &json!({}),
        )
        .await;
    let listed = client.get_json(ACTIVITY_PROFILE, &profiles).await;
    assert_eq!(listed, json!(["p1"]));
    assert_eq!(
        client
            .get_json(
                ACTIVITY_PROFILE,
                &with(&profiles, "since", &now_timestamp())
            )
            .await,
        json!([])
    );
}

/// Now as an RFC 3339 UTC timestamp, from the system clock.
fn now_timestamp() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    lrs_schema::format_timestamp(micros)
}

#[tokio::test]
async fn a_state_delete_without_a_state_id_deletes_the_context_or_one_registration() {
    // xAPI 1.0.3 Communication §2.3 (DELETE multiple: "Activity + Agent [+ registration]").
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "1.0.3");
    let context = without(&state_params(""), "stateId");
    let registered = with(&context, "registration", REGISTRATION);
    for params in [&context, &registered] {
        for id in ["x", "y"] {
            client
                .json(
                    Method::PUT,
                    STATE,
                    &with(params, "stateId", id),
                    &[],
                    &json!({}),
                )
                .await;
        }
    }
    let other_activity = with(
        &state_params("z"),
        "activityId",
        "https://drill.example.jp/other",
    );
    client
        .json(Method::PUT, STATE, &other_activity, &[], &json!({}))
        .await;

    let response = client
        .send(Method::DELETE, STATE, &registered, &[], None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(client.get_json(STATE, &registered).await, json!([]));
    assert_eq!(client.get_json(STATE, &context).await, json!(["x", "y"]));

    client
        .json(
            Method::PUT,
            STATE,
            &with(&registered, "stateId", "x"),
            &[],
            &json!({}),
        )
        .await;
    let response = client
        .send(Method::DELETE, STATE, &context, &[], None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(client.get_json(STATE, &context).await, json!([]));
    assert_eq!(
        client.get(STATE, &other_activity).await.status(),
        200,
        "other contexts stay"
    );
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter_and_change_nothing() {
    // xAPI 1.0.3 Communication §2.3, §2.6, §2.7, §3.2.s3.b7–b8.
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let state = state_params("s");
    let group = json!({"objectType": "Group", "mbox": "mailto:class-4@example.jp"}).to_string();
    let cases: Vec<(Method, &str, Params, &str)> = vec![
        (
            Method::PUT,
            STATE,
            without(&state, "activityId"),
            "?activityId",
        ),
        (Method::POST, STATE, without(&state, "agent"), "?agent"),
        (Method::PUT, STATE, without(&state, "stateId"), "?stateId"),
        (
            Method::GET,
            STATE,
            with(&state, "agent", "not JSON"),
            "?agent",
        ),
        (Method::GET, STATE, with(&state, "agent", "true"), "?agent"),
        (
            Method::DELETE,
            STATE,
            with(&state, "agent", &group),
            "?agent.objectType",
        ),
        (
            Method::POST,
            STATE,
            with(&state, "registration", "true"),
            "?registration",
        ),
        (
            Method::GET,
            STATE,
            with(&without(&state, "stateId"), "since", "yesterday"),
            "?since",
        ),
        (
            Method::DELETE,
            STATE,
            with(&state, "since", "2025-10-14T00:00:00Z"),
            "?since",
        ),
        (Method::GET, STATE, with(&state, "StateId", "s"), "?StateId"),
        (
            Method::GET,
            STATE,
            with(&state, "profileId", "p"),
            "?profileId",
        ),
        (
            Method::PUT,
            STATE,
            with(&state, "activityId", "not an IRI"),
            "?activityId",
        ),
        (
            Method::GET,
            ACTIVITY_PROFILE,
            without(&activity_profile_params("p"), "activityId"),
            "?activityId",
        ),
        (
            Method::DELETE,
            ACTIVITY_PROFILE,
            without(&activity_profile_params("p"), "profileId"),
            "?profileId",
        ),
        (
            Method::POST,
            AGENT_PROFILE,
            without(&agent_profile_params("p"), "profileId"),
            "?profileId",
        ),
        (
            Method::GET,
            AGENT_PROFILE,
            with(&agent_profile_params("p"), "agent", "{\"mbox\": \"taro\"}"),
            "?agent.mbox",
        ),
        (
            Method::GET,
            AGENT_PROFILE,
            with(&agent_profile_params("p"), "activityId", ACTIVITY),
            "?activityId",
        ),
    ];
    for (method, path, params, bad) in cases {
        let response = client
            .json(
                method.clone(),
                path,
                &params,
                &[("If-None-Match", "*")],
                &json!({"x": 1}),
            )
            .await;
        assert_eq!(response.status(), 400, "{method} {path} {params:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["path"], bad, "{method} {path}: {body}");
        assert!(body["rule"].as_str().unwrap().contains("xAPI"), "{body}");
    }
    assert_eq!(
        client.get_json(STATE, &without(&state, "stateId")).await,
        json!([])
    );
    let malformed = client
        .json(
            Method::PUT,
            STATE,
            &state,
            &[("If-Match", "\"unterminated")],
            &json!({}),
        )
        .await;
    assert_eq!(malformed.status(), 400, "a malformed If-Match");
}

#[tokio::test]
async fn a_tenant_never_sees_or_deletes_another_tenants_documents() {
    let lrs = TestLrs::start();
    let board_a = Client::new(&lrs, "2.0.0");
    let board_b = Client::as_credential(
        &lrs,
        "2.0.0",
        create_credential(&lrs.data_dir(), "board-b", "all"),
    );
    let params = state_params("shared-name");
    board_a
        .json(Method::PUT, STATE, &params, &[], &json!({"owner": "a"}))
        .await;

    assert_eq!(board_b.get(STATE, &params).await.status(), 404);
    assert_eq!(
        board_b.get_json(STATE, &without(&params, "stateId")).await,
        json!([])
    );
    let b_delete = board_b
        .send(
            Method::DELETE,
            STATE,
            &without(&params, "stateId"),
            &[],
            None,
        )
        .await;
    assert_eq!(b_delete.status(), 204);
    let b_put = board_b
        .json(Method::PUT, STATE, &params, &[], &json!({"owner": "b"}))
        .await;
    assert_eq!(
        b_put.status(),
        204,
        "board B creates its own document under the same name"
    );

    assert_eq!(
        board_a.get_json(STATE, &params).await,
        json!({"owner": "a"})
    );
    assert_eq!(
        board_b.get_json(STATE, &params).await,
        json!({"owner": "b"})
    );
}

#[tokio::test]
async fn scopes_decide_who_reads_and_writes_state_and_profiles() {
    // xAPI 1.0.3 Communication §4.2: `state`, `profile`, `all/read`.
    let lrs = TestLrs::start();
    let dir = lrs.data_dir();
    let state_only =
        Client::as_credential(&lrs, "2.0.0", create_credential(&dir, "board-a", "state"));
    let reader = Client::as_credential(
        &lrs,
        "2.0.0",
        create_credential(&dir, "board-a", "all/read"),
    );
    let state = state_params("scoped");
    let profile = activity_profile_params("scoped");

    assert_eq!(
        state_only
            .json(Method::PUT, STATE, &state, &[], &json!({}))
            .await
            .status(),
        204
    );
    let forbidden = state_only
        .json(
            Method::PUT,
            ACTIVITY_PROFILE,
            &profile,
            &[("If-None-Match", "*")],
            &json!({}),
        )
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(reader.get(STATE, &state).await.status(), 200);
    let read_only = reader.send(Method::DELETE, STATE, &state, &[], None).await;
    assert_eq!(read_only.status(), 403);
    assert_eq!(
        state_only.get(STATE, &state).await.status(),
        200,
        "nothing was deleted"
    );
}
