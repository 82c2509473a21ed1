//! The credential boundary as pure functions.
//!
//! Everything here decides whether a credential may go somewhere, from plain data: no I/O,
//! no wasmtime, no clock. That keeps the rules in one place that the host calls and that the
//! fuzzers in `fuzz/` drive directly.

pub mod integration;
pub mod template;
pub mod text;
