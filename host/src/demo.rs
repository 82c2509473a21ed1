//! `keyway demo`: one full connection and one composite custom action through the REST API
//! of an in-process `keyway serve` on the embedded SQLite default, against the strict mock
//! provider.
//!
//! It plays the user's browser itself (following the authorize URL to the provider and the
//! provider's redirect back to `/oauth`), so it needs no network beyond loopback and no
//! input. Each request is printed as the provider received it, secrets masked, and the run
//! fails at the first step that does not succeed.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use keyway_mock_provider::{MockConfig, MockProvider, RecordedRequest};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::config::{ServeArgs, Settings};
use crate::crypto::MasterKey;
use crate::egress::OutboundRequest;
use crate::keys::ApiKey;
use crate::serve::{Bootstrap, assemble};
use crate::server::{AppState, app};
use crate::trace::{Redactor, TraceEntry};

/// `keyway demo`'s options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DemoArgs {
    /// After the steps, keep serving (and the mock provider running) so the admin console can be
    /// opened at `http://<listen>/ui`; Ctrl-C ends it.
    #[arg(long)]
    pub console: bool,
    /// Where the server listens with `--console` (default 127.0.0.1:8400); without it, a free port.
    #[arg(long, value_name = "ADDR", requires = "console")]
    pub listen: Option<std::net::SocketAddr>,
}

/// Where `--console` serves unless `--listen` says otherwise: `keyway serve`'s default.
const CONSOLE_LISTEN: &str = "127.0.0.1:8400";

