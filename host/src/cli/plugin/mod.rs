//! `keyway plugin install|list|remove` (through a server's REST API), and the local commands an integration
//! author uses before installing: `new` (scaffold a plugin crate), `build` (compile it into a component and
//! check it loads), `inspect` (print a component's manifest) and `check` (the conformance kit: the whole flow
//! against the built-in mock provider or the author's own, step by step). The local ones need no server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::client::{ApiClient, ClientArgs};
use crate::conformance;
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::{Limits, LoadedPlugin, PluginEngine};
use crate::service::model::List;

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
    /// Check a component, then run it through a whole connection against the built-in mock provider, or your own
    /// provider with `--integration`, step by step; exits non-zero if a step fails.
    Check(Box<check::CheckArgs>),
}

/// Parses `--provider`: one of the mock provider's app modes, by the name [`conformance::MODES`] gives it.
pub(crate) fn parse_provider(name: &str) -> Result<keyway_mock_provider::App, String> {
    conformance::MODES.iter().find(|(mode, _)| *mode == name).map(|(_, app)| *app).ok_or_else(|| {
        let names: Vec<&str> = conformance::MODES.iter().map(|(mode, _)| *mode).collect();
        format!("`{name}` is not a provider mode; use one of {}", names.join(", "))
    })
}

/// Parses `NAME=JSON`.
pub(crate) fn parse_setting(text: &str) -> Result<(String, serde_json::Value), String> {
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
            let listed: List<PluginSummary> = client.get(&["plugins"]).await?;
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
        PluginCommand::Check(args) => check::run(*args, out).await?,
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

pub(crate) fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}; build it with `cargo build --release --target wasm32-wasip2`",
            file.display()
        )
    })
}

pub mod check;
mod scaffold;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use std::time::Duration;

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
    fn the_provider_help_names_every_mode() {
        use clap::CommandFactory as _;
        let mut command = Cli::command();
        let check = command.find_subcommand_mut("check").expect("a check subcommand");
        let provider = check.get_arguments().find(|a| a.get_id() == "provider").expect("--provider");
        let help = provider.get_help().expect("--provider has help").to_string().replace('\n', " ");
        for (mode, _) in crate::conformance::MODES {
            assert!(help.contains(mode), "`--provider`'s help does not name `{mode}`: {help}");
        }
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
        let PluginCommand::Check(args) = cli.command else { panic!("not check") };
        let check::CheckArgs { provider, inputs, settings, .. } = *args;
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

    #[test]
    fn the_flags_for_your_own_provider_need_an_integration_file() {
        for flags in [
            &["--redirect-uri", "http://127.0.0.1:9/oauth"][..],
            &["--api-call", "GET /me"],
            &["--allow-network", "127.0.0.1"],
            &["--resolve", "a.test=127.0.0.1"],
            &["--browser", "auto"],
            &["--wait", "1m"],
        ] {
            let error = Cli::try_parse_from([&["plugin", "check", "x.wasm"][..], flags].concat()).unwrap_err();
            assert!(error.to_string().contains("--integration"), "{flags:?}: {error}");
        }
        let error =
            Cli::try_parse_from(["plugin", "check", "x.wasm", "--integration", "i.toml", "--provider", "notion"]);
        assert!(error.unwrap_err().to_string().contains("cannot be used with"));
        let cli = Cli::try_parse_from([
            "plugin",
            "check",
            "x.wasm",
            "--integration",
            "i.toml",
            "--browser",
            "auto",
            "--show-headers",
            "--api-call",
            "GET /api/me",
        ])
        .unwrap();
        let PluginCommand::Check(args) = cli.command else { panic!("not check") };
        assert_eq!(
            (args.browser, args.show_headers, args.wait),
            (check::BrowserArg::Auto, true, Duration::from_secs(300))
        );
        assert_eq!(args.api_call.map(|c| c.path), Some("/api/me".into()));
    }
}
