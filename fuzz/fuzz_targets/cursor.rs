//! The `more` cursor decoder (`query/src/cursor.rs`): any token a client sends back. A token it
//! accepts must encode back to one that decodes to the same cursor.
//!
//! Input: the token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lrs_query::Cursor;

fuzz_target!(|input: &[u8]| {
    let token = String::from_utf8_lossy(input);
    if let Ok(cursor) = Cursor::decode(&token) {
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }
});
