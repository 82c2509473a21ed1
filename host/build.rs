//! Builds the plugin components in `plugins/` for wasm32-wasip2 and copies the embedded one
//! into OUT_DIR. The nested cargo uses a target directory of its own: sharing the outer one
//! deadlocks on its lock in release builds.

use std::env;
use std::path::PathBuf;

#[path = "build/guests.rs"]
mod guests;

/// Components the host embeds.
const EMBEDDED: &[&str] = &["standard_oauth2", "declarative"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.parent().expect("host/ is inside the workspace");
    let plugins = root.join("plugins");
    let target =
        env::var_os("KEYWAY_GUEST_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target/wasm-guests"));

    println!("cargo::rerun-if-env-changed=KEYWAY_GUEST_TARGET_DIR");
    println!("cargo::rerun-if-changed={}", root.join("wit").display());
    println!("cargo::rerun-if-changed={}", root.join("sdk/src").display());
    println!("cargo::rerun-if-changed={}", root.join("sdk/Cargo.toml").display());
    // The declarative runner is compiled into the embedded `declarative` component.
    println!("cargo::rerun-if-changed={}", root.join("sdk/declarative").display());
    println!("cargo::rerun-if-changed={}", plugins.display());

    guests::build_guests(&plugins.join("Cargo.toml"), &target);
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for name in EMBEDDED {
        let built = target.join("wasm32-wasip2/release").join(format!("{name}.wasm"));
        std::fs::copy(&built, out.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
    }
}
