//! The host side of each imported interface, one file per interface, written against
//! [`HostView`] rather than the whole store type.

mod api;
mod log;
mod outbound;
mod types;

use super::store::{CallEnv, CallMeter};

/// What host imports may reach of a store: the call's environment and what the host counts
/// in it, nothing else.
pub struct HostView<'a> {
    pub(crate) env: &'a mut CallEnv,
    pub(crate) meter: &'a mut CallMeter,
}

/// Marks [`HostView`] as the data the bindings' `add_to_linker` hands to host functions.
pub struct KeywayImports;

impl wasmtime::component::HasData for KeywayImports {
    type Data<'a> = HostView<'a>;
}
