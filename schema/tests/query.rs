//! GET /statements parameters, the version header, the agent identifier and timestamps.

use lrs_schema::{
    StatementFormat, StatementQuery, XapiVersion, canonical_ifi, format_timestamp, parse_timestamp,
};
use proptest::prelude::*;
use serde_json::json;

/// Query-string pairs, the expected error path, and a piece of the expected rule.
type BadCase = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> Result<StatementQuery, lrs_schema::ValidationError> {
    StatementQuery::from_params(&params(pairs), XapiVersion::V1_0_3)
}

#[test]
fn no_parameters_give_the_defaults() {
    let q = query(&[]).unwrap();
    assert_eq!(
        q,
        StatementQuery {
            limit: 0,
            format: StatementFormat::Exact,
            ..StatementQuery::default()
        }
    );
}

#[test]
fn every_filter_parameter_is_parsed() {
    let q = query(&[
        (
            "agent",
            r#"{"objectType":"Agent","mbox":"mailto:Taro@Example.JP"}"#,
        ),
        ("verb", "http://adlnet.gov/expapi/verbs/answered"),
        ("activity", "https://drill.example.jp/items/1"),
        ("registration", "a7d3e1f0-5c2b-4b8e-9f61-7e2d4c9a0b13"),
        ("related_activities", "true"),
        ("related_agents", "false"),
        ("since", "2025-10-14T10:00:00+09:00"),
        ("until", "2025-10-15T00:00:00Z"),
        ("limit", "25"),
        ("format", "ids"),
        ("attachments", "true"),
        ("ascending", "true"),
    ])
    .unwrap();
    assert_eq!(q.agent.as_deref(), Some("mbox::mailto:Taro@example.jp"));
    assert_eq!(
        q.verb.as_deref(),
        Some("http://adlnet.gov/expapi/verbs/answered")
    );
    assert_eq!(
        q.activity.as_deref(),
        Some("https://drill.example.jp/items/1")
    );
    assert!(q.registration.is_some() && q.related_activities && !q.related_agents);
    assert_eq!(
        q.since,
        Some(parse_timestamp("2025-10-14T01:00:00Z").unwrap())
    );
    assert_eq!(
        q.until,
        Some(parse_timestamp("2025-10-15T00:00:00Z").unwrap())
    );
    assert_eq!(
        (q.limit, q.format, q.attachments, q.ascending),
        (25, StatementFormat::Ids, true, true)
    );
}

#[test]
fn a_statement_id_may_come_only_with_attachments_and_format() {
    let id = "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01";
    let q = query(&[
        ("statementId", id),
        ("format", "canonical"),
        ("attachments", "false"),
    ])
    .unwrap();
    assert_eq!(q.statement_id.unwrap().to_string(), id);
    assert_eq!(
        query(&[("voidedStatementId", id), ("limit", "1")])
            .unwrap_err()
            .path(),
        "?limit"
    );
    assert_eq!(
        query(&[("statementId", id), ("voidedStatementId", id)])
            .unwrap_err()
            .path(),
        "?voidedStatementId"
    );
}

