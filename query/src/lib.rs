//! Query: the read side.
//!
//! Flow: lrs-api → log → ingest → store → **query**. [`StatementQueryService`] turns a typed
//! [`lrs_schema::StatementQuery`] into a scan of the most selective access path, checks the other
//! filters against each candidate's index keys, hides voided statements, and pages with an opaque
//! [`Cursor`] that stays stable while new statements arrive (it is capped at the
//! Consistent-Through instant of the first page). [`render`] writes statements back out as JSON.
//! [`StatementQueryService::get`] answers a whole `GET /statements` (read-your-writes wait,
//! Consistent-Through from `lrs_progress::ReadVisibility`, the cap, paging, `more`, rendering,
//! attachments); the HTTP handler only parses and writes.

pub mod aggregates;
mod cursor;
pub mod extract;
pub mod lifecycle;
mod own_authority;
mod planner;
pub mod render;
mod service;
mod statement_get;

pub use cursor::{Cursor, CursorError};
pub use own_authority::OwnAuthority;
pub use planner::{Plan, plan};
pub use service::{QueryConfig, QueryError, QueryPage, ReadScope, StatementQueryService};
pub use statement_get::{AttachmentPart, StatementAnswer, StatementRequest};
