//! The shared test suite every log implementation runs.
