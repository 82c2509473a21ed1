//! `keyway plugin install|list|remove` (through a server's REST API), and the local commands an integration
//! author uses before installing: `new` (scaffold a plugin crate), `build` (compile it into a component and
//! check it loads), `inspect` (print a component's manifest) and `check` (the conformance kit: the whole flow
//! against the built-in mock provider, step by step). The local ones need no server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::client::{ApiClient, ClientArgs, Items};
use crate::conformance::{self, CheckOptions};
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::{Limits, LoadedPlugin, PluginEngine};

/// `keyway plugin …`
#[derive(clap::Args, Debug)]
pub struct PluginArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The plugin subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PluginCommand {
    /// Install a component on a running server (admin). It takes effect without a restart.
    Install {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The `.wasm` component `cargo build --release --target wasm32-wasip2` produced.
        file: PathBuf,
    },
    /// List installed plugin versions.
    List {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove an installed version, written `name@version` (refused while an integration uses it).
    Remove {
        /// The server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// `name@version`.
        spec: String,
    },
    /// Check a component and print its manifest, without a server.
    Inspect {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Scaffold a plugin crate that builds into a component and passes its own test.
    New {
        /// The plugin's name: lowercase letters, digits and dashes, starting with a letter (`my-app`).
        name: String,
        /// Where to create the crate (default: `./<name>`). Must not exist, or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The `keyway-sdk` crate to depend on (default: the `sdk/` of the source tree this binary was built
        /// from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build a plugin crate into a component (`cargo build --release --target wasm32-wasip2`) and check it loads.
    Build {
        /// The plugin crate's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Check a component, then run it through a whole connection against the built-in mock provider, step by
    /// step; exits non-zero if a step fails.
    Check {
        /// The `.wasm` component.
        file: PathBuf,
        /// The app the mock provider plays: standard, notion, github, slack, tiktok, instagram, zendesk or
        /// quirks.
        #[arg(long, default_value = "standard", value_parser = parse_provider)]
        provider: keyway_mock_provider::App,
        /// A connection input the plugin declares, `NAME=VALUE` (repeatable).
        #[arg(long = "input", value_parser = super::parse_key_value)]
        inputs: Vec<(String, String)>,
        /// A plugin setting, `NAME=JSON` (repeatable), e.g. `--setting 'notion_version="2025-09-03"'`.
        #[arg(long = "setting", value_parser = parse_setting)]
        settings: Vec<(String, serde_json::Value)>,
    },
}

/// Parses `--provider`: one of the mock provider's app modes, by the name [`conformance::MODES`] gives it.
fn parse_provider(name: &str) -> Result<keyway_mock_provider::App, String> {
    conformance::MODES.iter().find(|(mode, _)| *mode == name).map(|(_, app)| *app).ok_or_else(|| {
        let names: Vec<&str> = conformance::MODES.iter().map(|(mode, _)| *mode).collect();
        format!("`{name}` is not a provider mode; use one of {}", names.join(", "))
    })
}

/// Parses `NAME=JSON`.
fn parse_setting(text: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = super::parse_key_value(text)
        .map_err(|_| format!("`{text}` is not NAME=JSON; write e.g. `notion_version=\"2025-09-03\"`"))?;
    let value = serde_json::from_str(&value).map_err(|e| {
        format!("the value of `{name}` is not JSON ({e}); quote strings: `{name}='\"{value}\"'`, numbers and objects as they are")
    })?;
    Ok((name, value))
}

/// An installed version, as the API lists it.
#[derive(Debug, Deserialize)]
struct PluginSummary {
    name: String,
    version: String,
    hash: String,
    builtin: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    actions: Vec<String>,
}

/// Runs `keyway plugin …`.
pub async fn run(args: PluginArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        PluginCommand::Install { client, file } => {
            let bytes = read_component(&file)?;
            let client = ApiClient::new(&client)?;
            let installed: PluginSummary = client.post_wasm(&["plugins"], bytes).await?;
            writeln!(out, "installed {} {} ({})", installed.name, installed.version, &installed.hash[..12])?;
            writeln!(
                out,
                "integrations can use it as `{}` (newest) or `{}@{}`",
                installed.name, installed.name, installed.version
            )?;
        }
        PluginCommand::List { client } => {
            let client = ApiClient::new(&client)?;
            let listed: Items<PluginSummary> = client.get(&["plugins"]).await?;
            writeln!(out, "{:<24} {:<10} {:<14} {:<8} description", "name", "version", "hash", "actions")?;
            for p in listed.items {
                let origin = if p.builtin { " (built in)" } else { "" };
                writeln!(
                    out,
                    "{:<24} {:<10} {:<14} {:<8} {}{origin}",
                    p.name,
                    p.version,
                    &p.hash[..12],
                    p.actions.len(),
                    p.description
                )?;
            }
        }
        PluginCommand::Remove { client, spec } => {
            ApiClient::new(&client)?.delete(&["plugins", &spec]).await?;
            writeln!(out, "removed {spec}")?;
        }
        PluginCommand::Inspect { file } => {
            let bytes = read_component(&file)?;
            let engine = PluginEngine::new(Limits::default())?;
            let plugin = engine.load(&bytes, &EgressClient::new(EgressConfig::default())?).await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&plugin.manifest)?)?;
            writeln!(out, "plugin API {}, sha256 {}", plugin.api_version, plugin.hash)?;
        }
        PluginCommand::New { name, dir, sdk } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = match sdk {
                Some(sdk) => sdk,
                None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk")),
            };
            scaffold::create(&name, &dir, &sdk, out)?;
        }
        PluginCommand::Build { dir } => build(&dir, out).await?,
        PluginCommand::Check { file, provider, inputs, settings } => {
            let bytes = read_component(&file)?;
            let options = CheckOptions { app: provider, inputs, settings: settings.into_iter().collect() };
            writeln!(
                out,
                "keyway plugin check {}: the plugin API, then a whole connection against the {} mock provider\n",
                file.display(),
                conformance::mode_name(options.app)
            )?;
            let engine = Arc::new(PluginEngine::new(Limits::default())?);
            let report = conformance::check(engine, &bytes, &options).await;
            writeln!(out, "{report}")?;
            if let Some(failed) = report.failure() {
                bail!("the `{}` step failed: {}", failed.kind, failed.summary);
            }
        }
    }
    Ok(())
}

