//! Running an extract: two passes over the period's facts, one day at a time. The first tallies
//! the learners of every quasi-identifier combination (the k-anonymity report needs the whole
//! period before the first row may be dropped); the second fetches the statements' bodies and
//! writes the rows.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lrs_roster::{Attribution, Calendar, Day, IdentityConfig, Timeline, UserKey};
use lrs_schema::{DimKey, FactDim, Outcome, StudyFact};
use lrs_store::{FactRow, RosterStore, StatementReader, StoredStatement, StudyLogStore};
use serde_json::json;

use crate::aggregates::{Learner, TenantView, load_view};
use crate::extract::anonymity::{QuasiIdentifier, Tallies};
use crate::extract::columns::ExtractRow;
use crate::extract::sinks::{CsvSink, ParquetSink};
use crate::extract::{ExtractError, ExtractRequest, PseudonymKey};

/// The files an extract writes into its output directory.
pub const OUTPUT_FILES: [&str; 4] = [
    "statements.parquet",
    "statements.csv",
    "k_anonymity.csv",
    "manifest.json",
];

/// Statement bodies fetched per store call.
const BODIES_PER_READ: usize = 512;

/// Where an extract reads from.
#[derive(Clone)]
pub struct ExtractSources {
    pub statements: Arc<dyn StatementReader>,
    pub study: Arc<dyn StudyLogStore>,
    pub rosters: Arc<dyn RosterStore>,
    /// The deployment's calendar (`studylog.time_zone`): local days and hours.
    pub calendar: Calendar,
    /// Who an actor is in the roster (`studylog.eportal_home_pages`).
    pub identity: IdentityConfig,
}

/// Reported after each day of each pass.
#[derive(Debug, Clone, Copy)]
pub struct ExtractProgress {
    /// 1: tallying the quasi-identifiers; 2: writing rows.
    pub pass: u8,
    pub day: Day,
    pub days_done: usize,
    pub days: usize,
    /// Rows written so far (pass 2).
    pub rows: u64,
}

/// What an extract wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    pub rows: u64,
    /// Rows dropped because their combination had fewer than k learners (with `suppress`).
    pub rows_suppressed: u64,
    /// Distinct learners in the rows written.
    pub learners: u64,
    /// Quasi-identifier combinations with fewer than k learners.
    pub combinations_below_k: u64,
    /// Facts whose statement was gone or voided when its body was read.
    pub statements_skipped: u64,
}

/// Writes the extract of `request` into `out` (created if missing; none of [`OUTPUT_FILES`]
/// may exist there yet). On failure nothing is left in `out`.
pub async fn run_extract(
    sources: &ExtractSources,
    request: &ExtractRequest,
    key: &PseudonymKey,
    out: &Path,
    progress: &mut (dyn FnMut(&ExtractProgress) + Send),
) -> Result<ExtractSummary, ExtractError> {
    let output = Output::prepare(out)?;
    let written = write_all(sources, request, key, &output, progress).await;
    match written {
        Ok(summary) => {
            output.publish()?;
            Ok(summary)
        }
        Err(err) => {
            output.discard();
            Err(err)
        }
    }
}

async fn write_all(
    sources: &ExtractSources,
    request: &ExtractRequest,
    key: &PseudonymKey,
    output: &Output,
    progress: &mut (dyn FnMut(&ExtractProgress) + Send),
) -> Result<ExtractSummary, ExtractError> {
    let view = load_view(
        sources.study.as_ref(),
        sources.rosters.as_ref(),
        &sources.identity,
        &request.tenant,
    )
    .await?;
    let mut placer = Placer::new(&view);
    let days = request.days().count();

    // Pass 1: the learners of every combination.
    let mut tallies = Tallies::default();
    for (done, day) in request.days().enumerate() {
        placer.new_day();
        for row in day_facts(sources, request, day).await? {
            let learner = view.learner(row.fact.actor);
            let quasi = placer.quasi(learner, day, request, &sources.calendar, &row.fact);
            tallies.add(quasi, learner);
        }
        progress(&ExtractProgress {
            pass: 1,
            day,
            days_done: done + 1,
            days,
            rows: 0,
        });
    }

    // Pass 2: the rows.
    let columns = request.columns();
    let mut csv = CsvSink::create(output.create("statements.csv")?, &columns)?;
    let mut parquet = ParquetSink::create(output.create("statements.parquet")?, &columns)?;
    let mut summary = ExtractSummary::default();
    let mut pseudonyms: HashMap<Learner, String> = HashMap::new();
    let mut learners: HashSet<Learner> = HashSet::new();
    for (done, day) in request.days().enumerate() {
        placer.new_day();
        let facts = day_facts(sources, request, day).await?;
        for chunk in facts.chunks(BODIES_PER_READ) {
            let ids: Vec<_> = chunk.iter().map(|r| r.id).collect();
            let bodies = sources
                .statements
                .get_statements(&request.tenant, &ids)
                .await?;
            for (row, stored) in chunk.iter().zip(bodies) {
                let Some(stored) = stored.filter(|s| s.voided_by.is_none()) else {
                    summary.statements_skipped += 1;
                    continue;
                };
                let learner = view.learner(row.fact.actor);
                let quasi = placer.quasi(learner, day, request, &sources.calendar, &row.fact);
                if request.suppress && tallies.below(&quasi, request.k) {
                    summary.rows_suppressed += 1;
                    continue;
                }
                let pseudonym = pseudonyms
                    .entry(learner)
                    .or_insert_with(|| key.pseudonym(&identity(&view, learner)));
                let extract_row = flatten(&view, request, quasi, pseudonym, &row.fact, &stored);
                csv.write(&extract_row)?;
                parquet.write(&extract_row)?;
                learners.insert(learner);
                summary.rows += 1;
            }
        }
        progress(&ExtractProgress {
            pass: 2,
            day,
            days_done: done + 1,
            days,
            rows: summary.rows,
        });
    }
    csv.finish()?;
    parquet.finish()?;
    summary.learners = learners.len() as u64;

    let report = output.create("k_anonymity.csv")?;
    summary.combinations_below_k =
        tallies.write_report(BufWriter::new(report), request.k, request.suppress)? as u64;
    let manifest = manifest(sources, request, key, &summary, &columns);
    std::fs::write(output.partial("manifest.json"), manifest)
        .map_err(|e| ExtractError::Output(format!("manifest.json: {e}")))?;
    Ok(summary)
}

