//! The log filter every `keyway` command installs.

use tracing_subscriber::EnvFilter;

/// The default when `KEYWAY_LOG` is unset.
pub const DEFAULT_DIRECTIVES: &str = "keyway=info,warn";

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
