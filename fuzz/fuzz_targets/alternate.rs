//! The alternate request syntax decoder (`lrs-api/src/alternate.rs`, xAPI 1.0.3 Communication
//! §1.3): a form body sorted into headers, content and query parameters, the rewritten URI and
//! header values.
//!
//! Input: one byte choosing the intended method, then the form body.

#![no_main]

use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 5] = ["GET", "HEAD", "PUT", "POST", "DELETE"];

fuzz_target!(|input: &[u8]| {
    let Some((&method, form)) = input.split_first() else {
        return;
    };
    let method = METHODS[usize::from(method) % METHODS.len()];
    let _ = lrs_api::fuzzing::alternate_request(method, form);
});
