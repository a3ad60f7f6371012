//! The PostgreSQL schema mirrors the ScyllaDB schema one to one: the same files, the same tables,
//! the same columns, and each primary key is the Scylla partition key followed by its clustering
//! key.

use std::collections::BTreeMap;

/// Each schema file, in order, in both dialects.
const FILES: &[(&str, &str)] = &[
    (
        include_str!("../../schema/cql/001_init.cql"),
        include_str!("../../schema/postgres/001_init.sql"),
    ),
    (
        include_str!("../../schema/cql/002_quarantine.cql"),
        include_str!("../../schema/postgres/002_quarantine.sql"),
    ),
    (
        include_str!("../../schema/cql/003_studylog.cql"),
        include_str!("../../schema/postgres/003_studylog.sql"),
    ),
    (
        include_str!("../../schema/cql/004_purges.cql"),
        include_str!("../../schema/postgres/004_purges.sql"),
    ),
    (
        include_str!("../../schema/cql/005_lti_nonces.cql"),
        include_str!("../../schema/postgres/005_lti_nonces.sql"),
    ),
];

/// Table name → (column names in order, primary key columns flattened, in order).
fn tables(schema: &str) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let code: String = schema
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeMap::new();
    for block in code.split("CREATE TABLE IF NOT EXISTS ").skip(1) {
        let (name, rest) = block.split_once('(').expect("a column list");
        let body = &rest[..rest.rfind(')').expect("a closing parenthesis")];
        let mut columns = Vec::new();
        let mut key = Vec::new();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(pk) = line.strip_prefix("PRIMARY KEY") {
                key = pk
                    .split(|c: char| c == ',' || c == '(' || c == ')' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            } else {
                columns.push(line.split_whitespace().next().unwrap().to_owned());
            }
        }
        out.insert(name.trim().to_owned(), (columns, key));
    }
    out
}

#[test]
fn the_postgresql_tables_mirror_the_scylla_tables_one_to_one() {
    let mut every = 0;
    for (cql, sql) in FILES {
        let (cql, sql) = (tables(cql), tables(sql));
        assert!(!cql.is_empty(), "every file creates tables");
        assert_eq!(
            cql.keys().collect::<Vec<_>>(),
            sql.keys().collect::<Vec<_>>()
        );
        for (name, (columns, key)) in &cql {
            assert!(!key.is_empty(), "{name} has a primary key");
            assert_eq!(&sql[name].0, columns, "columns of {name}");
            assert_eq!(&sql[name].1, key, "primary key of {name}");
        }
        every += cql.len();
    }
    assert!(every >= 23, "{every} tables");
}

#[test]
fn every_schema_file_is_applied_by_both_backends() {
    let sql = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/postgres"))
        .unwrap()
        .count();
    let cql = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/cql"))
        .unwrap()
        .count();
    assert_eq!((sql, cql), (FILES.len(), FILES.len()));
    let postgres = include_str!("../src/postgres/mod.rs");
    let scylla = include_str!("../src/scylla/config.rs");
    for n in [
        "001_init",
        "002_quarantine",
        "003_studylog",
        "004_purges",
        "005_lti_nonces",
    ] {
        assert!(postgres.contains(&format!("{n}.sql")), "{n} in postgres");
        assert!(scylla.contains(&format!("{n}.cql")), "{n} in scylla");
    }
}
