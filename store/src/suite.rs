//! The shared test suite every store implementation runs.
