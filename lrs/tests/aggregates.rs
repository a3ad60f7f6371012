//! Study-log aggregates through the real binary (issue 11 §8): a scenario whose answers the test
//! computes independently from the raw statements and the roster (`common::studylog::oracle`),
//! covering a transfer reported after the statements it affects, a roster imported after
//! statements arrived, aliases, an mbox learner, voiding in both orders, re-sends, a UTC
//! timestamp across the Tokyo midnight and unknown learners; the same check on random
//! scenarios; and again after the server is killed with SIGKILL and restarted.

mod common;

use common::TestLrs;
use common::studylog::{
    Rng, Sent, TOOL_HOME, Target, Who, at, random_roster, random_statements, roster_v1, roster_v2,
    sent,
};

/// The fixed scenario's statements, in the batches they are sent in: before the roster, after it,
/// after the transfer's import.
fn scenario() -> Vec<Vec<Sent>> {
    let learner = Who::learner;
    let mut n = 0;
    let mut next = |who: Who, at: i64| {
        n += 1;
        sent(n, who, at)
    };
    // Before any roster arrives: counted once it does.
    let early = vec![
        next(learner("s1"), at(2026, 10, 1, 1, 0)),
        next(learner("umi-s2"), at(2026, 10, 1, 2, 0)),
        next(learner("s7"), at(2026, 10, 8, 3, 0)),
        next(learner("stranger"), at(2026, 10, 2, 4, 0)),
    ];
    let mut middle = vec![
        // 2026-10-05T23:30Z is 10-06 in Tokyo.
        next(learner("s3"), at(2026, 10, 5, 23, 30)),
        next(learner("s4"), at(2026, 10, 6, 0, 10)),
        next(learner("s5"), at(2026, 10, 9, 5, 0)),
        next(learner("s6"), at(2026, 10, 12, 6, 0)),
        next(learner("s7"), at(2026, 10, 15, 1, 0)),
        next(
            Who::Mbox("mailto:s9@example.jp".into()),
            at(2026, 10, 16, 2, 0),
        ),
        next(
            Who::Account {
                home_page: TOOL_HOME.into(),
                name: "tool-s8".into(),
            },
            at(2026, 10, 17, 3, 0),
        ),
        next(learner("s1"), at(2026, 10, 20, 4, 0)),
        next(learner("s2"), at(2026, 10, 25, 14, 59)),
        next(learner("s2"), at(2026, 10, 31, 15, 1)), // 11-01 in Tokyo
        next(learner("stranger"), at(2026, 10, 22, 4, 0)),
    ];
    // Voiding, target first.
    let target = next(learner("s4"), at(2026, 10, 13, 2, 0));
    let mut voiding = next(learner("s4"), at(2026, 10, 13, 3, 0));
    voiding.voids = Some(target.id.clone());
    middle.push(target.clone());
    middle.push(voiding);
    // A re-send of an equivalent statement.
    middle.push(middle[0].clone());
    // Voiding first, its target after (in a later batch).
    let late_target = next(learner("s5"), at(2026, 10, 14, 2, 0));
    let mut early_voiding = next(learner("s5"), at(2026, 10, 14, 3, 0));
    early_voiding.voids = Some(late_target.id.clone());
    middle.push(early_voiding);
    let late = vec![late_target, next(learner("s6"), at(2026, 10, 28, 8, 0))];
    vec![early, middle, late]
}

#[tokio::test]
async fn the_scenario_answers_what_the_raw_statements_and_the_final_roster_say() {
    let lrs = TestLrs::start();
    let target = Target::of(&lrs);
    let batches = scenario();
    let mut sent_so_far = Vec::new();
    target.post_statements(&batches[0]).await;
    sent_so_far.extend(batches[0].iter().cloned());
    target.import(&roster_v1()).await;
    target.post_statements(&batches[1]).await;
    sent_so_far.extend(batches[1].iter().cloned());
    // Statements that arrived before the roster are attributed now that it is here.
    target
        .check_every_question(&roster_v1(), &sent_so_far)
        .await;
    target.post_statements(&batches[2]).await;
    sent_so_far.extend(batches[2].iter().cloned());
    // The transfer reported late moves s7's days after 10-10 to 2-1; the alias resolves s8.
    let v2 = roster_v2();
    target.import(&v2).await;
    target.check_every_question(&v2, &sent_so_far).await;
}

#[tokio::test]
async fn random_scenarios_answer_what_a_brute_force_recomputation_says() {
    for seed in [7, 1_234_567, 424_242] {
        let lrs = TestLrs::start();
        let target = Target::of(&lrs);
        let mut rng = Rng(seed);
        let roster = random_roster(&mut rng);
        let statements = random_statements(&mut rng);
        // Half the statements before the roster, half after: attribution does not depend on
        // which came first.
        let (first, second) = statements.split_at(statements.len() / 2);
        target.post_statements(first).await;
        target.import(&roster).await;
        target.post_statements(second).await;
        target.check_every_question(&roster, &statements).await;
    }
}

#[tokio::test]
async fn aggregates_are_unchanged_after_the_server_is_killed_and_replays_its_log() {
    let mut lrs = TestLrs::start();
    let statements = random_statements(&mut Rng(99));
    let v2 = roster_v2();
    Target::of(&lrs).import(&v2).await;
    let (first, second) = statements.split_at(statements.len() / 2);
    Target::of(&lrs).post_statements(first).await;
    lrs.kill9();
    lrs.restart();
    Target::of(&lrs).post_statements(second).await;
    Target::of(&lrs)
        .check_every_question(&v2, &statements)
        .await;
    // And once more, killed right after the last answers: nothing counts twice.
    lrs.kill9();
    lrs.restart();
    Target::of(&lrs)
        .check_every_question(&v2, &statements)
        .await;
}

#[tokio::test]
async fn with_studylog_off_statements_are_stored_but_make_no_facts() {
    let lrs = TestLrs::start_with_env(&[], &[("LRS__STUDYLOG__ENABLED", "false")]);
    let target = Target::of(&lrs);
    target.import(&roster_v2()).await;
    let statements = random_statements(&mut Rng(5));
    target.post_statements(&statements).await;
    let (from, to) = (at(2026, 9, 1, 0, 0), at(2026, 12, 1, 0, 0));
    let answer = target.aggregates(&[], from, to, &[]).await;
    assert_eq!(answer["rows"], serde_json::json!([]), "{answer}");
    let (status, page) = lrs.get_json("/statements?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(page["statements"].as_array().unwrap().len(), 1, "{page}");
}
