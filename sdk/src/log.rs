//! Logging into the host's trace, tagged with the plugin and connection. Never log secrets:
//! the trace is for operators. (The SDK's secret-carrying records redact themselves in `Debug`.)

use crate::bindings::keyway::plugin::log as host;

/// How important a log line is.
pub use crate::bindings::keyway::plugin::log::Level;

/// Logs `message` at `level`.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}

/// Logs at [`Level::Trace`]: step-by-step detail.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at [`Level::Debug`]: what a plugin author needs while developing.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at [`Level::Info`]: what an operator wants to see.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at [`Level::Warn`]: something odd that the plugin worked around.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at [`Level::Error`]: something failed (the hook's error is reported anyway).
pub fn error(message: &str) {
    log(Level::Error, message);
}
