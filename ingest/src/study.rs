//! What ingest does for the study-log aggregates (issue 11, decision 10), beside writing each new
//! statement's fact with it (the store does that in the statements' batch):
//!
//! - **Dictionaries.** Facts carry hashed keys; the text behind a key (an actor's identifier, a
//!   verb IRI, a subject…) is recorded once per tenant before the facts that use it. A key this
//!   process has not seen is looked up the only way it can be: by parsing the statement's body
//!   again (rare once the caches are warm).
//! - **Voiding.** A voiding statement removes its target's fact (and the store recomputes the
//!   target's month summary from the facts left), whichever arrived first: the store never writes
//!   the fact of a statement already voided, and a voiding statement whose target is not stored
//!   yet is remembered for a while and looked for again with later batches, which closes the race
//!   of two ingest instances writing the two at the same moment.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use lrs_roster::Calendar;
use lrs_schema::envelope::Key16;
use lrs_schema::{FactConfig, FactDim, Statement, StudyFact, XapiVersion, canonical_ifi};
use lrs_store::{ACTOR_TERMS, StatementRow, TermRow};
use uuid::Uuid;

/// How long a voiding statement whose target is not stored yet is looked for again.
const PENDING_VOID_WINDOW: Duration = Duration::from_secs(120);

/// Keys known recorded, per process; cleared (and so re-recorded, idempotently) past this many.
const KNOWN_TERMS_MAX: usize = 2_000_000;
/// ... and this often (µs): a purge may have deleted an entry this process recorded (a purged
/// learner's identifier, a purged tenant's dictionary), and a later statement of it must record
/// it again, whichever process purged it.
const KNOWN_TERMS_TTL: i64 = 10 * 60 * 1_000_000;

/// The study-log settings ingest needs to re-derive a fact from a stored body: the time zone and
/// the extension IRIs (the same as the API's).
#[derive(Debug, Clone, Default)]
pub struct StudySettings {
    pub calendar: Calendar,
    pub facts: FactConfig,
}

/// Ingest's study-log bookkeeping (see the module documentation).
#[derive(Default)]
pub(crate) struct StudyBook {
    /// Per tenant, the (dimension, key) pairs recorded.
    known: HashMap<String, HashSet<(u8, Key16)>>,
    /// When `known` is cleared next (µs since the epoch; 0: at the first batch).
    known_until: i64,
    /// (tenant, target) of voiding statements whose target was not found, and until when to look.
    pending_voids: HashMap<(String, Uuid), Instant>,
}

/// A dimension key as the 16 bytes dictionary rows are keyed by.
pub fn dim_term_key(key: lrs_schema::DimKey) -> Key16 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&key.0.to_le_bytes());
    Key16(bytes)
}

impl StudyBook {
    /// The dictionary entries `rows` need that this process has not recorded yet.
    pub(crate) fn new_terms(
        &mut self,
        rows: &[StatementRow],
        settings: &StudySettings,
        now: i64,
    ) -> Vec<TermRow> {
        if now >= self.known_until
            || self.known.values().map(HashSet::len).sum::<usize>() > KNOWN_TERMS_MAX
        {
            self.known.clear();
            self.known_until = now.saturating_add(KNOWN_TERMS_TTL);
        }
        let mut terms = Vec::new();
        for row in rows {
            let Some(study) = &row.study else { continue };
            let fact = &study.fact;
            if self
                .known
                .get(&row.tenant)
                .is_some_and(|known| fact_keys(fact).all(|k| known.contains(&k)))
            {
                continue;
            }
            let Some((_, texts)) = derive(&row.body, settings) else {
                continue;
            };
            let mut named: Vec<(u8, Key16, String)> =
                vec![(ACTOR_TERMS, fact.actor, texts.actor.clone())];
            for (dim, text) in texts.dims {
                named.push((
                    dim.code(),
                    dim_term_key(lrs_schema::DimKey::of(&text)),
                    text,
                ));
            }
            // The tenant's name is cloned once per process, not per row.
            if !self.known.contains_key(&row.tenant) {
                self.known.insert(row.tenant.clone(), HashSet::new());
            }
            let Some(known) = self.known.get_mut(&row.tenant) else {
                continue;
            };
            for (dim, key, text) in named {
                if known.insert((dim, key)) {
                    terms.push(TermRow {
                        tenant: row.tenant.clone(),
                        dim,
                        key,
                        text,
                        first_seen: now,
                    });
                }
            }
        }
        terms
    }

