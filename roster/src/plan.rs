//! Planning an import against the current roster: all or nothing.
//!
//! [`RosterState::plan`] decides every row (add, update, leave, remove, ignore), checks every
//! reference of the rows that will be active against the roster *as it would be after the
//! import*, and only then hands out an [`ImportPlan`]: the exact records to write and remove. A
//! store persists the plan (and its version) in one atomic write, then calls
//! [`RosterState::apply`]; a plan that fails validation changes nothing anywhere.
//!
//! Rules (OneRoster 1.2 CSV, manifest modes):
//! * `bulk`: the file is the whole set. Its rows are written whatever their `dateLastModified`;
//!   records it leaves out are removed as of the import's local day.
//! * `delta`: `active` rows are written and `tobedeleted` rows removed (as of their
//!   `dateLastModified`'s local day), unless the row is older than what the roster holds for that
//!   id (its record, or its removal), in which case it is ignored.
//! * A row identical to the record held is left alone (not rewritten).
//! * Removing a class or user does not fail on the enrollments that still point at it:
//!   attribution ends those enrollments on the removal day instead.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::day::Day;
use crate::error::{RosterError, RosterErrorKind};
use crate::import::{ImportFile, RosterImport, Row, row_modified};
use crate::manifest::FileMode;
use crate::parsers::CsvRecord;
use crate::records::{RecordKind, Removal, RosterRecord};
use crate::state::RosterState;
use crate::summary::{FileSummary, ImportSummary, RosterVersion};
use crate::table::{Slot, Table};
use crate::values::{SourcedId, UtcTime};

/// One record to write to the store.
// Most changes of a plan are upserts, so boxing the record would only add an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum RecordChange {
    /// Write the record (replacing any held under its kind and id, and clearing a removal).
    Upsert { record: RosterRecord },
    /// Mark the record held under this kind and id removed (keep its data).
    Remove {
        kind: RecordKind,
        sourced_id: SourcedId,
        removal: Removal,
    },
}

impl RecordChange {
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordChange::Upsert { record } => record.kind(),
            RecordChange::Remove { kind, .. } => *kind,
        }
    }

    pub fn sourced_id(&self) -> &SourcedId {
        match self {
            RecordChange::Upsert { record } => record.sourced_id(),
            RecordChange::Remove { sourced_id, .. } => sourced_id,
        }
    }
}

/// A validated import, ready to persist and apply: its version and the records it changes,
/// referenced kinds first (orgs, sessions, courses, classes, users, enrollments, roles).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPlan {
    pub(crate) base: u32,
    version: RosterVersion,
    changes: Vec<RecordChange>,
}

impl ImportPlan {
    /// The version this import makes (its number, time and summary).
    pub fn version(&self) -> &RosterVersion {
        &self.version
    }

    pub fn changes(&self) -> &[RecordChange] {
        &self.changes
    }

    /// The version this plan was made on; [`RosterState::apply`] refuses it on any other.
    pub fn base_version(&self) -> u32 {
        self.base
    }
}

/// What to do with one row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Upsert,
    Unchanged,
    /// A delta row older than what the roster holds.
    Stale,
    Remove(Removal),
    /// A `tobedeleted` row for a record the roster does not hold, or holds removed.
    Nothing,
}

struct Decided {
    decisions: Vec<Decision>,
    /// Bulk: the records held and not removed that the file leaves out.
    absent: Vec<u32>,
    summary: FileSummary,
}

