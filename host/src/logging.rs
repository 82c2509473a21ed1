//! The log filter and format every `keyway` command installs.

use tracing_subscriber::EnvFilter;

/// The default when `KEYWAY_LOG` is unset.
pub const DEFAULT_DIRECTIVES: &str = "keyway=info,warn";

/// How log lines are written to stderr: the `log_format` setting of `keyway serve`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log collectors: `timestamp`, `level`, `target`, `fields`, `spans`.
    Json,
}

impl LogFormat {
    /// The spellings the setting accepts, for error messages.
    pub const ALLOWED: &str = "`text` or `json`";

    /// Parses `text` or `json` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// `directives` (`KEYWAY_LOG`'s syntax), with the Wasm compiler's crates capped at `info`: at
/// `trace` they write gigabytes per compiled plugin, and they only ever see Wasm code, never
/// requests or secrets. An invalid spec falls back to the default.
pub fn filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(DEFAULT_DIRECTIVES));
    for noisy in ["cranelift_codegen", "cranelift_frontend", "wasmtime_internal_cranelift", "regalloc2"] {
        filter = filter.add_directive(format!("{noisy}=info").parse().expect("a valid directive"));
    }
    filter
}

/// Installs the global subscriber: `KEYWAY_LOG` (or the default) as the filter, lines to stderr in `format`.
/// Called once, after the settings are resolved, since `log_format` is one of them.
pub fn init(format: LogFormat) {
    let directives = std::env::var("KEYWAY_LOG").unwrap_or_else(|_| DEFAULT_DIRECTIVES.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter(&directives)).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        // Flattened, so a line reads `{"timestamp":…,"level":"INFO","message":…,"listen":…,"target":…}`.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}