/// The facts of one local day, in timestamp order (ties by statement id).
async fn day_facts(
    sources: &ExtractSources,
    request: &ExtractRequest,
    day: Day,
) -> Result<Vec<FactRow>, ExtractError> {
    let first = day.days_since_epoch();
    let mut facts = sources
        .study
        .facts(&request.tenant, first, first + 1, None)
        .await?;
    facts.sort_by_key(|r| (r.fact.timestamp, r.id));
    Ok(facts)
}

/// The text a learner's pseudonym is made from: the tenant, then the roster user's
/// `sourcedId`, or the actor's canonical identifier when no roster user matched.
fn identity(view: &TenantView, learner: Learner) -> String {
    match learner {
        Learner::User(user) => format!(
            "{}\0user\0{}",
            view.tenant,
            view.roster.user_sourced_id(user)
        ),
        Learner::Actor(actor) => match view.actors.get(&actor) {
            Some(entry) => format!("{}\0actor\0{}", view.tenant, entry.text),
            None => format!("{}\0actor-key\0{}", view.tenant, hex::encode(actor.0)),
        },
    }
}

/// One row: the fact's dimensions and metrics, the quasi-identifiers, and from the body the
/// score and (when included) the response.
fn flatten(
    view: &TenantView,
    request: &ExtractRequest,
    quasi: QuasiIdentifier,
    pseudonym: &str,
    fact: &StudyFact,
    stored: &StoredStatement,
) -> ExtractRow {
    let text = |dim: FactDim, key: DimKey| {
        (!key.is_none())
            .then(|| view.dims.get(&(dim, key)).cloned())
            .flatten()
    };
    let outcome = outcome_of(&stored.body);
    let score = outcome.as_ref().and_then(Outcome::score);
    ExtractRow {
        learner: pseudonym.to_owned(),
        school: quasi.school,
        class: quasi.class,
        grade: quasi.grade,
        time: quasi.time,
        verb: text(FactDim::Verb, fact.verb),
        activity: text(FactDim::Activity, fact.activity),
        activity_type: text(FactDim::ActivityType, fact.activity_type),
        subject: text(FactDim::Subject, fact.subject),
        curriculum_code: text(FactDim::CurriculumCode, fact.curriculum_code),
        tool: text(FactDim::Tool, fact.tool),
        score_scaled: score
            .and_then(|s| s.scaled())
            .or(fact.scaled.map(f64::from)),
        score_raw: score.and_then(|s| s.raw()),
        success: fact.success,
        completion: fact.completion,
        duration_seconds: fact.duration_ms.map(|ms| f64::from(ms) / 1000.0),
        response: request
            .include_response
            .then(|| {
                outcome
                    .as_ref()
                    .and_then(|o| o.response().map(str::to_owned))
            })
            .flatten(),
    }
}

/// The `result` of a stored body (the rest of the body is skipped unparsed).
fn outcome_of(body: &[u8]) -> Option<Outcome> {
    #[derive(serde::Deserialize)]
    struct ResultOnly<'a> {
        #[serde(borrow)]
        result: Option<&'a serde_json::value::RawValue>,
    }
    let only: ResultOnly<'_> = serde_json::from_slice(body).ok()?;
    let value: serde_json::Value = serde_json::from_str(only.result?.get()).ok()?;
    Outcome::from_json(&value).ok()
}

