//! The credential boundary as pure functions.
//!
//! Everything here decides whether a credential may go somewhere, from plain data: no I/O,
//! no wasmtime, no clock. That keeps the rules in one place that the host calls and that the
//! fuzzers in `fuzz/` drive directly. Every function takes plain `&str` or `&Url` and never
//! panics, whatever it is fed.

pub mod allowlist;
pub mod headers;
pub mod host;
pub mod integration;
pub mod net;
pub mod template;
pub mod text;

pub use allowlist::{Allowlist, NotAllowed};
pub use headers::{HeaderError, HeaderLimits};
pub use host::{HostError, HostName, HostPattern};
pub use net::{AddressRefused, IpNet};
