//! The stored form of an accepted statement.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::context::CONTEXT_ACTIVITY_KEYS;
use crate::version::{StatementVersion, XapiVersion};

/// Makes the stored form of an accepted statement, in place:
///
/// * `id` is set to `id` (first in the object when the client sent none);
/// * `authority` is replaced (xAPI 1.0.3 Data §2.4.9: the LRS MUST set it, overwriting any);
/// * `version` is kept when the client sent an acceptable one, else set to the default:
///   xAPI 1.0.3 Data §2.4.10.s3.b3 "Statements returned by an LRS MUST retain the version they
///   are accepted with. If they lack a version, the version MUST be set to 1.0.0"; xAPI 2.0 says
///   the same with 2.0.0;
/// * `stored` is removed (the store adds it when the statement is read);
/// * single Activities in `contextActivities` become arrays of one, here and in a SubStatement:
///   xAPI 1.0.3 Data §2.4.6.2.s4.b3 "The LRS MUST return every value in the contextActivities
///   Object as an array, even if it arrived as a single Activity Object".
///
/// `timestamp` is left alone: when missing it is to be set to `stored` (§2.4.7.s3.b2), which only
/// the store knows.
pub fn finalize_statement(value: &mut Value, id: Uuid, authority: &Value, version: XapiVersion) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let keep_version = map
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| StatementVersion::is_acceptable(v, version));
    if !keep_version {
        map.insert(
            "version".into(),
            Value::String(version.default_statement_version().into()),
        );
    }
    map.insert("authority".into(), authority.clone());
    map.remove("stored");
    let id_value = Value::String(id.hyphenated().to_string());
    if map.contains_key("id") {
        map.insert("id".into(), id_value);
    } else {
        let mut ordered = Map::with_capacity(map.len() + 1);
        ordered.insert("id".into(), id_value);
        ordered.extend(std::mem::take(map));
        *map = ordered;
    }
    normalize_context_activities(map);
    if let Some(Value::Object(object)) = map.get_mut("object")
        && object.get("objectType").and_then(Value::as_str) == Some("SubStatement")
    {
        normalize_context_activities(object);
    }
}

fn normalize_context_activities(statement: &mut Map<String, Value>) {
    let Some(Value::Object(activities)) = statement
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
    else {
        return;
    };
    for key in CONTEXT_ACTIVITY_KEYS {
        if let Some(entry) = activities.get_mut(key)
            && entry.is_object()
        {
            *entry = Value::Array(vec![entry.take()]);
        }
    }
}
