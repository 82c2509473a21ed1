//! `keyway plugin install|list|remove` (through a server's REST API) and `keyway plugin
//! inspect` (local: reads a component's manifest in the sandbox, no server needed).

use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;

use super::client::{ApiClient, ClientArgs, Items};
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::{Limits, PluginEngine};

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
    }
    Ok(())
}

fn read_component(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}; build it with `cargo build --release --target wasm32-wasip2`",
            file.display()
        )
    })
}
