//! `keyway mock-provider --mode NAME`: one of the built-in mock provider's app modes as a process of its own, so
//! that an author (or a script) can run `keyway plugin check --integration` against it, or point a local
//! `keyway serve` at it. It prints where it is and an integration file for it, then serves until Ctrl-C.
//!
//! The mock is strict but approves every authorization at once, as a consenting user would: its authorize
//! endpoint redirects straight back with a code, in a real browser too. Its client secret is a published test
//! value, so it listens on loopback only.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use keyway_mock_provider::{App, MockProvider};

use super::integration::{CheckTable, integration_toml};
use super::plugin::check::api_call_text;
use crate::conformance::{self, Scenario};
use crate::egress::EgressConfig;

/// `keyway mock-provider …`
#[derive(clap::Args, Debug)]
pub struct MockProviderArgs {
    /// The app to play: standard, notion, github, slack, tiktok, instagram, zendesk, quirks, entra, atlassian,
    /// xero, shopify or tiktok-shop.
    #[arg(long, value_parser = super::plugin::parse_provider)]
    pub mode: App,
    /// Where to listen; loopback only [default: 127.0.0.1 on a free port].
    #[arg(long, value_name = "ADDR", default_value_t = SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))]
    pub listen: SocketAddr,
    /// Also write the integration file to FILE (before "serving" is printed), for scripts.
    #[arg(long, value_name = "FILE")]
    pub write_integration: Option<PathBuf>,
    /// The redirect URI registered with the app: the only one the mock then accepts, and where apps that take it
    /// from the registration (TikTok Shop) send the browser back. The integration file names it for the check
    /// [default: any for most modes; `http://127.0.0.1:8400/oauth` for TikTok Shop].
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,
}

/// Runs the mock until Ctrl-C (or SIGTERM).
pub async fn run(args: MockProviderArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "the mock provider approves everyone and its client secret is published, so it listens on loopback \
             only; use e.g. `--listen 127.0.0.1:{}`",
            args.listen.port()
        );
    }
    let mut config = conformance::mock_config(args.mode);
    if let Some(uri) = &args.redirect_uri {
        config.redirect_uris = vec![uri.clone()];
    }
    let registered = config.redirect_uris.first().cloned();
    let provider = MockProvider::start_on(args.listen, config)
        .await
        .with_context(|| format!("the mock provider cannot listen on {}", args.listen))?;
    let mode = conformance::mode_name(args.mode);
    let scenario = conformance::scenario(args.mode, &provider);
    let toml = integration_file(args.mode, &scenario, registered)?;
    if let Some(path) = &args.write_integration {
        std::fs::write(path, &toml).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let integration = &scenario.integration;
    writeln!(out, "keyway mock-provider: the {mode} mode, {}\n", scenario.description)?;
    let rows = [
        ("base URL", provider.base_url()),
        ("authorization URL", integration.authorization_url.clone()),
        ("token URL", format!("{}{}", integration.site, integration.token_path)),
        (
            "revoke URL",
            integration.revoke_path.as_ref().map_or("(none)".into(), |path| format!("{}{path}", integration.site)),
        ),
        ("client", format!("{} (the secret is in the file below; a test value)", integration.client_id)),
        ("API call", api_call_text(&scenario.api_call)),
    ];
    for (name, value) in rows {
        writeln!(out, "  {name:<18} {value}")?;
    }
    if !scenario.egress.resolve.is_empty() {
        let inputs: Vec<String> = scenario.default_inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(
            out,
            "\n  The accounts are host names under the site ({}): the check below pins them to the mock; a real \
             browser needs them in /etc/hosts, e.g. `127.0.0.1 acme.{}`.",
            inputs.join(", "),
            integration.site.trim_start_matches("http://").split(':').next().unwrap_or_default()
        )?;
    }
    let file = args.write_integration.as_ref().map_or("FILE.toml".into(), |p| p.display().to_string());
    writeln!(
        out,
        "\nThe integration file (`keyway plugin check --integration`, `keyway integration create --file`):\n"
    )?;
    writeln!(out, "{toml}")?;
    writeln!(out, "Check a plugin against it; the mock approves at once, so `--browser auto` can play the browser:\n")?;
    writeln!(
        out,
        "  keyway plugin check PLUGIN.wasm --integration {file} {} --browser auto\n",
        egress_flags(&scenario.egress).join(" ")
    )?;
    writeln!(out, "serving at {} until Ctrl-C", provider.base_url())?;
    out.flush()?;

    crate::serve::shutdown_signal().await;
    provider.shutdown().await;
    Ok(())
}

/// The file for the mode's integration: the plugin written for the mode, its inputs, and its API call.
fn integration_file(app: App, scenario: &Scenario, redirect_uri: Option<String>) -> anyhow::Result<String> {
    let mut integration = scenario.integration.clone();
    integration.name = format!("{}-mock", conformance::mode_name(app));
    integration.plugin = conformance::plugin_for(app).into();
    let check = CheckTable { api_call: Some(api_call_text(&scenario.api_call)), redirect_uri };
    integration_toml(&integration, &scenario.default_inputs, &check).map_err(anyhow::Error::msg)
}

/// The `keyway plugin check` flags that open the production policy for this mock, and nothing more.
fn egress_flags(egress: &EgressConfig) -> Vec<String> {
    let mut flags: Vec<String> = egress.allowed_networks.iter().map(|net| format!("--allow-network {net}")).collect();
    flags.extend(egress.resolve.iter().map(|rule| format!("--resolve '{}={}'", rule.host, rule.ip)));
    flags.extend(egress.insecure_http_hosts.iter().map(|host| format!("--insecure-http-host '{host}'")));
    flags
}
