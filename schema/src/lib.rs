//! The xAPI vocabulary every other crate speaks.
//!
//! Flow: **schema** is used by every stage (api → log → ingest → store → query); it does no I/O.

pub mod envelope;
