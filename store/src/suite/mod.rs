//! The shared test suite every store implementation runs: one suite per seam, so a backend
//! behaves like the others by construction (cargo feature `testsuite`; the store's own tests
//! turn it on).
//!
//! Each public function checks one behaviour of the seam against a fresh store. An implementation
//! runs all of them with [`store_suite!`](crate::store_suite), which generates one `#[tokio::test]`
//! per function, e.g. in `tests/embedded.rs`:
//!
//! ```text
//! async fn fresh_store() -> (EmbeddedStore, tempfile::TempDir) { … }
//! lrs_store::store_suite!(fresh_store);
//! ```
//!
//! Every function uses tenants of its own, so backends whose tests share one database do not see
//! each other's rows. Watermarks are global, so only one function touches them; `study_tenants`
//! lists every tenant, so its test only checks for its own.

mod activities;
mod attachments;
mod documents;
mod fixtures;
mod limits;
mod model;
mod nonces;
mod purge;
mod quarantine;
mod roster;
mod statements;
mod studylog;

pub use activities::*;
pub use attachments::*;
pub use documents::*;
pub use fixtures::Rng;
pub use limits::*;
pub use model::*;
pub use nonces::*;
pub use purge::*;
pub use quarantine::*;
pub use roster::*;
pub use statements::*;
pub use studylog::*;

use crate::{
    ActivityStore, AttachmentStore, DocumentStore, QuarantineStore, RosterStore, StatementReader,
    StatementWriter, StudyLogStore,
};

/// Everything a store implements; what the suite functions take.
pub trait SuiteStore:
    StatementWriter
    + StatementReader
    + DocumentStore
    + AttachmentStore
    + ActivityStore
    + QuarantineStore
    + StudyLogStore
    + RosterStore
{
}
impl<
    T: StatementWriter
        + StatementReader
        + DocumentStore
        + AttachmentStore
        + ActivityStore
        + QuarantineStore
        + StudyLogStore
        + RosterStore
        + ?Sized,
> SuiteStore for T
{
}

/// Generates one `#[tokio::test]` per suite function. `$fresh` is an async function returning
/// `(store, guard)`; the guard (e.g. a temporary directory) lives until the test ends.
///
/// `store_suite!(optional $fresh)` takes an `$fresh` returning `Option<(store, guard)>`: a test
/// whose `$fresh` returns `None` (e.g. no database configured) passes without running.
#[macro_export]
macro_rules! store_suite {
    ($fresh:path) => {
        $crate::store_suite!(@list required $fresh);
    };
    (optional $fresh:path) => {
        $crate::store_suite!(@list optional $fresh);
    };
    (@list $mode:ident $fresh:path) => {
        $crate::store_suite!(@tests $mode $fresh;
            a_written_statement_reads_back_with_its_body_keys_and_stored,
            writing_the_same_rows_twice_changes_nothing,
            every_access_path_finds_exactly_its_statements_in_both_directions,
            since_is_exclusive_and_until_is_inclusive_at_equal_stored,
            an_after_cursor_pages_through_250_rows_exactly_once_in_order,
            ties_at_equal_stored_are_ordered_by_id,
            tenants_never_see_each_others_statements,
            a_voiding_statement_voids_its_target_whichever_is_written_first,
            a_referring_row_is_found_on_its_targets_paths,
            presence_checks_agree_with_reads,
            watermarks_round_trip_and_the_latest_write_wins,
            documents_can_be_put_read_listed_and_deleted,
            document_preconditions_are_checked,
            concurrent_creates_with_if_absent_let_exactly_one_win,
            document_scopes_kinds_and_tenants_are_isolated,
            compare_and_set_loops_never_lose_an_update,
            deleting_a_missing_document_reports_it_and_checks_preconditions,
            document_ids_and_scopes_are_any_utf8,
            an_agents_documents_are_listed_across_activities_and_registrations,
            scans_agree_with_a_brute_force_filter_over_random_rows,
            scans_walk_statements_spread_over_many_days,
            attachments_round_trip_byte_for_byte_in_request_order,
            attachments_are_kept_once_per_hash_and_first_write_wins,
            attachment_hashes_are_looked_up_case_insensitively,
            tenants_never_see_each_others_attachments,
            activity_definitions_are_merged_per_language_in_order,
            merging_the_same_definitions_again_changes_nothing,
            activity_definitions_of_tenants_are_isolated,
            a_batch_get_answers_each_activity_in_request_order,
            the_longest_activity_ids_are_stored,
            the_longest_document_keys_are_stored,
            the_longest_tenant_names_key_statements_and_attachments,
            quarantined_statements_are_kept_whole_and_listed_per_tenant,
            quarantining_a_statement_again_keeps_one_row,
            purged_quarantined_statements_are_gone_and_the_rest_stay,
            a_row_beyond_the_backends_limits_is_rejected_not_unavailable,
            facts_and_month_summaries_are_written_with_their_statements,
            facts_written_again_are_held_and_counted_once,
            a_voided_statement_has_no_fact_whichever_is_written_first,
            facts_are_read_by_day_range_and_actor_list,
            month_summaries_are_read_by_month_with_and_without_actors,
            tenants_never_see_each_others_facts_or_summaries,
            terms_are_recorded_once_and_listed_since_a_time,
            study_tenants_lists_every_tenant_with_facts_or_a_roster,
            roster_versions_are_numbered_from_one_and_read_oldest_first,
            a_taken_or_skipped_version_number_fails_and_writes_nothing,
            concurrent_imports_of_one_version_number_let_exactly_one_win,
            roster_records_are_upserted_and_removals_keep_their_data,
            aliases_are_records_of_the_alias_kind,
            transfers_are_records_of_the_transfer_kind_beside_the_users,
            tenants_never_see_each_others_rosters,
        );
    };
    (@tests required $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _guard) = $fresh().await;
                $crate::suite::$name(&store).await;
            }
        )*
    };
    (@tests optional $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some((store, _guard)) = $fresh().await else {
                    return;
                };
                $crate::suite::$name(&store).await;
            }
        )*
    };
}
