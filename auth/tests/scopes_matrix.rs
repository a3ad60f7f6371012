//! Which scopes allow which access (xAPI 1.0.3 Communication §4.2, xAPI 2.0 scope table).

use lrs_auth::{Access, ReadRestriction, Scopes};

const ACCESSES: [Access; 7] = [
    Access::WriteStatements,
    Access::ReadStatements,
    Access::ReadState,
    Access::WriteState,
    Access::ReadProfile,
    Access::WriteProfile,
    Access::Define,
];

/// Row: scope list; columns in `ACCESSES` order.
#[rustfmt::skip]
const MATRIX: [(&str, [bool; 7], ReadRestriction); 11] = [
    //                                         wS     rS     rSt    wSt    rP     wP     def
    ("all",                                  [true,  true,  true,  true,  true,  true,  true ], ReadRestriction::None),
    ("all/read",                             [false, true,  true,  false, true,  false, false], ReadRestriction::None),
    ("statements/write",                     [true,  false, false, false, false, false, false], ReadRestriction::None),
    ("statements/read",                      [false, true,  false, false, false, false, false], ReadRestriction::None),
    ("statements/read/mine",                 [false, true,  false, false, false, false, false], ReadRestriction::OwnStatementsOnly),
    ("state",                                [false, false, true,  true,  false, false, false], ReadRestriction::None),
    ("profile",                              [false, false, false, false, true,  true,  false], ReadRestriction::None),
    ("define",                               [false, false, false, false, false, false, true ], ReadRestriction::None),
    ("statements/write statements/read/mine",[true,  true,  false, false, false, false, false], ReadRestriction::OwnStatementsOnly),
    ("statements/read/mine,statements/read", [false, true,  false, false, false, false, false], ReadRestriction::None),
    ("statements/read/mine all/read",        [false, true,  true,  false, true,  false, false], ReadRestriction::None),
];

#[test]
fn every_scope_list_allows_exactly_the_access_of_the_xapi_scope_table() {
    for (list, expected, restriction) in MATRIX {
        let scopes = Scopes::parse_list(list).unwrap();
        for (access, allowed) in ACCESSES.iter().zip(expected) {
            assert_eq!(scopes.allows(*access), allowed, "{list} × {access:?}");
        }
        assert_eq!(scopes.read_restriction(), restriction, "{list}");
    }
}

#[test]
fn the_empty_scope_set_allows_nothing() {
    for access in ACCESSES {
        assert!(!Scopes::empty().allows(access));
    }
}

#[test]
fn the_xapi_default_is_write_plus_read_mine() {
    assert_eq!(
        Scopes::xapi_default(),
        Scopes::parse_list("statements/write statements/read/mine").unwrap()
    );
}
