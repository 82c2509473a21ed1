//! The built-in components, compiled from `plugins/` by the build script and embedded, so
//! `keyway` works with no plugin installed: `standard-oauth2`, the default plugin, and
//! `declarative`, which runs stored declarative actions.

/// The default plugin's name.
pub const STANDARD_PLUGIN: &str = "standard-oauth2";

/// The standard component's bytes.
pub static STANDARD_OAUTH2_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/standard_oauth2.wasm"));

/// The bytes of the component that runs declarative actions (`plugins/declarative`, manifest name
/// `keyway-declarative`). The host invokes its `actions.invoke` with the stored definition in
/// the context; it declares no actions and is never used for authentication.
pub static DECLARATIVE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/declarative.wasm"));