impl RosterState {
    /// Plans `import`, made at `imported_at`, on this state. Nothing changes until the plan is
    /// applied; an error names the file, line and column of the first problem.
    pub fn plan(
        &self,
        import: RosterImport,
        imported_at: UtcTime,
        calendar: &Calendar,
    ) -> Result<ImportPlan, RosterError> {
        let day = calendar.day_of(imported_at.micros());
        let ctx = Context { day, calendar };
        let decided = [
            ctx.decide(&self.orgs, import.orgs.as_ref()),
            ctx.decide(&self.sessions, import.sessions.as_ref()),
            ctx.decide(&self.courses, import.courses.as_ref()),
            ctx.decide(&self.classes, import.classes.as_ref()),
            ctx.decide(&self.users, import.users.as_ref()),
            ctx.decide(&self.enrollments, import.enrollments.as_ref()),
            ctx.decide(&self.roles, import.roles.as_ref()),
        ];
        {
            let views = Views([
                View::new(&self.orgs, import.orgs.as_ref(), &decided[0]),
                View::new(&self.sessions, import.sessions.as_ref(), &decided[1]),
                View::new(&self.courses, import.courses.as_ref(), &decided[2]),
                View::new(&self.classes, import.classes.as_ref(), &decided[3]),
                View::new(&self.users, import.users.as_ref(), &decided[4]),
            ]);
            views.validate(import.orgs.as_ref(), &decided[0])?;
            views.validate(import.sessions.as_ref(), &decided[1])?;
            views.validate(import.courses.as_ref(), &decided[2])?;
            views.validate(import.classes.as_ref(), &decided[3])?;
            views.validate(import.users.as_ref(), &decided[4])?;
            views.validate(import.enrollments.as_ref(), &decided[5])?;
            views.validate(import.roles.as_ref(), &decided[6])?;
        }
        let [orgs, sessions, courses, classes, users, enrollments, roles] = decided;
        let mut out = Output::default();
        out.emit(&self.orgs, import.orgs, orgs, day);
        out.emit(&self.sessions, import.sessions, sessions, day);
        out.emit(&self.courses, import.courses, courses, day);
        out.emit(&self.classes, import.classes, classes, day);
        out.emit(&self.users, import.users, users, day);
        out.emit(&self.enrollments, import.enrollments, enrollments, day);
        out.emit(&self.roles, import.roles, roles, day);
        let base = self.version();
        Ok(ImportPlan {
            base,
            version: RosterVersion {
                number: base + 1,
                imported_at,
                summary: out.summary,
            },
            changes: out.changes,
        })
    }
}

#[derive(Clone, Copy)]
struct Context<'a> {
    day: Day,
    calendar: &'a Calendar,
}

impl Context<'_> {
    fn decide<T: CsvRecord, E>(
        &self,
        table: &Table<E>,
        file: Option<&ImportFile<T>>,
    ) -> Option<Decided> {
        let file = file?;
        let bulk = file.mode == FileMode::Bulk;
        let mut summary = FileSummary::new(file.mode, file.rows.len());
        let mut seen = vec![false; if bulk { table.len() } else { 0 }];
        let mut decisions = Vec::with_capacity(file.rows.len());
        for (_, row) in &file.rows {
            let key = table.key(row.sourced_id().as_str());
            if bulk && let Some(key) = key {
                seen[key as usize] = true;
            }
            let held = key.and_then(|key| table.slot(key));
            let modified = row_modified(row);
            let stale = !bulk
                && held.is_some_and(|slot| modified.is_some_and(|m| m.micros() < slot.modified));
            let alive = held.is_some_and(Slot::alive);
            let decision = match row {
                _ if stale => Decision::Stale,
                Row::Active(record) => {
                    if alive && held.is_some_and(|s| s.fingerprint == record.fingerprint()) {
                        Decision::Unchanged
                    } else {
                        Decision::Upsert
                    }
                }
                Row::ToBeDeleted { .. } if alive => Decision::Remove(Removal {
                    on: modified.map_or(self.day, |m| self.calendar.day_of(m.micros())),
                    date_last_modified: modified,
                }),
                Row::ToBeDeleted { .. } => Decision::Nothing,
            };
            match decision {
                Decision::Upsert if alive => summary.updated += 1,
                Decision::Upsert => summary.added += 1,
                Decision::Unchanged => summary.unchanged += 1,
                Decision::Remove(_) => summary.removed += 1,
                Decision::Stale | Decision::Nothing => summary.ignored += 1,
            }
            decisions.push(decision);
        }
        let absent: Vec<u32> = table
            .iter()
            .filter(|(key, slot)| bulk && slot.alive() && !seen[*key as usize])
            .map(|(key, _)| key)
            .collect();
        summary.removed += absent.len() as u64;
        Some(Decided {
            decisions,
            absent,
            summary,
        })
    }
}

