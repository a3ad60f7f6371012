//! The OneRoster 1.2 CSV importer (`roster/`): any bytes as a roster zip, parsed with the
//! decompression limit, planned and applied on an empty roster, then every user's timeline and
//! visibility computed (`lrs_roster::fuzz_import`). A refusal is an answer; a panic, an abort or
//! unbounded memory is a defect. Mode byte 1 instead reads the input as an alias CSV
//! (`homePage,name,userSourcedId`) against an empty roster.
//!
//! Input: a mode byte (even: roster zip, odd: alias CSV), then the bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let _ = lrs_roster::fuzz_import(data);
    } else {
        let _ = lrs_roster::parse_aliases(data, &lrs_roster::RosterState::new());
    }
});
