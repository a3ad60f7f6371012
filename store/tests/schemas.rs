//! The PostgreSQL schema mirrors the ScyllaDB schema one to one: the same tables, the same
//! columns, and each primary key is the Scylla partition key followed by its clustering key.

use std::collections::BTreeMap;

const CQL: &str = include_str!("../../schema/cql/001_init.cql");
const SQL: &str = include_str!("../../schema/postgres/001_init.sql");

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
    let (cql, sql) = (tables(CQL), tables(SQL));
    assert!(cql.len() >= 15, "{:?}", cql.keys());
    assert_eq!(
        cql.keys().collect::<Vec<_>>(),
        sql.keys().collect::<Vec<_>>()
    );
    for (name, (columns, key)) in &cql {
        assert!(!key.is_empty(), "{name} has a primary key");
        assert_eq!(&sql[name].0, columns, "columns of {name}");
        assert_eq!(&sql[name].1, key, "primary key of {name}");
    }
}
