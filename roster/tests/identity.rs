//! Learner identity: the three rules, their order, the e-portal homePage check, and aliases.

mod common;

use common::*;
use lrs_roster::{
    ActorRef, IdentityConfig, IdentityIndex, IdentityRule, MboxSha1, RosterErrorKind, RosterState,
    parse_aliases,
};

const EPORTAL: &str = "https://eportal.example.jp";
const L1_MASTER: &str = "0b7c8d2e-1f3a-4b5c-8d9e-0f1a2b3c4d5e";

fn account<'a>(home_page: &'a str, name: &'a str) -> ActorRef<'a> {
    ActorRef::Account { home_page, name }
}

fn resolve(
    index: &IdentityIndex,
    state: &RosterState,
    actor: ActorRef<'_>,
) -> Option<(String, IdentityRule)> {
    index
        .resolve(state, actor)
        .map(|r| (state.user_sourced_id(r.user).to_owned(), r.rule))
}

fn eportal_config() -> IdentityConfig {
    IdentityConfig {
        eportal_home_pages: vec![format!("{EPORTAL}/")],
    }
}

#[test]
fn an_account_name_is_a_sourced_id_or_a_user_master_identifier() {
    let state = imported();
    let index = IdentityIndex::new(&IdentityConfig::default(), &[], &state);
    assert_eq!(
        resolve(&index, &state, account("https://any.example", "l2")),
        Some(("l2".into(), IdentityRule::SourcedId))
    );
    assert_eq!(
        resolve(&index, &state, account(EPORTAL, L1_MASTER)),
        Some(("l1".into(), IdentityRule::UserMasterIdentifier))
    );
    assert_eq!(resolve(&index, &state, account(EPORTAL, "nobody")), None);
}

#[test]
fn with_e_portals_configured_only_their_home_pages_match_by_name() {
    let state = imported();
    let index = IdentityIndex::new(&eportal_config(), &[], &state);
    // The configured homePage has a trailing slash; the actor's does not: still one page.
    assert_eq!(
        resolve(&index, &state, account(EPORTAL, "l2")),
        Some(("l2".into(), IdentityRule::SourcedId))
    );
    assert_eq!(
        resolve(&index, &state, account("https://drill.example.jp", "l2")),
        None
    );
}

#[test]
fn aliases_map_a_tools_own_ids_and_come_after_the_name_rule() {
    let state = imported();
    let aliases = parse_aliases(
        "homePage,name,userSourcedId\n\
         https://drill.example.jp,student-0042,l1\n\
         https://drill.example.jp/,l2,l1\n\
         https://eportal.example.jp,l2,l1\n"
            .as_bytes(),
        &state,
    )
    .unwrap();
    assert_eq!(aliases.len(), 3);
    let index = IdentityIndex::new(&eportal_config(), &aliases, &state);
    assert_eq!(
        resolve(
            &index,
            &state,
            account("https://drill.example.jp", "student-0042")
        ),
        Some(("l1".into(), IdentityRule::Alias))
    );
    // The drill's homePage is not an e-portal, so its "l2" is the alias's user, not user l2.
    assert_eq!(
        resolve(&index, &state, account("https://drill.example.jp", "l2")),
        Some(("l1".into(), IdentityRule::Alias))
    );
    // On the e-portal, the name rule wins over an alias of the same pair.
    assert_eq!(
        resolve(&index, &state, account(EPORTAL, "l2")),
        Some(("l2".into(), IdentityRule::SourcedId))
    );
}

#[test]
fn an_mbox_or_its_sha1_is_the_users_email() {
    let state = imported();
    let index = IdentityIndex::new(&eportal_config(), &[], &state);
    // users.csv has Taro.Aoba@Example.JP: the domain is case insensitive.
    assert_eq!(
        resolve(
            &index,
            &state,
            ActorRef::Mbox("mailto:Taro.Aoba@example.jp")
        ),
        Some(("l1".into(), IdentityRule::Mbox))
    );
    let hex = MboxSha1::from_mbox("mailto:Taro.Aoba@example.jp")
        .unwrap()
        .to_hex();
    assert_eq!(
        resolve(&index, &state, ActorRef::MboxSha1Sum(&hex)),
        Some(("l1".into(), IdentityRule::Mbox))
    );
    assert_eq!(
        resolve(
            &index,
            &state,
            ActorRef::Mbox("mailto:taro.aoba@example.jp")
        ),
        None
    );
    assert_eq!(
        resolve(&index, &state, ActorRef::OpenId("https://id.example/l1")),
        None
    );
}

