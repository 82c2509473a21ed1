//! CLI companions: commands that call a running `keyway serve` over its REST API, and the plugin author's local
//! ones (`keyway plugin new|build|check`, `keyway mock-provider`), which need no server.
//!
//! They are thin on purpose. Every rule (validation, permissions, the OAuth flow) lives in
//! the server; these commands shape a request, send it with the caller's API key, and print
//! the answer, or the server's fix-it message when it refuses.
//!
//! The server is named by `--url`/`KEYWAY_URL` (default `http://127.0.0.1:8400`) and the key
//! by `--api-key`/`KEYWAY_API_KEY`. Arguments that name an integration, connection or key
//! take its id or its unique name.

pub mod action;
pub mod client;
pub mod connect;
pub mod integration;
pub mod keys;
pub mod mock_provider;
pub mod output;
pub mod plugin;
pub mod request;

use std::io::Write;

pub use client::{ApiClient, ApiError, ClientArgs, SecretArg};

/// The companion commands, meant to be flattened into the `keyway` command's subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Register and list integrations (the app's OAuth2 settings).
    Integration(integration::IntegrationArgs),
    /// Add a connection to an integration: prints the authorize URL and waits for the callback.
    Connect(connect::ConnectArgs),
    /// Call the app's Web API through a connection; the server attaches the token.
    Request(request::RequestArgs),
    /// Create, list and revoke API keys (admin).
    Keys(keys::KeysArgs),
    /// Install, list, remove and inspect plugin components.
    Plugin(plugin::PluginArgs),
    /// List, run, save and delete custom actions (composite Web API calls).
    Action(action::ActionArgs),
    /// Run one of the built-in mock provider's app modes on loopback until Ctrl-C, and print an integration
    /// file for it: `keyway plugin check --integration` and a local `keyway serve` can use it like a real app.
    MockProvider(mock_provider::MockProviderArgs),
}

/// Runs one companion command against the server it names, writing its output to `out`.
/// Progress (the connect command's wait) goes to `out` too, flushed as it happens.
pub async fn run(command: Command, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        Command::Integration(args) => integration::run(args, out).await,
        Command::Connect(args) => connect::run(args, out).await,
        Command::Request(args) => request::run(args, out).await,
        Command::Keys(args) => keys::run(args, out).await,
        Command::Plugin(args) => plugin::run(args, out).await,
        Command::Action(args) => action::run(args, out).await,
        Command::MockProvider(args) => mock_provider::run(args, out).await,
    }
}

/// Parses `KEY=VALUE` (split at the first `=`; the key must not be empty).
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE; write e.g. `subdomain=acme`")),
    }
}

/// Writes rows under a header, columns padded to their widest cell.
pub(crate) fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A cell for an optional value: the value, or `-`.
pub(crate) fn cell(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[test]
    fn key_value_splits_at_the_first_equals_sign() {
        assert_eq!(parse_key_value("subdomain=acme"), Ok(("subdomain".into(), "acme".into())));
        assert_eq!(parse_key_value("filter=a=b"), Ok(("filter".into(), "a=b".into())));
        assert_eq!(parse_key_value("empty="), Ok(("empty".into(), String::new())));
        assert_eq!(parse_key_value("=acme"), Err("`=acme` is not KEY=VALUE; write e.g. `subdomain=acme`".into()));
        assert!(parse_key_value("subdomain").is_err());
    }

    #[test]
    fn tables_align_columns() {
        let mut out = Vec::new();
        let rows = vec![vec!["int_1".into(), "github".into()], vec!["int_22".into(), "x".into()]];
        write_table(&mut out, &["id", "name"], &rows).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ID      NAME\nint_1   github\nint_22  x\n");
    }

    #[test]
    fn client_flags_are_accepted_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from(["keyway", "keys", "--url", "http://k:1", "list", "--api-key", "kw_secret"]);
        let Command::Keys(keys) = cli.unwrap().command else { panic!("not keys") };
        assert_eq!(keys.client.url, "http://k:1");
        assert_eq!(keys.client.api_key.as_ref().map(SecretArg::secret), Some("kw_secret"));
        assert!(!format!("{keys:?}").contains("kw_secret"), "Debug must not show the API key");

        let cli = Cli::try_parse_from(["keyway", "integration", "list", "--url", "http://k:2"]).unwrap();
        let Command::Integration(integration) = cli.command else { panic!("not integration") };
        assert_eq!(integration.client.url, "http://k:2");
    }
}
