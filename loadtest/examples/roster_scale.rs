//! `lrs-roster` at a board's scale, on the roster `loadtest roster` writes:
//! parsing + planning + applying a ~100 k-learner import, 1 M attribution lookups, 1 M identity
//! resolutions, a re-import that changes nothing, and re-attributing one transferred learner.
//!
//! ```text
//! cargo run --release -p lrs-loadtest --example roster_scale [-- SCHOOLS CLASSES_PER_SCHOOL LEARNERS_PER_CLASS]
//! ```
//! (defaults 112 × 30 × 30 = 100 800 learners). Prints one line per measurement; docs/roster.md
//! keeps a run's numbers.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use lrs_loadtest::population::{EPORTAL, Population, class_id, enrollment_id, learner_id};
use lrs_roster::{
    ActorRef, Calendar, Day, IdentityConfig, IdentityIndex, ParseOptions, RecordKind, RosterState,
    UtcTime, parse_zip,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEED: u64 = 1;
const LOOKUPS: usize = 1_000_000;

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let population = Population {
        boards: 1,
        schools_per_board: args.first().copied().unwrap_or(112),
        classes_per_school: args.get(1).copied().unwrap_or(30),
        learners_per_class: args.get(2).copied().unwrap_or(30),
    };
    let zipped = zipped_roster(&population);
    println!(
        "roster: {} schools, {} classes, {} learners, {} users; zip {:.1} MB",
        population.schools(),
        population.classes(),
        population.learners(),
        population.learners() + population.classes(),
        zipped.len() as f64 / 1e6
    );

    let calendar = Calendar::default();
    let mut state = RosterState::new();
    let start = Instant::now();
    let import = parse_zip(&zipped, &ParseOptions::default()).unwrap();
    let parsed = start.elapsed();
    let plan = state
        .plan(
            import,
            UtcTime::parse("2025-03-31T00:00:00Z").unwrap(),
            &calendar,
        )
        .unwrap();
    let planned = start.elapsed() - parsed;
    let changed = state.apply(&plan).unwrap();
    let applied = start.elapsed() - parsed - planned;
    println!(
        "first import: parse {} + plan {} + apply (with re-attribution of {} learners) {} = {}; {} changes",
        ms(parsed),
        ms(planned),
        changed.len(),
        ms(applied),
        ms(start.elapsed()),
        plan.changes().len()
    );
    drop(plan);
    println!(
        "state: {:.1} MB on the heap ({:.0} bytes per enrollment); peak RSS so far {}",
        state.heap_bytes() as f64 / 1e6,
        state.heap_bytes() as f64 / state.count(RecordKind::Enrollment) as f64,
        peak_rss()
    );

    let mut rng = StdRng::seed_from_u64(7);
    let learners: Vec<String> = (0..population.learners())
        .map(|n| learner_id(SEED, n).to_string())
        .collect();
    let first = Day::parse("2025-04-01").unwrap();
    let keys: Vec<_> = learners
        .iter()
        .map(|l| state.user_key(l).unwrap())
        .collect();
    let pairs: Vec<(usize, Day)> = (0..LOOKUPS)
        .map(|_| {
            let learner = rng.random_range(0..keys.len());
            (learner, first.add_days(rng.random_range(0..365)))
        })
        .collect();
    let start = Instant::now();
    let mut enrolled = 0usize;
    for &(learner, day) in &pairs {
        enrolled += usize::from(state.attribute(keys[learner], day).is_enrolled());
    }
    let took = start.elapsed();
    assert_eq!(enrolled, LOOKUPS);
    println!(
        "attribute: {LOOKUPS} (user, day) lookups in {} ({} ns each)",
        ms(took),
        per(took)
    );

    let start = Instant::now();
    let timelines: Vec<_> = keys.iter().map(|&user| state.timeline(user)).collect();
    let built = start.elapsed();
    let start = Instant::now();
    let mut enrolled = 0usize;
    for &(learner, day) in &pairs {
        enrolled += usize::from(timelines[learner].at(day).is_enrolled());
    }
    let took = start.elapsed();
    assert_eq!(enrolled, LOOKUPS);
    println!(
        "timelines: {} built in {}; {LOOKUPS} lookups in {} ({} ns each)",
        timelines.len(),
        ms(built),
        ms(took),
        per(took)
    );

    let config = IdentityConfig {
        eportal_home_pages: vec![EPORTAL.to_owned()],
    };
    let index = IdentityIndex::new(&config, &[], &state);
    let names: Vec<&str> = (0..LOOKUPS)
        .map(|_| learners[rng.random_range(0..learners.len())].as_str())
        .collect();
    let start = Instant::now();
    let mut resolved = 0usize;
    for name in names {
        let actor = ActorRef::Account {
            home_page: EPORTAL,
            name,
        };
        resolved += usize::from(index.resolve(&state, actor).is_some());
    }
    let took = start.elapsed();
    assert_eq!(resolved, LOOKUPS);
    println!(
        "identity: {LOOKUPS} account resolutions in {} ({} ns each)",
        ms(took),
        per(took)
    );

    let start = Instant::now();
    let import = parse_zip(&zipped, &ParseOptions::default()).unwrap();
    let plan = state
        .plan(
            import,
            UtcTime::parse("2025-04-10T00:00:00Z").unwrap(),
            &calendar,
        )
        .unwrap();
    let changed = state.apply(&plan).unwrap();
    assert!(plan.changes().is_empty() && changed.is_empty());
    println!(
        "same roster again: parse + plan + apply {}, 0 changes",
        ms(start.elapsed())
    );

    let transfer = transfer_delta(&population);
    let start = Instant::now();
    let import = parse_zip(&transfer, &ParseOptions::default()).unwrap();
    let plan = state
        .plan(
            import,
            UtcTime::parse("2025-10-27T01:00:00Z").unwrap(),
            &calendar,
        )
        .unwrap();
    let changed = state.apply(&plan).unwrap();
    let took = start.elapsed();
    assert_eq!(changed.len(), 1);
    println!(
        "transfer (delta of 2 enrollments): parse + plan + apply {}; re-attributed {} learner, days {}",
        ms(took),
        changed.len(),
        changed[0]
            .days
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("peak RSS {}", peak_rss());
}

fn zipped_roster(population: &Population) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    lrs_loadtest::roster::write(dir.path(), SEED, population).unwrap();
    let files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    zip(&files)
}

