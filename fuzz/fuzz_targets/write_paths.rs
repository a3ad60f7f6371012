//! The two parses of the write path (issue 12) on the same statement request: the borrowed parse
//! (typed from the simd-json tape, stored bytes spliced from the body) and the
//! `serde_json::Value` path. `lrs_api::fuzzing::write_paths` panics when they disagree: one
//! accepts what the other refuses, different errors, or different statements, index keys, study
//! facts or stored JSON.
//!
//! Input: as `statement_request` — one byte (bit 0: version 2.0.0, bit 1: PUT), the Content-Type
//! up to the first `\n`, then the body.

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
    let _ = lrs_api::fuzzing::write_paths(
        content_type,
        &rest[newline + 1..],
        version,
        flags & 2 != 0,
    );
});