#[test]
fn bad_parameters_are_rejected_with_their_name_as_path() {
    let cases: [BadCase; 14] = [
        (&[("agent", "mailto:a@example.com")], "?agent", "JSON"),
        (&[("agent", r#"{"name":"nobody"}"#)], "?agent", "§2.4.2.1"),
        (
            &[(
                "agent",
                r#"{"objectType":"Group","member":[{"mbox":"mailto:a@example.com"}]}"#,
            )],
            "?agent",
            "Identified Group",
        ),
        (&[("verb", "answered")], "?verb", "IRI"),
        (&[("activity", "")], "?activity", "IRI"),
        (&[("registration", "12")], "?registration", "§4.4"),
        (&[("statementId", "nope")], "?statementId", "§4.4"),
        (&[("since", "yesterday")], "?since", "§4.5"),
        (&[("limit", "-1")], "?limit", "nonnegative"),
        (&[("limit", "ten")], "?limit", "nonnegative"),
        (&[("format", "IDS")], "?format", "format"),
        (&[("ascending", "yes")], "?ascending", "Boolean"),
        (&[("Verb", "http://example.com/v")], "?Verb", "§3.2.s3.b8"),
        (&[("cursor", "abc")], "?cursor", "§3.2.s3.b7"),
    ];
    for (pairs, path, rule) in cases {
        let err = query(pairs).unwrap_err();
        assert_eq!(err.path(), path, "{pairs:?}");
        assert!(err.rule().contains(rule), "{pairs:?}: {}", err.rule());
    }
    let err = query(&[
        ("verb", "http://example.com/a"),
        ("verb", "http://example.com/b"),
    ])
    .unwrap_err();
    assert_eq!(err.path(), "?verb");
}

#[test]
fn a_2_0_query_requires_timestamps_with_an_offset() {
    let err = StatementQuery::from_params(
        &params(&[("since", "2025-10-14T10:00:00")]),
        XapiVersion::V2_0_0,
    )
    .unwrap_err();
    assert_eq!(err.path(), "?since");
    assert!(query(&[("since", "2025-10-14T10:00:00")]).is_ok());
}

#[test]
fn version_headers_map_to_the_versions_we_serve() {
    for header in ["1.0", "1.0.0", "1.0.1", "1.0.3", "1.0.9", "1.0.10"] {
        assert_eq!(
            XapiVersion::from_header(header).unwrap(),
            XapiVersion::V1_0_3,
            "{header}"
        );
    }
    for header in ["2.0", "2.0.0", "2.0.1"] {
        assert_eq!(
            XapiVersion::from_header(header).unwrap(),
            XapiVersion::V2_0_0,
            "{header}"
        );
    }
    for header in [
        "", "1", "0.95", "0.9", "1.1.0", "1.0.", "1.0.x", "2.1.0", "3.0.0", "1.0.01", "2",
    ] {
        let err = XapiVersion::from_header(header).unwrap_err();
        assert_eq!(err.path(), "X-Experience-API-Version", "{header}");
    }
    assert_eq!(XapiVersion::V1_0_3.as_str(), "1.0.3");
    assert_eq!(XapiVersion::V2_0_0.as_str(), "2.0.0");
}

#[test]
fn canonical_identifiers_have_one_form_per_kind() {
    let v = XapiVersion::V1_0_3;
    assert_eq!(
        canonical_ifi(&json!({"mbox": "mailto:a@B.example"}), v, "?agent").unwrap(),
        "mbox::mailto:a@b.example"
    );
    assert_eq!(
        canonical_ifi(
            &json!({"mbox_sha1sum": "AD3E8F8A4C43A1F5A7F9B3E3B0C1D2E3F4A5B6C7"}),
            v,
            "?agent"
        )
        .unwrap(),
        "mbox_sha1sum::ad3e8f8a4c43a1f5a7f9b3e3b0c1d2e3f4a5b6c7"
    );
    assert_eq!(
        canonical_ifi(&json!({"openid": "http://id.example.com/a"}), v, "?agent").unwrap(),
        "openid::http://id.example.com/a"
    );
    assert_eq!(
        canonical_ifi(&json!({"objectType": "Group", "account": {"homePage": "https://school.example.jp", "name": "4-2"}}), v, "?agent").unwrap(),
        "account::https://school.example.jp::4-2"
    );
}

proptest! {
    #[test]
    fn timestamps_round_trip_through_their_formatted_form(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999) {
        let text = format_timestamp(micros);
        prop_assert_eq!(parse_timestamp(&text).unwrap(), micros);
    }

    #[test]
    fn limits_round_trip(limit in 0u32..=u32::MAX) {
        let q = query(&[("limit", &limit.to_string())]).unwrap();
        prop_assert_eq!(q.limit, limit);
    }
}
