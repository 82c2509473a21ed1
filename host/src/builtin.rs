//! The built-in `standard-oauth2` component, compiled from `plugins/standard-oauth2` by the
//! build script and embedded, so `keyway` works with no plugin installed.

/// The default plugin's name.
pub const STANDARD_PLUGIN: &str = "standard-oauth2";

/// The standard component's bytes.
pub static STANDARD_OAUTH2_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/standard_oauth2.wasm"));
