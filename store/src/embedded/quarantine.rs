//! The `quarantine` table: statements ingest could not write (see [`QuarantineStore`]).
//!
//! Key: tenant name (`u16` length-prefixed, as in `documents`), then the 16 id bytes. Value,
//! version 1: `u8` version, `stored` (`i64`), log partition (`u32`), log offset (`u64`),
//! quarantined (`i64`), `u32` error length and the error's UTF-8, then the body to the end;
//! integers big-endian.
//!
//! [`QuarantineStore`]: crate::QuarantineStore

use bytes::Bytes;
use fjall::PersistMode;
use uuid::Uuid;

use super::codec::corrupt;
use super::{Tables, keys, unavailable};
use crate::{QuarantinedStatement, StoreError};

const QUARANTINE_V1: u8 = 1;

/// The fixed-size head of a value: version, stored, partition, offset, quarantined, error length.
const HEAD_LEN: usize = 1 + 8 + 4 + 8 + 8 + 4;

impl Tables {
    pub(crate) fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for statement in statements {
            let mut key = keys::tenant_name_prefix(&statement.tenant)?;
            key.extend_from_slice(statement.id.as_bytes());
            batch.insert(&self.quarantine, key, encode(statement));
        }
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError> {
        let prefix = match tenant {
            Some(tenant) => keys::tenant_name_prefix(tenant)?,
            None => Vec::new(),
        };
        self.quarantine
            .prefix(&prefix)
            .take(limit)
            .map(|guard| {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                decode(&key, &value)
            })
            .collect()
    }

    pub(crate) fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError> {
        let prefix = keys::tenant_name_prefix(tenant)?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for id in ids {
            let mut key = prefix.clone();
            key.extend_from_slice(id.as_bytes());
            batch.remove(&self.quarantine, key);
        }
        batch.commit().map_err(unavailable)
    }
}

fn encode(statement: &QuarantinedStatement) -> Vec<u8> {
    let error = statement.error.as_bytes();
    let error = &error[..error.len().min(u32::MAX as usize)];
    let mut value = Vec::with_capacity(HEAD_LEN + error.len() + statement.body.len());
    value.push(QUARANTINE_V1);
    value.extend_from_slice(&statement.stored.to_be_bytes());
    value.extend_from_slice(&statement.log_partition.to_be_bytes());
    value.extend_from_slice(&statement.log_offset.to_be_bytes());
    value.extend_from_slice(&statement.quarantined.to_be_bytes());
    value.extend_from_slice(&(error.len() as u32).to_be_bytes());
    value.extend_from_slice(error);
    value.extend_from_slice(&statement.body);
    value
}

fn decode(key: &[u8], value: &[u8]) -> Result<QuarantinedStatement, StoreError> {
    let bad = |what: &str| corrupt(format!("quarantine {what}"));
    let (name_len, rest) = key.split_first_chunk::<2>().ok_or_else(|| bad("key"))?;
    let name_len = u16::from_be_bytes(*name_len) as usize;
    if rest.len() != name_len + 16 {
        return Err(bad("key length"));
    }
    let tenant = std::str::from_utf8(&rest[..name_len]).map_err(|_| bad("tenant"))?;
    let id = Uuid::from_slice(&rest[name_len..]).map_err(|_| bad("id"))?;
    if value.len() < HEAD_LEN || value[0] != QUARANTINE_V1 {
        return Err(bad("value version or length"));
    }
    let be8 = |at: usize| -> [u8; 8] { value[at..at + 8].try_into().expect("8 bytes") };
    let be4 = |at: usize| -> [u8; 4] { value[at..at + 4].try_into().expect("4 bytes") };
    let error_len = u32::from_be_bytes(be4(29)) as usize;
    let error = value
        .get(HEAD_LEN..HEAD_LEN + error_len)
        .ok_or_else(|| bad("error length"))?;
    Ok(QuarantinedStatement {
        tenant: tenant.to_owned(),
        id,
        stored: i64::from_be_bytes(be8(1)),
        log_partition: u32::from_be_bytes(be4(9)),
        log_offset: u64::from_be_bytes(be8(13)),
        quarantined: i64::from_be_bytes(be8(21)),
        error: String::from_utf8_lossy(error).into_owned(),
        body: Bytes::copy_from_slice(&value[HEAD_LEN + error_len..]),
    })
}
