//! The `attachments` table: attachment data, per tenant, by hash.
//!
//! Key: tenant name (`u16` length-prefixed), then the lower-case hex hash. Value, version 1:
//! `u8` version, `u16` little-endian length + content type, then the data to the end. The
//! keyspace separates values of 1 KiB and more into blob files (LZ4-compressed), so compaction
//! moves pointers, not attachment data. Data is content-addressed, so a hash already present is
//! never rewritten.

use bytes::Bytes;
use fjall::PersistMode;

use super::{Tables, codec, keys, unavailable};
use crate::{AttachmentBody, StoreError, StoreErrorKind};

const ATTACHMENT_V1: u8 = 1;

impl Tables {
    pub(crate) fn put_attachments(
        &self,
        tenant: &str,
        attachments: &[AttachmentBody],
    ) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        let mut written = 0;
        for attachment in attachments {
            let key = keys::checked_key("attachments", attachment_key(tenant, &attachment.sha2)?)?;
            if self.attachments.contains_key(&key).map_err(unavailable)? {
                continue;
            }
            batch.insert(&self.attachments, key, encode(attachment)?);
            written += 1;
        }
        if written == 0 {
            return Ok(());
        }
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn get_attachments(
        &self,
        tenant: &str,
        hashes: &[String],
    ) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
        hashes
            .iter()
            .map(|sha2| {
                let key = attachment_key(tenant, sha2)?;
                if !keys::fits(&key) {
                    return Ok(None);
                }
                match self.attachments.get(key).map_err(unavailable)? {
                    None => Ok(None),
                    Some(value) => decode(sha2, &value).map(Some),
                }
            })
            .collect()
    }
}

fn attachment_key(tenant: &str, sha2: &str) -> Result<Vec<u8>, StoreError> {
    let mut key = keys::tenant_name_prefix(tenant)?;
    key.extend_from_slice(sha2.to_ascii_lowercase().as_bytes());
    Ok(key)
}

fn encode(attachment: &AttachmentBody) -> Result<Vec<u8>, StoreError> {
    let content_type_len = u16::try_from(attachment.content_type.len()).map_err(|_| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            "attachment content type longer than 65535 bytes",
        )
    })?;
    let mut out = Vec::with_capacity(3 + attachment.content_type.len() + attachment.body.len());
    out.push(ATTACHMENT_V1);
    out.extend_from_slice(&content_type_len.to_le_bytes());
    out.extend_from_slice(attachment.content_type.as_bytes());
    out.extend_from_slice(&attachment.body);
    Ok(out)
}

fn decode(sha2: &str, value: &[u8]) -> Result<AttachmentBody, StoreError> {
    let corrupt = |what: &str| codec::corrupt(format!("attachment {sha2}: {what}"));
    let (&version, rest) = value.split_first().ok_or_else(|| corrupt("empty value"))?;
    if version != ATTACHMENT_V1 {
        return Err(corrupt(&format!("unknown value version {version}")));
    }
    let (len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or_else(|| corrupt("truncated"))?;
    let len = usize::from(u16::from_le_bytes(*len));
    if rest.len() < len {
        return Err(corrupt("truncated content type"));
    }
    let (content_type, body) = rest.split_at(len);
    let content_type = std::str::from_utf8(content_type)
        .map_err(|_| corrupt("content type is not UTF-8"))?
        .to_owned();
    Ok(AttachmentBody {
        sha2: sha2.to_ascii_lowercase(),
        content_type,
        body: Bytes::copy_from_slice(body),
    })
}
