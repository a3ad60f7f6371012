//! The statement parser and validator, both versions (`lrs_schema::parse_statements`), and what
//! the LRS does with every statement it accepts: equivalence (which must hold of a statement and
//! itself), index terms, the `ids` and `canonical` formats, the definitions ingest learns.
//!
//! Input: one byte choosing the version (even: 1.0.3, odd: 2.0.0), then the request body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lrs_schema::{
    CanonicalDefinitions, DefinitionJson, StatementFormat, XapiVersion, bodies_equivalent,
    canonical_statement, format_statement, parse_statements, statement_definitions,
    statements_equivalent,
};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    let version = if selector % 2 == 0 {
        XapiVersion::V1_0_3
    } else {
        XapiVersion::V2_0_0
    };
    let Ok(statements) = parse_statements(body, version) else {
        return;
    };
    let languages = ["ja-JP".to_owned(), "en".to_owned(), "*".to_owned()];
    for (statement, value) in statements {
        assert!(
            statements_equivalent(&value, &value),
            "a statement is equivalent to itself"
        );
        let _ = statement.index_terms();
        let bytes = serde_json::to_vec(&value).expect("a value serializes");
        assert!(bodies_equivalent(&bytes, &bytes));
        let mut definitions = CanonicalDefinitions::new();
        for found in statement_definitions(&bytes) {
            if let Some(definition) = found.parse() {
                definitions
                    .entry(found.activity_id.to_owned())
                    .or_insert_with(DefinitionJson::default)
                    .merge(&definition);
            }
        }
        for format in [StatementFormat::Ids, StatementFormat::Canonical] {
            let _ = format_statement(&value, format, &languages);
        }
        let mut canonical = value.clone();
        canonical_statement(&mut canonical, &definitions, &languages);
    }
});
