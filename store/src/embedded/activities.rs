//! The `activities` table: canonical Activity Definitions.
//!
//! Key: the interned tenant (see `keys::push_tenant`), then the activity id's UTF-8 bytes (the
//! tenant encoding is prefix-free, so no separator is needed). Value: a version byte
//! ([`ACTIVITY_V1`]) then the definition as JSON.
//!
//! A merge reads each activity once, applies every row of the call in order, and writes the
//! activities whose definition changed in one fsync'd batch; a call that changes nothing writes
//! nothing (the common case: tools send the same definition with every statement).

use std::collections::HashMap;

use fjall::PersistMode;
use lrs_schema::DefinitionJson;

use super::codec::corrupt;
use super::keys::{self, TENANT_LEN, TenantId};
use super::{Tables, unavailable};
use crate::{ActivityDefinitionRow, StoreError};

const ACTIVITY_V1: u8 = 1;

impl Tables {
    pub(crate) fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError> {
        // One writer at a time, so a read-merge-write never loses another call's languages.
        let _guard = self
            .activity_writes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut order: Vec<Vec<u8>> = Vec::new();
        let mut merged: HashMap<Vec<u8>, (DefinitionJson, bool)> = HashMap::new();
        for row in rows {
            let tenant = self.assign_tenant_id(&row.tenant)?;
            let key = keys::checked_key("activities", activity_key(tenant, &row.activity_id))?;
            if !merged.contains_key(&key) {
                let current = self.read_activity(&key)?.unwrap_or_default();
                merged.insert(key.clone(), (current, false));
                order.push(key.clone());
            }
            if let Some((definition, changed)) = merged.get_mut(&key) {
                *changed |= definition.merge(&row.definition);
            }
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        let mut writes = 0;
        for key in order {
            if let Some((definition, true)) = merged.remove(&key) {
                batch.insert(&self.activities, key, encode(&definition));
                writes += 1;
            }
        }
        if writes == 0 {
            return Ok(());
        }
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(None);
        };
        self.read_activity(&activity_key(tenant, activity_id))
    }

    /// Several definitions in one blocking call: the tenant is resolved once.
    pub(crate) fn get_activity_definitions(
        &self,
        tenant: &str,
        activity_ids: &[String],
    ) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(vec![None; activity_ids.len()]);
        };
        activity_ids
            .iter()
            .map(|id| self.read_activity(&activity_key(tenant, id)))
            .collect()
    }

    fn read_activity(&self, key: &[u8]) -> Result<Option<DefinitionJson>, StoreError> {
        if !keys::fits(key) {
            return Ok(None);
        }
        match self.activities.get(key).map_err(unavailable)? {
            None => Ok(None),
            Some(value) => decode(&value).map(Some),
        }
    }
}

fn activity_key(tenant: TenantId, activity_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(TENANT_LEN + activity_id.len());
    keys::push_tenant(&mut key, tenant);
    key.extend_from_slice(activity_id.as_bytes());
    key
}

fn encode(definition: &DefinitionJson) -> Vec<u8> {
    let json = definition.to_vec();
    let mut value = Vec::with_capacity(1 + json.len());
    value.push(ACTIVITY_V1);
    value.extend_from_slice(&json);
    value
}

fn decode(value: &[u8]) -> Result<DefinitionJson, StoreError> {
    match value.split_first() {
        Some((&ACTIVITY_V1, json)) => DefinitionJson::from_slice(json)
            .ok_or_else(|| corrupt("activity definition is not a JSON object".into())),
        Some((version, _)) => Err(corrupt(format!(
            "activity definition value version {version}, this build reads {ACTIVITY_V1}"
        ))),
        None => Err(corrupt("empty activity definition value".into())),
    }
}
