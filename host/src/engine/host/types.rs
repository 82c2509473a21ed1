//! `keyway:plugin/types` has records only; its `Host` trait is empty but required.

use super::HostView;
use crate::engine::bindings::types;

impl types::Host for HostView<'_> {}
