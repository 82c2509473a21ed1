//! Shared by the build scripts that compile guest workspaces (the host's `plugins/`, the
//! tests' `tests/guests/`).

use std::env;
use std::path::Path;
use std::process::Command;

/// Runs `cargo build --release --target wasm32-wasip2` on a guest workspace.
pub fn build_guests(manifest: &Path, target: &Path) {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "--locked", "--target=wasm32-wasip2", "--workspace"])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target);
    // The host's flags (coverage, sanitizers) must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_LLVM_COV",
        "CARGO_LLVM_COV_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cannot run cargo for the guest build");
    assert!(
        status.success(),
        "building {} for wasm32-wasip2 failed; is the target installed? Run `rustup target add wasm32-wasip2`",
        manifest.display()
    );
}
