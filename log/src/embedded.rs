//! Placeholder: replaced by the embedded log implementation.

/// Settings of the embedded log.
#[derive(Debug, Clone)]
pub struct EmbeddedLogConfig;

/// The embedded durable log.
pub struct EmbeddedLog;
