//! `loadtest`: drives any xAPI LRS with realistic Japanese study-log statements.
//!
//! The library holds everything the `loadtest` binary does, so tests can call the parts: the
//! seeded population and statement generator, the OneRoster roster writer, the closed- and
//! open-loop drivers with the read mix, the exactly-once verification and the reports.

pub mod args;
pub mod check;
pub mod compare;
pub mod driver;
pub mod generator;
pub mod lag;
pub mod open_loop;
pub mod population;
pub mod post;
pub mod progress;
#[cfg(feature = "kafka")]
pub mod raw_produce;
pub mod read;
pub mod report;
pub mod roster;
pub mod stats;
pub mod verify;
