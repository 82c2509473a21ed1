//! Keyway: a WebAssembly plugin host for custom OAuth2 integrations.
//!
//! Each app's OAuth quirks live in a Wasm component loaded through the versioned
//! `keyway:plugin` WIT interface; the standard flow from the help article is the built-in
//! default component. The host mints `state` and PKCE, enforces the egress policy and the
//! sandbox's limits, keeps the secrets, and formats no OAuth request itself.
//!
//! - [`engine`]: compiles, checks and runs plugins.
//! - [`flows`]: the OAuth2 flow driven through plugin hooks.
//! - [`egress`]: the only way a request leaves the host.
//! - [`integration`], [`connection`]: the data the flows work on.
//! - [`secret`], [`trace`]: secrets that cannot leak, and redacted records of the wire.
//! - [`service`], [`server`], [`serve`]: `keyway serve`, the REST API and the OAuth callback.
//! - [`crypto`], [`keys`]: encryption at rest and API keys.
//! - [`config`], [`cli`]: settings and the command-line companions of the REST API.
//! - [`metrics`]: what `GET /metrics` shows, and the helpers that record it.
//! - [`bench`]: `keyway bench`, issue #11's benchmarks against same-run baselines.

pub mod actions;
pub mod bench;
pub mod builtin;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod connection;
pub mod crypto;
pub mod demo;
pub mod egress;
pub mod engine;
pub mod flows;
pub mod integration;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod redact;
pub mod registry;
pub mod secret;
pub mod serve;
pub mod server;
pub mod service;
pub mod trace;
