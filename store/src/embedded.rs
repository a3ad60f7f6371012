//! Placeholder: replaced by the embedded store implementation.

/// The embedded store.
pub struct EmbeddedStore;
