//! `keyway demo`: one full connection against the strict mock provider, in one process.
//!
//! It plays the user's browser itself (following the authorize URL and reading the
//! redirect), so it needs no network beyond loopback and no input. Every request is printed
//! redacted, and the run fails at the first step that does not succeed.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use keyway_mock_provider::{MockConfig, MockProvider};

use crate::builtin::STANDARD_OAUTH2_WASM;
use crate::connection::ConnectionState;
use crate::egress::{EgressClient, EgressConfig};
use crate::engine::{Limits, PluginEngine};
use crate::flows::{ApiCall, Flows};
use crate::integration::{ClientAuth, IntegrationConfig};
use crate::trace::{Redactor, TraceEntry};

/// The demo's redirect URI. Nothing listens there: the demo reads the provider's redirect
/// itself, as a browser would before loading the page.
const REDIRECT_BASE: &str = "http://127.0.0.1:8400";

/// Runs the demo, printing to `out`. Fails at the first step that does not succeed.
pub async fn run(out: &mut impl Write) -> anyhow::Result<()> {
    let mut step = Steps { out, n: 0 };
    writeln!(step.out, "keyway demo: the help article's standard OAuth2 flow, against a strict mock provider\n")?;

    step.begin("Start the strict mock provider")?;
    let provider = MockProvider::start(MockConfig::default()).await.context("starting the mock provider")?;
    let config = provider.config();
    step.ok(&format!("listening at {}", provider.base_url()))?;

    step.begin("Load the built-in standard-oauth2 component")?;
    let started = Instant::now();
    let engine = Arc::new(PluginEngine::new(Limits::default())?);
    let egress = EgressClient::new(EgressConfig::default())?;
    let plugin = engine.load(STANDARD_OAUTH2_WASM, &egress).await?;
    step.ok(&format!(
        "{} {} (plugin API {}), {} KiB, compiled in {} ms",
        plugin.manifest.name,
        plugin.manifest.version,
        plugin.api_version,
        STANDARD_OAUTH2_WASM.len() / 1024,
        started.elapsed().as_millis()
    ))?;

    step.begin("Register the integration (the article's form)")?;
    let mut integration = IntegrationConfig::oauth2(
        "mock-app",
        &config.client_id,
        &config.client_secret,
        &provider.base_url(),
        &provider.authorization_url(),
        MockProvider::TOKEN_PATH,
    );
    integration.revoke_path = Some(MockProvider::REVOKE_PATH.into());
    integration.scopes = vec!["read".into(), "write".into()];
    integration.client_auth = ClientAuth::Basic;
    integration.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    step.ok(&format!(
        "site {}, token path {}, revoke path {}, scopes {:?}, PKCE on",
        integration.site,
        integration.token_path,
        MockProvider::REVOKE_PATH,
        integration.scopes
    ))?;

    let flows = Flows::new(engine, egress, format!("{REDIRECT_BASE}/oauth"), Duration::from_secs(600));
    let mut conn = ConnectionState { id: "demo-connection".into(), ..Default::default() };

    step.begin("Authorize: the plugin formats the first request")?;
    let pending = flows.begin(&plugin, &integration, &conn).await?;
    let mut redactor = Redactor::default();
    redactor.add(pending.state.secret());
    writeln!(step.out, "    GET {}", redactor.scrub(&pending.authorize_url))?;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let answer = browser.get(&pending.authorize_url).send().await.context("following the authorize URL")?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .with_context(|| format!("the provider answered {} without a redirect", answer.status()))?;
    let callback = url::Url::parse(&location)?;
    let query: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    for (k, v) in &query {
        if k == "code" {
            redactor.add(v);
        }
    }
    step.ok(&format!("{} redirected the browser to {}", answer.status().as_u16(), redactor.scrub(&location)))?;

    step.begin("Callback and token exchange: the plugin formats the second request")?;
    let returned_state = query.iter().find(|(k, _)| k == "state").map(|(_, v)| v.as_str());
    ensure!(returned_state == Some(pending.state.secret()), "the callback's state does not match the one sent");
    let mut trace = Vec::new();
    let tokens = flows.complete(&plugin, &integration, &mut conn, &pending, query, &mut trace).await;
    step.trace(&trace)?;
    let tokens = tokens?;
    step.ok(&format!(
        "access token [redacted], {}, refresh token {}",
        tokens.expires_at.map_or("no expiry".to_string(), |at| format!("expires at Unix time {at}")),
        if tokens.refresh_token.is_some() { "kept" } else { "absent" }
    ))?;

    step.begin("Web API call through the connection")?;
    let mut trace = Vec::new();
    let me = ApiCall { method: "GET".into(), path: "/api/me".into(), ..Default::default() };
    let response = flows.api_request(&plugin, &integration, &conn, me.clone(), &mut trace).await;
    step.trace(&trace)?;
    let response = response?;
    ensure!(response.status == 200, "the API answered {}", response.status);
    step.ok(&format!("200: {}", String::from_utf8_lossy(&response.body)))?;

    step.begin("Refresh (RFC 6749 §6)")?;
    let mut trace = Vec::new();
    let old_access = tokens.access_token.clone();
    let refreshed = flows.refresh(&plugin, &integration, &mut conn, &mut trace).await;
    step.trace(&trace)?;
    let refreshed = refreshed?;
    ensure!(refreshed.access_token != old_access, "the refresh returned the same access token");
    step.ok("a new access token; the refresh token is kept")?;

    step.begin("Revoke (RFC 7009)")?;
    let mut trace = Vec::new();
    let revoked = flows.revoke(&plugin, &integration, &conn, &mut trace).await;
    step.trace(&trace)?;
    ensure!(revoked?, "the plugin produced no revoke request");
    let mut trace = Vec::new();
    let after = flows.api_request(&plugin, &integration, &conn, me, &mut trace).await?;
    if after.status != 401 {
        bail!("after revocation the API still answered {}", after.status);
    }
    step.ok("revoked; the API now answers 401 for the old token")?;

    provider.shutdown().await;
    writeln!(step.out, "All {} steps succeeded.", step.n)?;
    Ok(())
}

/// Numbered step output.
struct Steps<'a, W: Write> {
    out: &'a mut W,
    n: usize,
}

impl<W: Write> Steps<'_, W> {
    fn begin(&mut self, title: &str) -> std::io::Result<()> {
        self.n += 1;
        writeln!(self.out, "[{}] {title}", self.n)
    }

    fn ok(&mut self, outcome: &str) -> std::io::Result<()> {
        writeln!(self.out, "    ok: {outcome}\n")
    }

    fn trace(&mut self, entries: &[TraceEntry]) -> std::io::Result<()> {
        for entry in entries {
            for line in entry.to_string().lines() {
                writeln!(self.out, "    {line}")?;
            }
        }
        Ok(())
    }
}