fn zip(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Learner 0 moves from class 0 to class 1 on 2025-10-15, reported on 2025-10-27.
fn transfer_delta(population: &Population) -> Vec<u8> {
    let per_class = u64::from(population.learners_per_class);
    let school =
        |class: u64| lrs_loadtest::population::school_id(SEED, population.class(class).school);
    // `roster::write` numbers people per class: the teacher, then the seats.
    let old = enrollment_id(SEED, 1).to_string();
    let learner = learner_id(SEED, 0).to_string();
    let rows = [
        format!(
            "\"{old}\",\"active\",\"2025-10-27T01:00:00.000Z\",\"{}\",\"{}\",\"{learner}\",\"student\",\"false\",\"2025-04-01\",\"2025-10-14\",\"1\",\"true\"",
            class_id(SEED, 0),
            school(0)
        ),
        format!(
            "\"transfer-1\",\"active\",\"2025-10-27T01:00:00.000Z\",\"{}\",\"{}\",\"{learner}\",\"student\",\"false\",\"2025-10-15\",\"2026-03-31\",\"{}\",\"true\"",
            class_id(SEED, 1),
            school(1),
            per_class + 1
        ),
    ];
    let mut files = BTreeMap::new();
    files.insert(
        "manifest.csv".to_owned(),
        b"\"propertyName\",\"value\"\n\"file.enrollments\",\"delta\"\n".to_vec(),
    );
    let header = lrs_loadtest::roster::ENROLLMENTS
        .split(',')
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",");
    files.insert(
        "enrollments.csv".to_owned(),
        format!("{header}\n{}\n", rows.join("\n")).into_bytes(),
    );
    zip(&files)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn per(duration: Duration) -> String {
    format!("{:.0}", duration.as_nanos() as f64 / LOOKUPS as f64)
}

/// The process's peak resident set (Linux `VmHWM`).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
