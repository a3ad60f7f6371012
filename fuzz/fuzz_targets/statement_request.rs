//! A statement request as the handlers take it once the body is read: the Content-Type chooses
//! `application/json` or `multipart/mixed` (the multipart parser, `lrs-api/src/multipart.rs`),
//! then statements are validated, attachment parts matched by hash, signatures verified and
//! statements finalized for the log.
//!
//! Input: one byte (bit 0: version 2.0.0, bit 1: PUT), the Content-Type up to the first `\n`,
//! then the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lrs_schema::XapiVersion;

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let Some(newline) = rest.iter().position(|b| *b == b'\n') else {
        return;
    };
    let Ok(content_type) = std::str::from_utf8(&rest[..newline]) else {
        return;
    };
    let version = if flags & 1 == 0 {
        XapiVersion::V1_0_3
    } else {
        XapiVersion::V2_0_0
    };
    let _ = lrs_api::fuzzing::statement_request(
        content_type,
        &rest[newline + 1..],
        version,
        flags & 2 != 0,
    );
});