/// Runs the demo, printing to `out`. Fails at the first step that does not succeed.
pub async fn run(out: &mut impl Write, args: DemoArgs) -> anyhow::Result<()> {
    let mut step = Steps { out, n: 0 };
    writeln!(step.out, "keyway demo: a full OAuth2 connection through the REST API, against a strict mock provider\n")?;

    step.begin("Start the strict mock provider")?;
    let provider = MockProvider::start(MockConfig::default()).await.context("starting the mock provider")?;
    let config = provider.config();
    step.ok(&format!("listening at {}", provider.base_url()))?;

    step.begin("Start keyway serve on the embedded SQLite default")?;
    let data_dir = tempfile::Builder::new().prefix("keyway-demo-").tempdir()?;
    let listen = match (args.console, args.listen) {
        (_, Some(addr)) => addr.to_string(),
        (true, None) => CONSOLE_LISTEN.to_string(),
        (false, None) => "127.0.0.1:0".to_string(),
    };
    let listener = TcpListener::bind(&listen).await.with_context(|| {
        format!("cannot listen on {listen}; if another keyway is using it, pass `--listen 127.0.0.1:<another port>`")
    })?;
    let server_url = format!("http://{}", listener.local_addr()?);
    let settings = Settings::load(&ServeArgs {
        public_url: Some(server_url.clone()),
        data_dir: Some(data_dir.path().to_path_buf()),
        // The production egress policy, opened for exactly the mock provider's address.
        allowed_networks: vec![provider.local_addr().ip().to_string()],
        ..Default::default()
    })?;
    let admin = ApiKey::generate();
    let running =
        assemble(&settings, Bootstrap { master_key: Some(MasterKey::generate()), admin_key: Some(admin.clone()) })
            .await?;
    let server = tokio::spawn(axum::serve(listener, app(AppState { service: running.service })).into_future());
    step.ok(&format!(
        "{server_url}, database {}, redirect URI {}",
        data_dir.path().join("keyway.db").display(),
        settings.redirect_uri()
    ))?;

    let api = Api {
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?,
        base: server_url.clone(),
        key: admin.clone(),
    };
    let mut redactor = Redactor::default();
    redactor.add(&config.client_secret);

    step.begin("Register the integration: POST /api/v1/integrations (the article's form)")?;
    let integration = api
        .send(
            "POST",
            "/api/v1/integrations",
            Some(json!({
                "name": "Mock App",
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "site": provider.base_url(),
                "authorization_url": provider.authorization_url(),
                "token_path": MockProvider::TOKEN_PATH,
                "revoke_path": MockProvider::REVOKE_PATH,
                "scopes": "read\nwrite",
            })),
            201,
        )
        .await?;
    ensure!(integration.get("client_secret").is_none(), "the API returned the client secret");
    let integration_id = text(&integration, "id")?;
    step.ok(&format!(
        "{integration_id}: plugin {}, client auth {}, scopes {}",
        text(&integration, "plugin")?,
        text(&integration, "client_auth")?,
        integration["scopes"]
    ))?;

    step.begin("Add a connection: the standard component formats the first request")?;
    let created = api
        .send("POST", &format!("/api/v1/integrations/{integration_id}/connections"), Some(json!({"name": "demo"})), 201)
        .await?;
    let connection_id = text(&created, "id")?;
    let authorize_url = text(&created, "authorize_url")?;
    let state = url::Url::parse(&authorize_url)?
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .context("the authorize URL has no state")?;
    redactor.add(&state);
    writeln!(step.out, "    GET {}", redactor.scrub(&authorize_url))?;
    step.ok(&format!("{connection_id} is {}", text(&created, "status")?))?;

    step.begin("Authorize in the browser, then the callback: the component formats the token request")?;
    let answer = api.http.get(&authorize_url).send().await.context("following the authorize URL")?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .with_context(|| format!("the provider answered {} without a redirect", answer.status()))?;
    for (k, v) in url::Url::parse(&location)?.query_pairs() {
        if k == "code" {
            redactor.add(&v);
        }
    }
    writeln!(step.out, "    the provider redirects the browser to {}", redactor.scrub(&location))?;
    let page = api.http.get(&location).send().await.context("delivering the callback")?;
    let page_status = page.status();
    let page_text = page.text().await?;
    ensure!(page_status == 200 && page_text.contains("Connected"), "the callback page says: {page_text}");
    step.wire(&provider, MockProvider::TOKEN_PATH, &redactor)?;
    let connection = api.send("GET", &format!("/api/v1/connections/{connection_id}"), None, 200).await?;
    ensure!(connection["status"] == "active", "the connection is {}", connection["status"]);
    step.ok(&format!("the connection is active; the token expires at {}", connection["expires_at"]))?;

    step.begin("Web API call: POST /api/v1/connections/{id}/request, the host attaches the token")?;
    provider.clear_requests();
    let response = api
        .send(
            "POST",
            &format!("/api/v1/connections/{connection_id}/request"),
            Some(json!({"method": "GET", "path": "/api/me"})),
            200,
        )
        .await?;
    ensure!(response["status"] == 200, "the app answered {}", response["status"]);
    step.wire(&provider, "/api/me", &redactor)?;
    step.ok(&format!("the app answered 200: {}", response["body"]))?;

    step.begin("Define a custom action with no code: POST /api/v1/integrations/{id}/actions")?;
    let action =
        api.send("POST", &format!("/api/v1/integrations/{integration_id}/actions"), Some(demo_action()), 201).await?;
    let steps = action["definition"]["steps"].as_array().map(Vec::len).unwrap_or_default();
    step.ok(&format!(
        "`{}`: {steps} Web API calls, each templated from the input and earlier answers",
        text(&action, "name")?
    ))?;

    step.begin("Run it through the connection: POST /api/v1/connections/{id}/actions/file-report")?;
    provider.clear_requests();
    let outcome = api
        .send(
            "POST",
            &format!("/api/v1/connections/{connection_id}/actions/file-report"),
            Some(json!({"input": {"project": "apollo", "title": "Fuel leak", "labels": ["urgent", "ops"]}})),
            200,
        )
        .await?;
    for call in outcome["calls"].as_array().into_iter().flatten() {
        writeln!(
            step.out,
            "    {} {} -> {} in {} ms",
            call["method"].as_str().unwrap_or_default(),
            call["path"].as_str().unwrap_or_default(),
            call["status"],
            call["duration_ms"]
        )?;
    }
    ensure!(outcome["output"]["labels"] == json!(["urgent", "ops"]), "unexpected output: {}", outcome["output"]);
    step.ok(&format!("output {}", redactor.scrub(&outcome["output"].to_string())))?;

    step.begin("Refresh (RFC 6749 §6): POST /api/v1/connections/{id}/refresh")?;
    provider.clear_requests();
    api.send("POST", &format!("/api/v1/connections/{connection_id}/refresh"), None, 200).await?;
    step.wire(&provider, MockProvider::TOKEN_PATH, &redactor)?;
    ensure!(provider.token_requests_by_grant("refresh_token") == 1, "the provider saw no refresh");
    step.ok("a new access token; the refresh token is kept")?;

    step.begin("Disconnect (RFC 7009): DELETE /api/v1/connections/{id} revokes, then deletes")?;
    provider.clear_requests();
    api.send("DELETE", &format!("/api/v1/connections/{connection_id}"), None, 204).await?;
    step.wire(&provider, MockProvider::REVOKE_PATH, &redactor)?;
    if provider.requests_to(MockProvider::REVOKE_PATH).is_empty() {
        bail!("the provider received no revocation");
    }
    api.send("GET", &format!("/api/v1/connections/{connection_id}"), None, 404).await?;
    step.ok("revoked at the provider and deleted")?;

    writeln!(step.out, "All {} steps succeeded.", step.n)?;
    if args.console {
        // A throwaway key for a throwaway database: printing it is the point, as `keyway serve`
        // prints the first admin key it creates.
        writeln!(
            step.out,
            "\nThe admin console: open {server_url}/ui and sign in with the demo's admin key\n\n    {}\n\n\
             The integration above is there; \"Add connection\" goes to the mock provider and back. \
             Ctrl-C ends the demo and deletes its data.",
            admin.secret()
        )?;
        step.out.flush()?;
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    }
    server.abort();
    provider.shutdown().await;
    Ok(())
}

