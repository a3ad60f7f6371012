//! Activity Definitions learned from the statements a batch writes.
//!
//! xAPI 1.0.3 Communication §2.5 (2.0.0 §4.1.6.4): the Activities Resource answers "the complete
//! Activity Object", which holds what every statement targeting the activity said about it. Ingest
//! collects the definitions of the statements it writes (object, context activities,
//! SubStatement object and context activities; see `lrs_schema::statement_definitions`), merges
//! those of one activity in `stored` order, and hands one row per activity to the store.

use std::collections::HashMap;

use lrs_schema::statement_definitions;
use lrs_store::{ActivityDefinitionRow, StatementRow};

/// One row per (tenant, activity id) defined in `rows`, each the merge of that activity's
/// definitions in row order; rows in order of first appearance.
pub(crate) fn learned_definitions(rows: &[StatementRow]) -> Vec<ActivityDefinitionRow> {
    let mut out: Vec<ActivityDefinitionRow> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for row in rows {
        for (activity_id, definition) in statement_definitions(&row.body) {
            let key = (row.tenant.clone(), activity_id);
            match seen.get(&key) {
                Some(&i) => {
                    out[i].definition.merge(&definition);
                }
                None => {
                    seen.insert(key.clone(), out.len());
                    out.push(ActivityDefinitionRow {
                        tenant: key.0,
                        activity_id: key.1,
                        definition,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use lrs_schema::DefinitionJson;
    use lrs_schema::envelope::IndexKeys;
    use uuid::Uuid;

    use super::*;

    fn row(tenant: &str, body: serde_json::Value) -> StatementRow {
        StatementRow {
            tenant: tenant.into(),
            stored: 1,
            id: Uuid::new_v4(),
            keys: IndexKeys::default(),
            inherited: None,
            body: Bytes::from(body.to_string()),
        }
    }

    fn statement(activity: &str, name: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": activity, "definition": {"name": name}}
        })
    }

    #[test]
    fn one_activity_defined_by_several_statements_gives_one_merged_row_per_tenant() {
        let a = "https://drill.example.jp/items/1";
        let rows = [
            row("t1", statement(a, serde_json::json!({"ja-JP": "問1"}))),
            row("t2", statement(a, serde_json::json!({"en-US": "Q1 of t2"}))),
            row("t1", statement(a, serde_json::json!({"en-US": "Q1"}))),
            row(
                "t1",
                serde_json::json!({"object": {"objectType": "Agent", "mbox": "mailto:b@example.jp"}}),
            ),
        ];
        let learned = learned_definitions(&rows);
        assert_eq!(learned.len(), 2);
        assert_eq!(
            (learned[0].tenant.as_str(), learned[0].activity_id.as_str()),
            ("t1", a)
        );
        assert_eq!(
            learned[0].definition,
            DefinitionJson::from_slice(r#"{"name":{"ja-JP":"問1","en-US":"Q1"}}"#.as_bytes())
                .unwrap()
        );
        assert_eq!(learned[1].tenant, "t2");
    }
}
