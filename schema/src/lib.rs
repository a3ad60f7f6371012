//! The xAPI vocabulary every other crate speaks.
//!
//! Flow: **schema** is used by every stage (api → log → ingest → store → query); it does no I/O.
//!
//! * The API parses request bodies with [`parse_statements`] (one [`Statement`] per JSON value,
//!   every rule of xAPI 1.0.3 / 2.0 checked, errors naming the rule and the JSON path), makes the
//!   stored form with [`finalize_statement`], and computes [`Statement::index_terms`], which
//!   travel in the log [`envelope`].
//! * Duplicate ids are resolved with [`statements_equivalent`].
//! * Queries come in as a [`StatementQuery`]; results go out through [`format_statement`].
//! * Requests to the document resources (state, profiles) come in as [`DocumentParams`].
//! * Every JSON a request brings passes [`check_json_depth`] before it is parsed; the LRS's own
//!   limits (nesting depth, IRI length, …) are in [`limits`].

pub mod envelope;
pub mod keys_codec;
pub mod limits;

mod activity;
mod actor;
mod attachment;
mod batch;
mod body;
mod borrowed;
mod context;
mod definition_json;
mod document_params;
mod duration;
mod equivalence;
mod error;
mod extensions;
mod finalize;
mod format;
mod ifi;
mod interaction;
mod iri;
mod json;
mod json_depth;
mod language;
mod object;
mod path;
mod query;
mod result;
mod statement;
mod study_fact;
mod sub_statement;
mod timestamp;
mod uuid_text;
mod verb;
mod version;

pub use activity::{Activity, ActivityDefinition};
pub use actor::{Actor, Agent, Group};
pub use attachment::Attachment;
pub use batch::{parse_json, parse_statements};
pub use body::StatementBody;
pub use borrowed::{FastStatement, parse_statements_fast};
pub use context::{Context, ContextAgent, ContextGroup};
pub use definition_json::{DefinitionJson, statement_definitions};
pub use document_params::{DocumentMethod, DocumentParams, DocumentResource};
pub use duration::Duration;
pub use equivalence::{bodies_equivalent, statements_equivalent};
pub use error::ValidationError;
pub use extensions::Extensions;
pub use finalize::finalize_statement;
pub use format::{
    CanonicalDefinitions, StatementFormat, canonical_statement, format_statement,
    parse_accept_language, statement_activity_ids,
};
pub use ifi::{Account, Ifi, Mbox};
pub use interaction::{Interaction, InteractionComponent, InteractionType};
pub use iri::Iri;
pub use json_depth::check_json_depth;
pub use language::{LanguageMap, LanguageTag};
pub use object::{StatementObject, StatementRef};
pub use query::StatementQuery;
pub use result::{Outcome, Score};
pub use statement::{Statement, authority_terms, canonical_ifi};
pub use study_fact::{
    CURRICULUM_CODE_EXTENSION, DimKey, FactConfig, FactDim, FactTerms, MonthSummary,
    SUBJECT_EXTENSION, StudyFact, StudyRow, civil_date, month_number,
};
pub use sub_statement::SubStatement;
pub use timestamp::{Timestamp, format_timestamp, parse_timestamp};
pub use verb::{VOIDED_VERB, Verb};
pub use version::{StatementVersion, XapiVersion};