/// The demo's declarative action: three calls on the mock app's API, each using what the
/// one before it answered, and an output built from all three.
fn demo_action() -> Value {
    json!({
        "name": "file-report",
        "description": "Files a report in a project, labels it, and reads it back",
        "input_schema": {
            "type": "object",
            "required": ["project", "title"],
            "properties": {
                "project": {"type": "string"},
                "title": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string"}}
            }
        },
        "steps": [
            {"name": "report", "method": "POST", "path": "/api/projects/{{ input.project }}/reports",
             "body": {"title": "{{ input.title }}"}},
            {"name": "label", "method": "PUT", "path": "{{ steps.report.body.path }}/labels",
             "body": {"labels": "{{ input.labels }}"}},
            {"name": "check", "method": "GET", "path": "{{ steps.label.body.path }}"}
        ],
        "output": {
            "title": "{{ steps.report.body.body.title }}",
            "labels": "{{ steps.label.body.body.labels }}",
            "url": "{{ steps.check.body.path }}"
        }
    })
}

/// A small client for the demo's REST calls.
struct Api {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
}

impl Api {
    /// Sends a request and checks the status; returns the JSON body (`null` when empty).
    async fn send(&self, method: &str, path: &str, body: Option<Value>, expect: u16) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.parse()?, format!("{}{path}", self.base))
            .bearer_auth(self.key.secret())
            .timeout(Duration::from_secs(60));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if status != expect {
            bail!("{method} {path} answered {status}, expected {expect}: {text}");
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field].as_str().map(String::from).with_context(|| format!("the answer has no `{field}`: {value}"))
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

    /// Prints what the provider received at `path`, redacted.
    fn wire(&mut self, provider: &MockProvider, path: &str, redactor: &Redactor) -> std::io::Result<()> {
        for received in provider.requests_to(path) {
            writeln!(self.out, "    as the provider received it:")?;
            let entry = TraceEntry::request_only(&as_request(provider, &received), redactor);
            for line in entry.to_string().lines() {
                writeln!(self.out, "      {line}")?;
            }
        }
        Ok(())
    }
}

fn as_request(provider: &MockProvider, r: &RecordedRequest) -> OutboundRequest {
    let mut url = format!("{}{}", provider.base_url(), r.path);
    if !r.query.is_empty() {
        url.push('?');
        url.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&r.query).finish());
    }
    let shown = ["accept", "content-type", "authorization"];
    OutboundRequest {
        method: r.method.clone(),
        url,
        headers: r.headers.iter().filter(|(k, _)| shown.contains(&k.as_str())).cloned().collect(),
        body: (!r.body.is_empty()).then(|| r.body.clone()),
    }
}
