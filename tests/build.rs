//! Builds the guest components the tests drive (the real plugins in `plugins/` and the
//! test-only guests in `tests/guests/`) and embeds them in the `keyway-tests` library.
//! Test guests never reach the `keyway` binary.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "../host/build/guests.rs"]
mod guests;

/// (static name, wasm file stem, workspace)
const COMPONENTS: &[(&str, &str, &str)] = &[
    ("STANDARD_OAUTH2", "standard_oauth2", "plugins"),
    ("DECLARATIVE", "declarative", "plugins"),
    ("NOTION", "notion", "plugins"),
    ("GITHUB", "github", "plugins"),
    ("SLACK", "slack", "plugins"),
    ("TIKTOK", "tiktok", "plugins"),
    ("INSTAGRAM", "instagram", "plugins"),
    ("ZENDESK", "zendesk", "plugins"),
    ("QUIRKS", "quirks", "plugins"),
    ("ENTRA", "entra", "plugins"),
    ("ATLASSIAN", "atlassian", "plugins"),
    ("XERO", "xero", "plugins"),
    ("SHOPIFY", "shopify", "plugins"),
    ("TIKTOK_SHOP", "tiktok_shop", "plugins"),
    ("GUEST_LOOP", "guest_loop", "tests/guests"),
    ("GUEST_ALLOC", "guest_alloc", "tests/guests"),
    ("GUEST_RENAME", "guest_rename", "tests/guests"),
    ("GUEST_PROBE", "guest_probe", "tests/guests"),
    ("GUEST_WRONG_WORLD", "guest_wrong_world", "tests/guests"),
    ("GUEST_WRONG_SIGNATURE", "guest_wrong_signature", "tests/guests"),
    ("GUEST_TOKEN_HUNT", "guest_token_hunt", "tests/guests"),
    ("GUEST_EXFIL", "guest_exfil", "tests/guests"),
    ("GUEST_SIGNER", "guest_signer", "tests/guests"),
];

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf();
    let target =
        env::var_os("KEYWAY_GUEST_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target/wasm-guests"));
    println!("cargo::rerun-if-env-changed=KEYWAY_GUEST_TARGET_DIR");
    for dir in ["wit", "sdk/src", "sdk/Cargo.toml", "sdk/declarative", "plugins", "tests/guests"] {
        println!("cargo::rerun-if-changed={}", root.join(dir).display());
    }
    for workspace in ["plugins", "tests/guests"] {
        guests::build_guests(&root.join(workspace).join("Cargo.toml"), &target);
    }
    let mut code = String::new();
    for (name, stem, workspace) in COMPONENTS {
        let path = target.join("wasm32-wasip2/release").join(format!("{stem}.wasm"));
        assert!(path.exists(), "{} was not built from {workspace}/", path.display());
        writeln!(
            code,
            "/// `{stem}.wasm`, built from `{workspace}/`.\npub static {name}: &[u8] = include_bytes!({:?});",
            path.display().to_string()
        )
        .unwrap();
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("components.rs"), code).expect("write components.rs");
}
