//! Activity Definitions learned from the statements a batch writes.
//!
//! xAPI 1.0.3 Communication §2.5 (2.0.0 §4.1.6.4): the Activities Resource answers "the complete
//! Activity Object", which holds what every statement targeting the activity said about it. Ingest
//! finds the definitions of the statements it writes (object, context activities, SubStatement
//! object and context activities; see `lrs_schema::statement_definitions`), merges those of one
//! activity in `stored` order, and hands one row per activity to the store.
//!
//! Tools send the same definition with every statement, so the [`DefinitionLearner`] remembers,
//! per activity, the last definition text it handed to the store: the same text again is skipped
//! without being parsed (merging a definition right after itself changes nothing).

use std::collections::HashMap;
use std::sync::Mutex;

use lrs_schema::envelope::Key16;
use lrs_schema::statement_definitions;
use lrs_store::{ActivityDefinitionRow, StatementRow};

/// At most this many activities are remembered; beyond it the memory starts afresh (a forgotten
/// activity costs one redundant merge, never a wrong definition).
const REMEMBERED_ACTIVITIES: usize = 100_000;

/// (tenant, activity id).
type ActivityKey = (String, String);

/// Remembers the hash of the last definition text merged into the store, per activity.
#[derive(Default)]
pub(crate) struct DefinitionLearner {
    last_merged: Mutex<HashMap<ActivityKey, Key16>>,
}

/// What one batch teaches: the rows for the store, and what to remember once they are merged.
#[derive(Default)]
pub(crate) struct Learned {
    pub(crate) rows: Vec<ActivityDefinitionRow>,
    last: HashMap<ActivityKey, Key16>,
}

impl DefinitionLearner {
    /// One row per (tenant, activity id) whose definition in `rows` differs from the last one
    /// merged, each the merge of that activity's new definitions in row order; rows in order of
    /// first appearance.
    pub(crate) fn learn(&self, rows: &[StatementRow]) -> Learned {
        let remembered = self.last_merged.lock().unwrap_or_else(|p| p.into_inner());
        let mut learned = Learned::default();
        let mut index: HashMap<ActivityKey, usize> = HashMap::new();
        for row in rows {
            for found in statement_definitions(&row.body) {
                let key = (row.tenant.clone(), found.activity_id.to_owned());
                let hash = Key16::of(found.json);
                let last = learned.last.get(&key).or_else(|| remembered.get(&key));
                if last == Some(&hash) {
                    continue;
                }
                learned.last.insert(key.clone(), hash);
                let Some(definition) = found.parse() else {
                    continue;
                };
                match index.get(&key) {
                    Some(&i) => {
                        learned.rows[i].definition.merge(&definition);
                    }
                    None => {
                        index.insert(key.clone(), learned.rows.len());
                        learned.rows.push(ActivityDefinitionRow {
                            tenant: key.0,
                            activity_id: key.1,
                            definition,
                        });
                    }
                }
            }
        }
        learned
    }

    /// Records what a batch merged; call only once the store has merged `learned.rows`.
    pub(crate) fn merged(&self, learned: Learned) {
        let mut remembered = self.last_merged.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.len() + learned.last.len() > REMEMBERED_ACTIVITIES {
            remembered.clear();
        }
        remembered.extend(learned.last);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use lrs_schema::DefinitionJson;
    use lrs_schema::envelope::IndexKeys;
    use serde_json::{Value, json};
    use uuid::Uuid;

    use super::*;

    fn row(tenant: &str, body: Value) -> StatementRow {
        StatementRow {
            tenant: tenant.into(),
            stored: 1,
            id: Uuid::new_v4(),
            keys: IndexKeys::default(),
            inherited: None,
            body: Bytes::from(body.to_string()),
            study: None,
        }
    }

    fn statement(activity: &str, name: Value) -> Value {
        json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": activity, "definition": {"name": name}}
        })
    }

    fn definition(text: &str) -> DefinitionJson {
        DefinitionJson::from_slice(text.as_bytes()).unwrap()
    }

    #[test]
    fn one_activity_defined_by_several_statements_gives_one_merged_row_per_tenant() {
        let a = "https://drill.example.jp/items/1";
        let rows = [
            row("t1", statement(a, json!({"ja-JP": "問1"}))),
            row("t2", statement(a, json!({"en-US": "Q1 of t2"}))),
            row("t1", statement(a, json!({"en-US": "Q1"}))),
            row(
                "t1",
                json!({"object": {"objectType": "Agent", "mbox": "mailto:b@example.jp"}}),
            ),
        ];
        let learned = DefinitionLearner::default().learn(&rows);
        assert_eq!(learned.rows.len(), 2);
        let first = &learned.rows[0];
        assert_eq!(
            (first.tenant.as_str(), first.activity_id.as_str()),
            ("t1", a)
        );
        assert_eq!(
            first.definition,
            definition(r#"{"name":{"ja-JP":"問1","en-US":"Q1"}}"#)
        );
        assert_eq!(learned.rows[1].tenant, "t2");
    }

    #[test]
    fn a_definition_repeating_the_last_merged_one_is_skipped_but_not_before_it_is_merged() {
        let a = "https://drill.example.jp/items/1";
        let learner = DefinitionLearner::default();
        let batch = [row("t1", statement(a, json!({"ja-JP": "問1"})))];
        let first = learner.learn(&batch);
        assert_eq!(first.rows.len(), 1);
        assert_eq!(
            learner.learn(&batch).rows.len(),
            1,
            "a batch whose merge has not succeeded teaches again (a retry)"
        );
        learner.merged(first);
        assert!(learner.learn(&batch).rows.is_empty(), "already merged");

        // A, B, A: the second A overrides B's text, so it is merged again.
        let other = row("t1", statement(a, json!({"ja-JP": "問一"})));
        let learned = learner.learn(&[other, batch[0].clone()]);
        assert_eq!(learned.rows.len(), 1);
        assert_eq!(
            learned.rows[0].definition,
            definition(r#"{"name":{"ja-JP":"問1"}}"#)
        );
    }
}
