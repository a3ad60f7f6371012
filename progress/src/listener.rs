//! The contract between ingest and everything that follows its progress.

use lrs_store::Watermark;
use uuid::Uuid;

/// What one applied batch changed; handed to every [`IngestListener`].
#[derive(Debug, Clone, Default)]
pub struct AppliedBatch {
    /// Per partition: the next offset to apply and the `stored` of the last applied record.
    pub watermarks: Vec<Watermark>,
    /// Every (tenant, id) carried by the batch's records, written or not.
    pub statement_ids: Vec<(String, Uuid)>,
}

/// Told about progress after each batch is durable in the store. In one process, the read side
/// ([`crate::ReadVisibility`]) learns Consistent-Through from it and the write side releases its
/// in-flight ids.
pub trait IngestListener: Send + Sync + 'static {
    fn applied(&self, batch: &AppliedBatch);
}