/// Where a learner was on a day, as text (cached per learner for the day being read).
#[derive(Clone, Default)]
struct Placement {
    school: Option<String>,
    class: Option<String>,
    grade: Option<String>,
}

struct Placer<'a> {
    view: &'a TenantView,
    timelines: HashMap<UserKey, Timeline>,
    today: HashMap<UserKey, Placement>,
}

impl<'a> Placer<'a> {
    fn new(view: &'a TenantView) -> Placer<'a> {
        Placer {
            view,
            timelines: HashMap::new(),
            today: HashMap::new(),
        }
    }

    fn new_day(&mut self) {
        self.today.clear();
    }

    fn quasi(
        &mut self,
        learner: Learner,
        day: Day,
        request: &ExtractRequest,
        calendar: &Calendar,
        fact: &StudyFact,
    ) -> QuasiIdentifier {
        let placement = match learner {
            Learner::User(user) => self.place(user, day),
            Learner::Actor(_) => Placement::default(),
        };
        QuasiIdentifier {
            school: placement.school,
            class: placement.class,
            grade: placement.grade,
            time: request.time.bucket(calendar, fact.timestamp),
        }
    }

    fn place(&mut self, user: UserKey, day: Day) -> Placement {
        if let Some(placement) = self.today.get(&user) {
            return placement.clone();
        }
        let roster = &self.view.roster;
        let timeline = self
            .timelines
            .entry(user)
            .or_insert_with(|| roster.timeline(user));
        let placement = placement_of(self.view, timeline.at(day));
        self.today.insert(user, placement.clone());
        placement
    }
}

fn placement_of(view: &TenantView, attribution: &Attribution) -> Placement {
    let joined = |mut ids: Vec<&str>| {
        ids.sort_unstable();
        (!ids.is_empty()).then(|| ids.join(";"))
    };
    Placement {
        school: joined(
            attribution
                .schools()
                .iter()
                .map(|&s| view.roster.org_sourced_id(s))
                .collect(),
        ),
        class: joined(
            attribution
                .classes()
                .iter()
                .map(|&c| view.roster.class_sourced_id(c))
                .collect(),
        ),
        grade: attribution.grade().map(|g| g.to_string()),
    }
}

fn manifest(
    sources: &ExtractSources,
    request: &ExtractRequest,
    key: &PseudonymKey,
    summary: &ExtractSummary,
    columns: &[&str],
) -> String {
    let manifest = json!({
        "format": "lrs-research-extract/1",
        "tenant": request.tenant,
        "since": request.since.to_string(),
        "until": request.until.to_string(),
        "time_zone": sources.calendar.zone_name(),
        "time": request.time.as_str(),
        "k": request.k,
        "suppress": request.suppress,
        "quasi_identifiers": ["school", "class", "grade", "time"],
        "columns": columns,
        "included_free_text": if request.include_response { vec!["response"] } else { Vec::new() },
        "pseudonym": "HMAC-SHA256(key, tenant NUL (\"user\" NUL roster sourcedId | \"actor\" NUL canonical actor identifier)), lower-case hex",
        "key_fingerprint": key.fingerprint(),
        "rows": summary.rows,
        "rows_suppressed": summary.rows_suppressed,
        "learners": summary.learners,
        "combinations_below_k": summary.combinations_below_k,
        "statements_skipped": summary.statements_skipped,
        "files": OUTPUT_FILES,
        "generated_at": lrs_schema::format_timestamp(lrs_store::now_micros()),
    });
    serde_json::to_string_pretty(&manifest).expect("JSON values serialize")
}

/// The output directory: files are written as `.NAME.partial` and renamed once all are done.
struct Output {
    dir: PathBuf,
}

impl Output {
    fn prepare(dir: &Path) -> Result<Output, ExtractError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ExtractError::Output(format!(
                "creating the output directory {}: {e}",
                dir.display()
            ))
        })?;
        for name in OUTPUT_FILES {
            if dir.join(name).exists() {
                return Err(ExtractError::Output(format!(
                    "{} already exists; an extract never overwrites one (choose another --out)",
                    dir.join(name).display()
                )));
            }
        }
        Ok(Output {
            dir: dir.to_owned(),
        })
    }

    fn partial(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.partial"))
    }

    fn create(&self, name: &str) -> Result<File, ExtractError> {
        File::create(self.partial(name)).map_err(|e| {
            ExtractError::Output(format!("creating {}: {e}", self.partial(name).display()))
        })
    }

    /// Renames every partial file to its name (the manifest last).
    fn publish(&self) -> Result<(), ExtractError> {
        for name in OUTPUT_FILES {
            std::fs::rename(self.partial(name), self.dir.join(name)).map_err(|e| {
                ExtractError::Output(format!("renaming {}: {e}", self.partial(name).display()))
            })?;
        }
        Ok(())
    }

    fn discard(&self) {
        for name in OUTPUT_FILES {
            let _ = std::fs::remove_file(self.partial(name));
        }
    }
}