#[test]
fn a_schema_agent_converts_to_an_actor_ref() {
    let json = serde_json::json!({"account": {"homePage": EPORTAL, "name": "l2"}});
    let agent = lrs_schema::Agent::from_param(&json, "agent").unwrap();
    let state = imported();
    let index = IdentityIndex::new(&eportal_config(), &[], &state);
    assert_eq!(
        resolve(&index, &state, ActorRef::from(agent.ifi())),
        Some(("l2".into(), IdentityRule::SourcedId))
    );
}

#[test]
fn a_master_identifier_shared_by_two_users_prefers_the_live_one() {
    let mut state = imported();
    // l2's record gets l1's userMasterIdentifier; then l1 is disabled.
    let users = users();
    let mut rows: Vec<String> = users.lines().map(str::to_owned).collect();
    let l2 = rows.iter().position(|r| r.starts_with("\"l2\"")).unwrap();
    let master_column = USERS
        .split(',')
        .position(|c| c == "userMasterIdentifier")
        .unwrap();
    let mut values: Vec<String> = rows[l2].split("\",\"").map(str::to_owned).collect();
    values[master_column] = L1_MASTER.to_owned();
    rows[l2] = values.join("\",\"");
    apply(
        &mut state,
        &only(&[("users.csv", rows.join("\n") + "\n")], "bulk"),
        "2025-05-01T00:00:00Z",
    );
    let index = IdentityIndex::new(&IdentityConfig::default(), &[], &state);
    assert_eq!(
        resolve(&index, &state, account(EPORTAL, L1_MASTER)),
        Some(("l1".into(), IdentityRule::UserMasterIdentifier)),
        "both enabled: the smaller sourcedId"
    );
    let disabled = rows.join("\n").replacen(
        "\"l1\",\"active\",\"2025-03-20T09:00:00.000Z\",\"true\"",
        "\"l1\",\"active\",\"2025-03-20T09:00:00.000Z\",\"false\"",
        1,
    );
    apply(
        &mut state,
        &only(&[("users.csv", disabled + "\n")], "bulk"),
        "2025-05-02T00:00:00Z",
    );
    let index = IdentityIndex::new(&IdentityConfig::default(), &[], &state);
    assert_eq!(
        resolve(&index, &state, account(EPORTAL, L1_MASTER)),
        Some(("l2".into(), IdentityRule::UserMasterIdentifier)),
        "l1 disabled: l2"
    );
}

#[test]
fn alias_csv_errors_name_the_line_and_column() {
    let state = imported();
    let cases: [(&str, RosterErrorKind, u64, &str); 4] = [
        (
            "homePage,name,userSourcedId\nhttps://drill.example.jp,s-1,l9\n",
            RosterErrorKind::UnknownReference,
            2,
            "userSourcedId",
        ),
        (
            "homePage,name,userSourcedId\nhttps://d.example,s-1,l1\nhttps://d.example/,s-1,l2\n",
            RosterErrorKind::DuplicateSourcedId,
            3,
            "name",
        ),
        (
            "homePage,name,userSourcedId\nhttps://d.example,,l1\n",
            RosterErrorKind::MissingValue,
            2,
            "name",
        ),
        (
            "homePage,userSourcedId\nhttps://d.example,l1\n",
            RosterErrorKind::MissingColumn,
            1,
            "name",
        ),
    ];
    for (text, kind, line, column) in cases {
        let error = parse_aliases(text.as_bytes(), &state).unwrap_err();
        assert_eq!(
            (error.kind(), error.file(), error.line(), error.column()),
            (kind, "aliases.csv", Some(line), Some(column)),
            "{error}"
        );
    }
}
