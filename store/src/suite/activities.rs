//! Suite: canonical Activity Definitions.

use lrs_schema::DefinitionJson;

use super::SuiteStore;
use crate::ActivityDefinitionRow;

fn definition(json: &str) -> DefinitionJson {
    DefinitionJson::from_slice(json.as_bytes()).expect("a JSON object")
}

fn row(tenant: &str, activity_id: &str, json: &str) -> ActivityDefinitionRow {
    ActivityDefinitionRow {
        tenant: tenant.into(),
        activity_id: activity_id.into(),
        definition: definition(json),
    }
}

const MEETING: &str = "http://www.example.com/meetings/occurances/34534";

pub async fn activity_definitions_are_merged_per_language_in_order<S: SuiteStore>(store: &S) {
    let tenant = "suite-activities";
    assert_eq!(
        store
            .get_activity_definition(tenant, MEETING)
            .await
            .unwrap(),
        None
    );
    store
        .merge_activity_definitions(&[
            row(
                tenant,
                MEETING,
                r#"{"name":{"en-US":"meeting"},"type":"http://t/1"}"#,
            ),
            row(tenant, MEETING, r#"{"name":{"fr-FR":"réunion"}}"#),
        ])
        .await
        .unwrap();
    store
        .merge_activity_definitions(&[row(
            tenant,
            MEETING,
            r#"{"name":{"en-US":"weekly meeting"},"type":"http://t/2"}"#,
        )])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_activity_definition(tenant, MEETING)
            .await
            .unwrap(),
        Some(definition(
            r#"{"name":{"en-US":"weekly meeting","fr-FR":"réunion"},"type":"http://t/2"}"#
        ))
    );
    assert_eq!(
        store
            .get_activity_definition(tenant, "http://www.example.com/meetings/other")
            .await
            .unwrap(),
        None,
        "an activity no statement defined"
    );
}

pub async fn merging_the_same_definitions_again_changes_nothing<S: SuiteStore>(store: &S) {
    let tenant = "suite-activities-replay";
    let batch = [
        row(tenant, MEETING, r#"{"name":{"en-US":"one"}}"#),
        row(
            tenant,
            "http://x.jp/b",
            r#"{"description":{"ja-JP":"説明"}}"#,
        ),
        row(tenant, MEETING, r#"{"name":{"en-US":"two"}}"#),
    ];
    store.merge_activity_definitions(&batch).await.unwrap();
    let first = store
        .get_activity_definition(tenant, MEETING)
        .await
        .unwrap();
    store.merge_activity_definitions(&batch).await.unwrap();
    assert_eq!(
        store
            .get_activity_definition(tenant, MEETING)
            .await
            .unwrap(),
        first
    );
    assert_eq!(first, Some(definition(r#"{"name":{"en-US":"two"}}"#)));
    assert_eq!(
        store
            .get_activity_definition(tenant, "http://x.jp/b")
            .await
            .unwrap(),
        Some(definition(r#"{"description":{"ja-JP":"説明"}}"#))
    );
}

pub async fn activity_definitions_of_tenants_are_isolated<S: SuiteStore>(store: &S) {
    store
        .merge_activity_definitions(&[
            row("suite-activities-a", MEETING, r#"{"name":{"en-US":"A's"}}"#),
            row("suite-activities-b", MEETING, r#"{"name":{"ja-JP":"Bの"}}"#),
        ])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_activity_definition("suite-activities-a", MEETING)
            .await
            .unwrap(),
        Some(definition(r#"{"name":{"en-US":"A's"}}"#))
    );
    assert_eq!(
        store
            .get_activity_definition("suite-activities-b", MEETING)
            .await
            .unwrap(),
        Some(definition(r#"{"name":{"ja-JP":"Bの"}}"#))
    );
    assert_eq!(
        store
            .get_activity_definition("suite-activities-c", MEETING)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_batch_get_answers_each_activity_in_request_order<S: SuiteStore>(store: &S) {
    let tenant = "suite-activities-batch";
    store
        .merge_activity_definitions(&[
            row(tenant, MEETING, r#"{"name":{"en-US":"meeting"}}"#),
            row(tenant, "http://x.jp/b", r#"{"name":{"ja-JP":"び"}}"#),
        ])
        .await
        .unwrap();
    let ids = [
        "http://x.jp/b".to_owned(),
        "http://x.jp/never".to_owned(),
        MEETING.to_owned(),
        "http://x.jp/b".to_owned(),
    ];
    let got = store.get_activity_definitions(tenant, &ids).await.unwrap();
    let b = Some(definition(r#"{"name":{"ja-JP":"び"}}"#));
    assert_eq!(
        got,
        [
            b.clone(),
            None,
            Some(definition(r#"{"name":{"en-US":"meeting"}}"#)),
            b
        ]
    );
    assert!(
        store
            .get_activity_definitions(tenant, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .get_activity_definitions("suite-activities-batch-unknown", &ids[..2])
            .await
            .unwrap(),
        [None, None],
        "a tenant that defined nothing"
    );
}