/// `keyway plugin build`: compiles the crate at `dir` for wasm32-wasip2 (cargo's output streams to stderr),
/// then loads the component as `inspect` does and prints where it is and what it declares.
async fn build(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let manifest_path = dir.join("Cargo.toml");
    if !manifest_path.is_file() {
        bail!(
            "{} has no Cargo.toml; pass the plugin crate's directory, or create one with `keyway plugin new <name>`",
            dir.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = cargo_target(&cargo, &manifest_path)?;
    check_wasm_target(dir)?;

    writeln!(out, "building {} for wasm32-wasip2 (cargo's output follows on stderr)", target.package)?;
    out.flush()?;
    let status = Command::new(&cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(&manifest_path)
        .stdin(Stdio::null())
        // Cargo's progress and errors go straight to the user's terminal, as they happen.
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run `{}`; is Rust installed (https://rustup.rs)?", cargo.to_string_lossy()))?;
    if !status.success() {
        bail!("`cargo build --release --target wasm32-wasip2` failed ({status}); its errors are above");
    }

    let wasm = target.directory.join("wasm32-wasip2/release").join(format!("{}.wasm", target.lib_name));
    let bytes = std::fs::read(&wasm)
        .with_context(|| format!("cargo succeeded but {} is missing; is the crate type `cdylib`?", wasm.display()))?;
    let engine = PluginEngine::new(Limits::default())?;
    let plugin = engine
        .load(&bytes, &EgressClient::new(EgressConfig::default())?)
        .await
        .with_context(|| format!("{} was built but is not a plugin this host accepts", wasm.display()))?;
    writeln!(out, "\nbuilt {}", wasm.display())?;
    writeln!(out, "  {} bytes ({:.1} KiB), sha256 {}", bytes.len(), bytes.len() as f64 / 1024.0, &plugin.hash[..12])?;
    write_summary(&plugin, out)?;
    writeln!(out, "\nnext: keyway plugin check {}", wasm.display())?;
    Ok(())
}

/// A loaded plugin's manifest in a few lines.
fn write_summary(plugin: &LoadedPlugin, out: &mut impl Write) -> std::io::Result<()> {
    let m = &plugin.manifest;
    let names = |items: Vec<&str>| if items.is_empty() { "none".to_string() } else { items.join(", ") };
    writeln!(out, "  {} {} (plugin API {}): {}", m.name, m.version, plugin.api_version, m.description)?;
    writeln!(out, "  hosts: {}", names(m.hosts.iter().map(String::as_str).collect()))?;
    writeln!(out, "  inputs: {}", names(m.inputs.iter().map(|i| i.name.as_str()).collect()))?;
    writeln!(out, "  settings: {}", names(m.settings.iter().map(|s| s.name.as_str()).collect()))?;
    writeln!(out, "  actions: {}", names(m.actions.iter().map(|a| a.name.as_str()).collect()))
}

/// Where cargo puts the crate's artifacts, as `cargo metadata` says (it honours `CARGO_TARGET_DIR` and cargo
/// config), and the names to find the component by.
struct CargoTarget {
    directory: PathBuf,
    package: String,
    /// The library target's name with dashes as underscores: the `.wasm` file's stem.
    lib_name: String,
}

fn cargo_target(cargo: &std::ffi::OsStr, manifest_path: &Path) -> anyhow::Result<CargoTarget> {
    #[derive(Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
        packages: Vec<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
        manifest_path: PathBuf,
        targets: Vec<Target>,
    }
    #[derive(Deserialize)]
    struct Target {
        name: String,
        crate_types: Vec<String>,
    }
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"])
        .arg(manifest_path)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`; is Rust installed (https://rustup.rs)?", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` cannot read {}: {}",
            manifest_path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout).context("reading `cargo metadata`'s answer")?;
    let wanted = manifest_path.canonicalize()?;
    let package = metadata
        .packages
        .into_iter()
        .find(|p| p.manifest_path.canonicalize().is_ok_and(|p| p == wanted))
        .with_context(|| {
            format!("{} declares no package; it must be the plugin crate itself", manifest_path.display())
        })?;
    let lib = package.targets.iter().find(|t| t.crate_types.iter().any(|c| c == "cdylib")).with_context(|| {
        format!(
            "package `{}` has no `cdylib` library, so it builds no component; add `[lib] crate-type = [\"cdylib\", \"rlib\"]`",
            package.name
        )
    })?;
    Ok(CargoTarget {
        directory: metadata.target_directory,
        lib_name: lib.name.replace('-', "_"),
        package: package.name,
    })
}

/// Fails with the fix when the toolchain the crate builds with (its `rust-toolchain.toml`, if any) lacks the
/// wasm32-wasip2 standard library.
fn check_wasm_target(dir: &Path) -> anyhow::Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`; is Rust installed (https://rustup.rs)?", rustc.to_string_lossy()))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || !libdir.is_dir() {
        bail!("the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2`, then build again");
    }
    Ok(())
}

fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}; build it with `cargo build --release --target wasm32-wasip2`",
            file.display()
        )
    })
}

/// `keyway plugin new`: a plugin crate that builds anywhere and passes its own test.
mod scaffold {
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
            return Err(format!(
                "`{name}` is reserved in Rust and cannot name a crate; choose another, e.g. `{name}-app`"
            ));
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
            std::fs::write(dir.join(path), text)
                .with_context(|| format!("cannot write {}", dir.join(path).display()))?;
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
        let canonical = sdk
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("the keyway SDK is not at {} ({e}); {fix}", sdk.display()))?;
        let manifest = std::fs::read_to_string(canonical.join("Cargo.toml")).unwrap_or_default();
        if !manifest.lines().any(|l| l.replace(' ', "") == "name=\"keyway-sdk\"") {
            bail!(
                "{} is not the keyway-sdk crate (its Cargo.toml does not name `keyway-sdk`); {fix}",
                canonical.display()
            );
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
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::scaffold::{type_name, validate_name};
    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: PluginCommand,
    }

    #[test]
    fn plugin_names_follow_the_manifest_rule_and_cargos() {
        for good in ["acme", "my-app", "app2", "a"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for bad in ["", "Acme", "my_app", "2fa", "x-", "a--b", "my app", "fn", "std", &"a".repeat(65)] {
            let error = validate_name(bad).expect_err(bad);
            assert!(error.contains("e.g."), "the error for `{bad}` must say what to type instead: {error}");
        }
    }

    #[test]
    fn the_plugin_type_never_shadows_the_prelude() {
        assert_eq!(type_name("my-app"), "MyApp");
        assert_eq!(type_name("acme"), "Acme");
        assert_eq!(type_name("plugin"), "PluginPlugin");
        assert_eq!(type_name("manifest"), "ManifestPlugin");
    }

    #[test]
    fn check_takes_a_provider_inputs_and_json_settings() {
        let cli = Cli::try_parse_from([
            "plugin",
            "check",
            "x.wasm",
            "--provider",
            "zendesk",
            "--input",
            "subdomain=acme",
            "--setting",
            "expires_in=3600",
            "--setting",
            r#"label="a b""#,
        ])
        .unwrap();
        let PluginCommand::Check { provider, inputs, settings, .. } = cli.command else { panic!("not check") };
        assert_eq!(provider, keyway_mock_provider::App::Zendesk);
        let error = Cli::try_parse_from(["plugin", "check", "x.wasm", "--provider", "hubspot"]).unwrap_err();
        assert!(error.to_string().contains("use one of standard, notion, github"), "{error}");
        assert_eq!(inputs, [("subdomain".to_string(), "acme".to_string())]);
        assert_eq!(
            settings,
            [("expires_in".into(), serde_json::json!(3600)), ("label".into(), serde_json::json!("a b"))]
        );

        let error = Cli::try_parse_from(["plugin", "check", "x.wasm", "--setting", "label=a b"]).unwrap_err();
        assert!(error.to_string().contains("quote strings"), "{error}");
        assert!(Cli::try_parse_from(["plugin", "check", "x.wasm", "--provider", "nope"]).is_err());
    }
}