    /// Remembers voiding statements whose target was not found, to look for it again.
    pub(crate) fn await_targets(&mut self, missing: impl IntoIterator<Item = (String, Uuid)>) {
        let until = Instant::now() + PENDING_VOID_WINDOW;
        for key in missing {
            self.pending_voids.entry(key).or_insert(until);
        }
    }

    /// The targets still looked for (expired ones are forgotten).
    pub(crate) fn pending_targets(&mut self) -> Vec<(String, Uuid)> {
        let now = Instant::now();
        self.pending_voids.retain(|_, until| *until > now);
        self.pending_voids.keys().cloned().collect()
    }

    pub(crate) fn found(&mut self, target: &(String, Uuid)) {
        self.pending_voids.remove(target);
    }
}

/// Every key of a fact, as dictionary entries (dim code, key).
fn fact_keys(fact: &StudyFact) -> impl Iterator<Item = (u8, Key16)> {
    let dims = [
        (FactDim::Tool, fact.tool),
        (FactDim::Verb, fact.verb),
        (FactDim::Activity, fact.activity),
        (FactDim::ActivityType, fact.activity_type),
        (FactDim::Subject, fact.subject),
        (FactDim::CurriculumCode, fact.curriculum_code),
    ];
    std::iter::once((ACTOR_TERMS, fact.actor)).chain(
        dims.into_iter()
            .filter(|(_, key)| !key.is_none())
            .map(|(dim, key)| (dim.code(), dim_term_key(key))),
    )
}

/// A stored statement's fact and the texts of its keys, derived from its body as the API derived
/// them (`None` for a voiding statement or a body that no longer parses).
pub(crate) fn derive(
    body: &[u8],
    settings: &StudySettings,
) -> Option<(lrs_schema::StudyRow, lrs_schema::FactTerms)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let statement = [XapiVersion::V2_0_0, XapiVersion::V1_0_3]
        .into_iter()
        .find_map(|version| Statement::from_json(&value, version, "$").ok())?;
    let authority = statement
        .authority()
        .and_then(|a| canonical_ifi_of(a, &value))
        .unwrap_or_default();
    let timestamp = statement.body().timestamp()?.micros();
    let (fact, terms) =
        StudyFact::of_statement(&statement, timestamp, &authority, &settings.facts)?;
    let day = settings.calendar.day_of(timestamp).days_since_epoch();
    Some((lrs_schema::StudyRow { day, fact }, terms))
}

/// The authority's canonical identifier, as the API computed the tool from it.
fn canonical_ifi_of(
    _authority: &lrs_schema::Actor,
    statement: &serde_json::Value,
) -> Option<String> {
    let authority = statement.get("authority")?;
    [XapiVersion::V2_0_0, XapiVersion::V1_0_3]
        .into_iter()
        .find_map(|version| canonical_ifi(authority, version, "$.authority").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(body: serde_json::Value) -> StatementRow {
        let body = bytes::Bytes::from(body.to_string());
        let (study, _) = derive(&body, &StudySettings::default()).expect("a fact");
        StatementRow {
            tenant: "board-a".into(),
            stored: 0,
            id: Uuid::from_u128(1),
            keys: Default::default(),
            inherited: None,
            body,
            study: Some(study),
        }
    }

    /// A purge deletes dictionary entries behind ingest's back: the keys this process knows are
    /// forgotten after a while, so a later statement of a purged identifier records it again.
    #[test]
    fn known_dictionary_keys_are_recorded_again_once_their_time_is_up() {
        let statement = row(serde_json::json!({
            "actor": {"mbox": "mailto:s8@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://drill.example.jp/q/1"},
            "timestamp": "2026-11-30T09:00:00+09:00",
        }));
        let settings = StudySettings::default();
        let mut book = StudyBook::default();
        let start = 1_780_000_000_000_000;
        let first = book.new_terms(std::slice::from_ref(&statement), &settings, start);
        assert!(
            first
                .iter()
                .any(|t| t.dim == ACTOR_TERMS && t.text == "mbox::mailto:s8@example.jp"),
            "{first:?}"
        );
        let soon = start + KNOWN_TERMS_TTL - 1;
        assert!(
            book.new_terms(std::slice::from_ref(&statement), &settings, soon)
                .is_empty(),
            "known: not recorded again"
        );
        let later = start + KNOWN_TERMS_TTL;
        let again = book.new_terms(std::slice::from_ref(&statement), &settings, later);
        assert_eq!(again.len(), first.len(), "{again:?}");
        assert!(again.iter().all(|t| t.first_seen == later));
    }
}
