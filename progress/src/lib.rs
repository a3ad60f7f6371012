//! Ingest progress and read visibility.
//!
//! Flow: lrs-api → log → ingest → store → query. Ingest applies the log to the store; this crate
//! turns how far it got into what readers may rely on: `X-Experience-API-Consistent-Through`,
//! read-your-writes and the `stored` cap of a new query ([`ReadVisibility`]). It sits between
//! ingest (which reports [`AppliedBatch`]es to [`IngestListener`]s) and the readers (query, and
//! the api's lag check), so neither depends on the other.
//!
//! Two modes ([`Progress`]):
//! - **Local** (`lrs serve`, every role in one process on the embedded log): the in-process
//!   ingestor reports each batch; the write side publishes its pending appends and last `stored`
//!   stamp ([`WriteProgress`], through a watch), so Consistent-Through is exact.
//! - **Polled** (separate processes, a Kafka log): the log's end offsets and the per-partition
//!   watermarks ingest records in the store are read every `interval`; Consistent-Through is
//!   lowered by `margin` (the producer's delivery timeout plus a clock-skew allowance): lower than
//!   it could be, never untrue.

mod listener;
mod snapshot;
mod visibility;

pub use listener::{AppliedBatch, IngestListener};
pub use visibility::{Progress, ReadVisibility, WriteProgress, Writer};
