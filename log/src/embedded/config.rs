//! Settings of the embedded log.

use std::path::PathBuf;

use crate::{LogError, LogErrorKind};

/// Segments roll when they would exceed this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 256 * 1024 * 1024;

/// Bytes of records accepted but not yet durable, beyond which appends fail with backpressure.
pub const DEFAULT_MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// Settings of the embedded log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedLogConfig {
    /// Directory holding one subdirectory per partition.
    pub dir: PathBuf,
    /// Number of partitions; fixed when the log is created.
    pub partitions: u32,
    /// Size at which a segment file rolls (a single larger record gets a segment of its own).
    pub segment_bytes: u64,
    /// The bounded buffer: bytes accepted but not yet durable. Beyond it `append` fails fast with
    /// `LogErrorKind::Backpressure`.
    pub max_pending_bytes: usize,
    /// Compress each record with lz4 (block format) when that makes it smaller.
    pub compression: bool,
}

impl EmbeddedLogConfig {
    /// The defaults: one partition, 256 MiB segments, a 64 MiB buffer, compression on.
    pub fn new(dir: impl Into<PathBuf>) -> EmbeddedLogConfig {
        EmbeddedLogConfig {
            dir: dir.into(),
            partitions: 1,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
            compression: true,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), LogError> {
        let problem = if self.partitions == 0 {
            "partitions must be at least 1"
        } else if self.segment_bytes == 0 {
            "segment_bytes must be positive"
        } else if self.max_pending_bytes == 0 {
            "max_pending_bytes must be positive"
        } else {
            return Ok(());
        };
        Err(LogError::new(LogErrorKind::Config, problem))
    }
}
