//! The roster `loadtest roster` writes imports into `lrs-roster` as it is, and lines up with the
//! generated statements: every actor resolves to its roster user, and a learner counts, on the
//! Tokyo day of each statement, in the class its statement's `grouping` names.

use std::collections::BTreeMap;

use lrs_loadtest::generator::Generator;
use lrs_loadtest::population::{EPORTAL, Population};
use lrs_roster::{
    ActorRef, Calendar, IdentityConfig, IdentityIndex, IdentityRule, ParseOptions, RecordKind,
    RosterState, UtcTime, parse_files,
};

const SEED: u64 = 11;

/// The files `loadtest roster` writes, read back into memory.
fn written_roster(population: &Population) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    lrs_loadtest::roster::write(dir.path(), SEED, population).unwrap();
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn the_generated_roster_imports_whole() {
    let population = Population::default();
    let mut files = written_roster(&population);
    let import = parse_files(&mut files, &ParseOptions::default()).unwrap();
    let mut state = RosterState::new();
    let calendar = Calendar::default();
    let plan = state
        .plan(
            import,
            UtcTime::parse("2025-03-31T00:00:00Z").unwrap(),
            &calendar,
        )
        .unwrap();
    let people = population.learners() + population.classes();
    let summary = &plan.version().summary;
    for (kind, rows) in [
        (
            RecordKind::Org,
            u64::from(population.boards) + population.schools(),
        ),
        (RecordKind::AcademicSession, 1),
        (RecordKind::Class, population.classes()),
        (RecordKind::User, people),
        (RecordKind::Enrollment, people),
        (RecordKind::Role, people),
    ] {
        let file = summary.file(kind).unwrap();
        assert_eq!((file.rows, file.added), (rows, rows), "{kind:?}");
    }
    let reattributed = state.apply(&plan).unwrap();
    // Every learner is new and attributed; teachers (no student enrollment, no grade) are
    // attributed as unknown actors were, so nothing changes for them.
    assert_eq!(reattributed.len() as u64, population.learners());
    assert_eq!(state.count(RecordKind::User) as u64, people);
}

#[test]
fn every_generated_actor_resolves_and_counts_in_its_statements_class() {
    let population = Population::default();
    let mut files = written_roster(&population);
    let import = parse_files(&mut files, &ParseOptions::default()).unwrap();
    let mut state = RosterState::new();
    let calendar = Calendar::default();
    let plan = state
        .plan(
            import,
            UtcTime::parse("2025-03-31T00:00:00Z").unwrap(),
            &calendar,
        )
        .unwrap();
    state.apply(&plan).unwrap();
    let config = IdentityConfig {
        eportal_home_pages: vec![EPORTAL.to_owned()],
    };
    let identity = IdentityIndex::new(&config, &[], &state);
    let (mut learners, mut teachers) = (0, 0);
    for statement in Generator::new(SEED, population).batch(3000) {
        let account = &statement["actor"]["account"];
        let actor = ActorRef::Account {
            home_page: account["homePage"].as_str().unwrap(),
            name: account["name"].as_str().unwrap(),
        };
        let resolved = identity.resolve(&state, actor).expect("a roster user");
        assert_eq!(resolved.rule, IdentityRule::SourcedId);
        let timestamp = lrs_schema::parse_timestamp(statement["timestamp"].as_str().unwrap());
        let day = calendar.day_of(timestamp.unwrap());
        let class = statement["context"]["contextActivities"]["grouping"][0]["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let attribution = state.attribute(resolved.user, day);
        if attribution.is_enrolled() {
            learners += 1;
            let classes: Vec<&str> = attribution
                .classes()
                .iter()
                .map(|&c| state.class_sourced_id(c))
                .collect();
            assert_eq!(classes, [class]);
            let grade = attribution.grade().unwrap().to_string();
            assert!(grade.starts_with('P') || grade.starts_with('J'), "{grade}");
        } else {
            // A teacher: not attributed, but their class is theirs to see.
            teachers += 1;
            assert!(state.visibility(resolved.user, day).allows_class(class));
        }
    }
    assert!(
        learners > 2000 && teachers > 0,
        "{learners} learners, {teachers} teachers"
    );
}
