//! JWS verification of signed statements (`lrs-api/src/signature.rs`): the compact
//! serialization, the JOSE header, the `x5c` certificate and RSA verification, the payload and
//! its equivalence with the statement received.
//!
//! Input: the JWS up to the first `\n`, then the statement as received (JSON; a fixed statement
//! when it is not JSON).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|input: &[u8]| {
    let (jws, received) = match input.iter().position(|b| *b == b'\n') {
        Some(newline) => (&input[..newline], &input[newline + 1..]),
        None => (input, &b""[..]),
    };
    let received: Value = serde_json::from_slice(received).unwrap_or_else(|_| {
        serde_json::json!({
            "actor": {"mbox": "mailto:signer@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
            "object": {"id": "https://eportal.example.jp/exam"}
        })
    });
    let _ = lrs_api::fuzzing::signature(jws, &received);
});
