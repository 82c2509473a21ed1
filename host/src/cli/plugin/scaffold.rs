//! `keyway plugin new`: a plugin crate that builds anywhere and passes its own test.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Rust keywords and the standard crates: a package can be named neither.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "alloc",
    "core",
    "std",
    "test",
    "proc-macro",
];

/// The names `keyway_sdk::prelude::*` brings in, which the plugin's type must not shadow.
const PRELUDE: &[&str] = &[
    "ActionContext",
    "ActionError",
    "ApiRequest",
    "AuthError",
    "AuthPlacement",
    "AuthorizeRequest",
    "CallbackResult",
    "Expiry",
    "Grant",
    "HookContext",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "Manifest",
    "Plugin",
    "ProviderError",
    "RevokeTarget",
    "TokenSet",
];

/// Checks a plugin name: the manifest's rule (1-64 lowercase letters, digits and dashes), plus what a cargo
/// package name needs (a leading letter, no keyword). The error says what to type instead.
pub(super) fn validate_name(name: &str) -> Result<(), String> {
    let rule = "use 1-64 lowercase letters, digits and dashes, starting with a letter, e.g. `my-app`";
    if name.is_empty() || name.len() > 64 {
        return Err(format!("the plugin name `{name}` must be 1-64 characters; {rule}"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("the plugin name `{name}` contains `{bad}`; {rule}"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') || name.contains("--") {
        return Err(format!("the plugin name `{name}` must start with a letter and not end with a dash; {rule}"));
    }
    if RESERVED.contains(&name) {
        return Err(format!("`{name}` is reserved in Rust and cannot name a crate; choose another, e.g. `{name}-app`"));
    }
    Ok(())
}

/// `my-app` -> `MyApp`, or `MyAppPlugin` when that would shadow a prelude name.
pub(super) fn type_name(name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    if PRELUDE.contains(&camel.as_str()) { format!("{camel}Plugin") } else { camel }
}

/// Writes the crate into `dir` and prints what to do next.
pub(super) fn create(name: &str, dir: &Path, sdk: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    validate_name(name).map_err(anyhow::Error::msg)?;
    let sdk = sdk_dir(sdk)?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("{} exists and is not a directory; choose another --dir", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} already exists and is not empty; nothing was written. Choose another --dir, or remove it",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("cannot create {}", dir.display()))?;

    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("src/lib.rs", lib_rs(name)),
        ("README.md", readme(name)),
        (".gitignore", "/target\n".to_string()),
    ];
    for (path, text) in &files {
        std::fs::write(dir.join(path), text).with_context(|| format!("cannot write {}", dir.join(path).display()))?;
    }
    // Start from the dependency versions the SDK's own plugins build with: the first build then needs no
    // registry look-ups, and reuses what is already compiled. Cargo drops the entries this crate does not use.
    let tested_lock = sdk.join("../plugins/Cargo.lock");
    let seeded = tested_lock.is_file() && std::fs::copy(&tested_lock, dir.join("Cargo.lock")).is_ok();

    writeln!(out, "created plugin `{name}` in {}", dir.display())?;
    for (path, _) in &files {
        writeln!(out, "  {path}")?;
    }
    if seeded {
        writeln!(out, "  Cargo.lock (the versions keyway's own plugins build with)")?;
    }
    writeln!(out, "  keyway-sdk from {}", sdk.display())?;
    let dir = dir.display();
    writeln!(out, "\nnext steps:")?;
    let steps = [
        (format!("edit {dir}/src/lib.rs"), "override only the hooks your app does differently"),
        (format!("cargo test --manifest-path {dir}/Cargo.toml"), "the crate's own tests, natively"),
        (format!("keyway plugin build {dir}"), "the component, checked; prints its path"),
        ("keyway plugin check <the .wasm>".to_string(), "the whole flow against a mock provider"),
        ("keyway plugin install <the .wasm>".to_string(), "on a running server"),
    ];
    let width = steps.iter().map(|(command, _)| command.len()).max().unwrap_or(0);
    for (n, (command, why)) in steps.iter().enumerate() {
        writeln!(out, "  {}. {command:<width$}  # {why}", n + 1)?;
    }
    Ok(())
}

/// The SDK crate directory, canonical, or an error that says how to point at one.
fn sdk_dir(sdk: &Path) -> anyhow::Result<PathBuf> {
    let fix = "pass --sdk <path to the `sdk/` directory of a keyway source tree>";
    let canonical =
        sdk.canonicalize().map_err(|e| anyhow::anyhow!("the keyway SDK is not at {} ({e}); {fix}", sdk.display()))?;
    let manifest = std::fs::read_to_string(canonical.join("Cargo.toml")).unwrap_or_default();
    if !manifest.lines().any(|l| l.replace(' ', "") == "name=\"keyway-sdk\"") {
        bail!("{} is not the keyway-sdk crate (its Cargo.toml does not name `keyway-sdk`); {fix}", canonical.display());
    }
    Ok(canonical)
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    // A TOML basic string: the path's backslashes and quotes escaped.
    let sdk = sdk.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "{name}: a Keyway plugin"
publish = false

[lib]
# `cdylib` is the WebAssembly component; `rlib` lets tests and other crates link the plugin natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
keyway-sdk = {{ path = "{sdk}" }}

# A workspace of its own, so the crate builds wherever it lives, even inside another cargo workspace.
[workspace]

# Small components: about 200 KB.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
debug = false
panic = "abort"
strip = "symbols"
"#
    )
}

fn lib_rs(name: &str) -> String {
    let ty = type_name(name);
    format!(
        r#"//! {name}: a Keyway plugin. Every hook of [`Plugin`] defaults to the standard OAuth2 flow
//! (`keyway_sdk::standard`); override only what the app does differently, and call the standard function
//! from an override to adjust its result. See the keyway-sdk README for every hook and helper.

use keyway_sdk::prelude::*;

/// The plugin. The host creates it with `Default` for every hook call, so it keeps no state.
#[derive(Default)]
// Only the wasm32 build exports it (below); a native build uses it in tests alone.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
struct {ty};

impl Plugin for {ty} {{
    // A starting point: an app that wants `prompt=consent` on the authorize URL. Uncomment, adapt, and
    // extend the test below to match.
    //
    // fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {{
    //     let url = standard::authorize_url(ctx, req)?;
    //     Ok(keyway_sdk::url::append_query(&url, &[("prompt", "consent")]))
    // }}
}}

// The component's exports exist only in the wasm32 build: a native linker refuses export names such as
// `keyway:plugin/auth-flow@0.1.0#authorize-url`, and native builds are for tests.
#[cfg(target_family = "wasm")]
keyway_sdk::export!({ty});

#[cfg(test)]
mod tests {{
    use keyway_sdk::{{AuthMethod, ClientAuth, CodeGrant, Integration}};

    use super::*;

    const REDIRECT_URI: &str = "https://keyway.example.com/oauth";

    /// What the host passes a hook: the integration as the admin registered it, and the connection.
    fn context() -> HookContext {{
        HookContext {{
            integration: Integration {{
                auth_method: AuthMethod::Oauth2,
                client_id: "client-1".into(),
                client_secret: "secret-1".into(),
                site: "https://app.example.com".into(),
                authorization_url: "https://app.example.com/oauth/authorize".into(),
                token_path: "/oauth/token".into(),
                revoke_path: None,
                scopes: vec!["read".into(), "write".into()],
                client_auth: ClientAuth::Basic,
                pkce: false,
                settings: "{{}}".into(),
            }},
            inputs: vec![],
            metadata: vec![],
        }}
    }}

    fn param(url: &str, name: &str) -> Option<String> {{
        let query = url.split_once('?')?.1;
        keyway_sdk::form::parse(query.as_bytes()).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }}

    #[test]
    fn the_authorize_url_asks_the_app_for_a_code() {{
        let request = AuthorizeRequest {{ redirect_uri: REDIRECT_URI.into(), state: "state-1".into(), code_challenge: None }};
        let url = {ty}.authorize_url(&context(), &request).expect("an authorize URL");
        assert!(url.starts_with("https://app.example.com/oauth/authorize?"), "{{url}}");
        assert_eq!(param(&url, "response_type").as_deref(), Some("code"), "{{url}}");
        assert_eq!(param(&url, "client_id").as_deref(), Some("client-1"), "{{url}}");
        assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT_URI), "{{url}}");
        assert_eq!(param(&url, "state").as_deref(), Some("state-1"), "{{url}}");
        assert_eq!(param(&url, "scope").as_deref(), Some("read write"), "{{url}}");
    }}

    #[test]
    fn the_token_request_exchanges_the_code_at_the_token_path() {{
        let grant = Grant::AuthorizationCode(CodeGrant {{
            code: "code-1".into(),
            redirect_uri: REDIRECT_URI.into(),
            code_verifier: None,
        }});
        let request = {ty}.token_request(&context(), &grant).expect("a token request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://app.example.com/oauth/token");
        let body = request.body.as_deref().expect("a body");
        let form = keyway_sdk::form::parse(body);
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(field("grant_type"), Some("authorization_code"));
        assert_eq!(field("code"), Some("code-1"));
        assert_eq!(field("redirect_uri"), Some(REDIRECT_URI));
    }}
}}
"#
    )
}

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

A Keyway plugin: a WebAssembly component that tells Keyway how this app speaks
OAuth2. `src/lib.rs` implements `keyway_sdk::Plugin`; every hook defaults to the standard flow, so override
only what the app does differently.

```sh
cargo test                                   # the crate's own tests, natively
keyway plugin build .                        # cargo build --release --target wasm32-wasip2, then a load check
keyway plugin check target/wasm32-wasip2/release/{lib}.wasm               # the flow against a mock provider
keyway plugin check target/wasm32-wasip2/release/{lib}.wasm --provider notion
keyway plugin install target/wasm32-wasip2/release/{lib}.wasm             # on a running server
```

`keyway plugin build` prints the component's path (it follows `CARGO_TARGET_DIR`). Building needs the
wasm32-wasip2 target: `rustup target add wasm32-wasip2`.
"#,
        lib = name.replace('-', "_")
    )
}
