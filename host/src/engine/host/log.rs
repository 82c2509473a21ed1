//! `keyway:plugin/log`: plugin messages go into the host's trace, tagged with the plugin.

use super::HostView;
use crate::engine::bindings::log::{Host, Level};

/// Longest message kept; a plugin cannot flood the log with one call.
const MAX_MESSAGE: usize = 4096;

impl Host for HostView<'_> {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let message = self.env.redactor.scrub(&message);
        let message = keyway_policy::text::clip(&message, MAX_MESSAGE);
        let plugin = self.env.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "keyway::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "keyway::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "keyway::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "keyway::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "keyway::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}
