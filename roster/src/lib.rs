//! Rosters: OneRoster 1.2 CSV (Japan Profile) imports, dated, and what the study-log views read
//! from them (issue 11; decisions 9 and 12).
//!
//! Flow: api → log → ingest → store → query, with **roster** beside it. It does no I/O and holds
//! no locks; the stages call it:
//!
//! * **api** (`POST /api/v1/roster`): [`parse_zip`] turns the body into a [`RosterImport`];
//!   [`RosterState::plan`] checks it against the tenant's roster and yields an [`ImportPlan`]
//!   (the records to write and remove, and a [`RosterVersion`] with its JSON summary). Every
//!   [`RosterError`] names the file, line and column (400).
//! * **store** persists the plan's [`RecordChange`]s and version atomically, keyed by
//!   `(tenant, kind, sourcedId)`, as [`PersistedRecord`]s; [`RosterState::rebuild`] makes the
//!   state again from them at start-up or on another instance.
//! * [`RosterState::apply`] then updates the in-memory state and returns the learners and days
//!   the import re-attributed ([`Reattributed`]), so only those rollups are recomputed.
//! * **ingest** resolves a statement's actor with [`IdentityIndex::resolve`] (rules of issue 11
//!   §2; aliases from [`parse_aliases`]), takes the local day of its `timestamp` from
//!   [`Calendar`], and reads the learner's classes, schools and grade that day with
//!   [`RosterState::attribute`] (or a cached [`Timeline`]).
//! * **query** groups days by [`Day::week_start`], [`Day::month`] and [`Day::school_year`], and
//!   checks a bound principal's filters and listings with [`RosterState::visibility`].
//!
//! The in-memory state is compact (interned ids, a few dozen bytes per enrollment; see
//! `lrs-loadtest`'s `roster_scale` example for measured numbers), and planning and applying are
//! linear in the import.

mod alias;
mod apply;
mod attribution;
mod calendar;
mod csv_file;
mod day;
mod error;
mod identity;
mod import;
mod interner;
mod manifest;
mod members;
mod parsers;
mod plan;
mod records;
mod state;
mod summary;
mod table;
mod timeline;
mod values;
mod visibility;
mod vocabulary;

pub use alias::{Alias, parse_aliases};
pub use apply::Reattributed;
pub use attribution::Attribution;
pub use calendar::{Calendar, UnknownTimeZone};
pub use day::{Day, DayRange, Month, SchoolYear};
pub use error::{RosterError, RosterErrorKind};
pub use identity::{ActorRef, IdentityConfig, IdentityIndex, IdentityRule, Resolved};
pub use import::{
    ImportFile, ParseOptions, RosterFiles, RosterImport, Row, parse_files, parse_zip,
};
pub use manifest::FileMode;
pub use members::Members;
pub use plan::{ImportPlan, RecordChange};
pub use records::{
    AcademicSession, Class, Course, Enrollment, Org, PersistedRecord, PersonNames, RecordKind,
    Removal, Role, RosterRecord, User,
};
pub use state::{ClassKey, OrgKey, RosterState, UserKey};
pub use summary::{FileSummary, ImportSummary, RosterVersion};
pub use timeline::{Segment, Timeline};
pub use values::{Grade, MboxSha1, SourcedId, UtcTime};
pub use visibility::{Subject, Visibility};
pub use vocabulary::{ClassType, EnrollmentRole, OrgType, RoleName, RoleType, SessionType, Status};

// The state, the identity index and visibilities are shared between the API, ingest and query
// threads (behind a lock or an atomic swap).
const _: () = {
    const fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<RosterState>();
    shared::<IdentityIndex>();
    shared::<Visibility>();
    shared::<Calendar>();
    shared::<ImportPlan>();
};

/// The entry point for a cargo-fuzz target: reads arbitrary bytes as a roster zip (at most
/// 16 MiB decompressed), and if they parse, plans and applies them on an empty roster and
/// computes every user's timeline and visibility. It never panics, and its memory is bounded by
/// the input and the limit. Answers the number of records written, or the refusal.
pub fn fuzz_import(data: &[u8]) -> Result<usize, RosterError> {
    let options = ParseOptions {
        keep_person_names: true,
        max_uncompressed_bytes: 16 << 20,
    };
    let import = parse_zip(data, &options)?;
    let mut state = RosterState::new();
    let plan = state.plan(import, UtcTime::from_micros(0), &Calendar::default())?;
    state.apply(&plan)?;
    let day = Day::parse("2025-06-01").expect("a valid date");
    for user in 0..state.users.len() as u32 {
        let _ = state.timeline(UserKey(user));
        let _ = state.visibility(UserKey(user), day);
    }
    Ok(plan.changes().len())
}
