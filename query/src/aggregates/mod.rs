//! Study-log aggregates (issue 11): `GET /api/v1/aggregates` and the inactive-learner list.
//!
//! [`request`] types the parameters; [`engine`] attributes facts and month summaries to the
//! roster and tallies rows; [`output`] writes them as JSON or CSV; [`service`] reads the stores,
//! keeps each tenant's roster and directories cached, and decides what a reader may see.

pub mod engine;
pub mod output;
pub mod request;
pub mod service;

pub use engine::{ActorEntry, Learner, Reader, TenantView};
pub use output::{AggregateAnswer, AggregateRow};
pub use request::{AggregateRequest, Dimension, Filters, Metric};
pub use service::{
    AggregateError, AggregateService, ClassMembers, InactiveLearner, StudyLogSettings, load_view,
    school_days_back,
};