/// Whether an id of one kind names a live record once the import is applied.
struct View<'a> {
    bulk: bool,
    /// The ids the import's file decides.
    decided: HashMap<&'a str, bool>,
    held: Box<dyn Fn(&str) -> bool + 'a>,
}

impl<'a> View<'a> {
    fn new<T: CsvRecord, E>(
        table: &'a Table<E>,
        file: Option<&'a ImportFile<T>>,
        decided: &Option<Decided>,
    ) -> View<'a> {
        let mut view = View {
            bulk: file.is_some_and(|f| f.mode == FileMode::Bulk),
            decided: HashMap::new(),
            held: Box::new(|id| table.alive(id)),
        };
        if let (Some(file), Some(decided)) = (file, decided) {
            view.decided.reserve(file.rows.len());
            for ((_, row), decision) in file.rows.iter().zip(&decided.decisions) {
                let id = row.sourced_id().as_str();
                let alive = match decision {
                    Decision::Upsert | Decision::Unchanged => true,
                    Decision::Remove(_) | Decision::Nothing => false,
                    Decision::Stale => table.alive(id),
                };
                view.decided.insert(id, alive);
            }
        }
        view
    }

    fn alive(&self, id: &str) -> bool {
        match self.decided.get(id) {
            Some(&alive) => alive,
            None => !self.bulk && (self.held)(id),
        }
    }
}

/// The views of the five referenced kinds (orgs, sessions, courses, classes, users).
struct Views<'a>([View<'a>; 5]);

impl Views<'_> {
    fn alive(&self, kind: RecordKind, id: &str) -> bool {
        self.0.get(kind.index()).is_some_and(|view| view.alive(id))
    }

    /// Every active row that will be held must reference records that will be held.
    fn validate<T: CsvRecord>(
        &self,
        file: Option<&ImportFile<T>>,
        decided: &Option<Decided>,
    ) -> Result<(), RosterError> {
        let (Some(file), Some(decided)) = (file, decided) else {
            return Ok(());
        };
        for ((line, row), decision) in file.rows.iter().zip(&decided.decisions) {
            let (Row::Active(record), Decision::Upsert | Decision::Unchanged) = (row, decision)
            else {
                continue;
            };
            let mut error = None;
            record.for_each_reference(&mut |column, kind, id| {
                if error.is_none() && !self.alive(kind, id.as_str()) {
                    error = Some(
                        RosterError::new(
                            RosterErrorKind::UnknownReference,
                            T::KIND.file_name(),
                            format!(
                                "{column} {:?} is not in {} (or is removed by this import)",
                                id.as_str(),
                                kind.file_name()
                            ),
                        )
                        .at(*line, Some(column)),
                    );
                }
            });
            if let Some(error) = error {
                return Err(error);
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Output {
    changes: Vec<RecordChange>,
    summary: ImportSummary,
}

impl Output {
    fn emit<T: CsvRecord, E>(
        &mut self,
        table: &Table<E>,
        file: Option<ImportFile<T>>,
        decided: Option<Decided>,
        day: Day,
    ) {
        let (Some(file), Some(decided)) = (file, decided) else {
            return;
        };
        for ((_, row), decision) in file.rows.into_iter().zip(decided.decisions) {
            match (row, decision) {
                (Row::Active(record), Decision::Upsert) => {
                    self.changes.push(RecordChange::Upsert {
                        record: record.into_record(),
                    })
                }
                (row, Decision::Remove(removal)) => self.changes.push(RecordChange::Remove {
                    kind: T::KIND,
                    sourced_id: row.sourced_id().clone(),
                    removal,
                }),
                _ => {}
            }
        }
        self.changes
            .extend(decided.absent.into_iter().map(|key| RecordChange::Remove {
                kind: T::KIND,
                sourced_id: SourcedId::known(table.id(key)),
                removal: Removal {
                    on: day,
                    date_last_modified: None,
                },
            }));
        self.summary.set(T::KIND, decided.summary);
    }
}
