//! The conformance kit behind `keyway plugin check`: checks a component the way an install does (API version,
//! exports, manifest), then runs it through a whole connection against the built-in mock provider (in one of its
//! app modes), step by step: authorize URL, the browser's round trip, the callback, the code exchange, the token
//! response, one API call, refresh and revoke.
//!
//! It is how an integration author debugs a plugin before installing it, so every step records what was sent
//! (secrets masked) and, on failure, what failed and where to look. The run stops at the first failed step. The
//! kit returns a [`Report`]; printing it is the CLI's job.

mod providers;
pub mod report;
mod shape;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyway_mock_provider::{App, MockProvider};
use url::Url;

use crate::connection::{ConnectionState, Credentials, Tokens, unix_seconds};
use crate::egress::{EgressClient, EgressConfig, EgressError, OutboundRequest};
use crate::engine::bindings::auth_flow::AuthPlacement;
use crate::engine::{API_VERSION, CallEnv, LoadError, LoadedPlugin, Manifest, PluginEngine};
use crate::flows::{FlowError, Flows, PendingAuthorization, hook_context};
use crate::integration::IntegrationConfig;
use crate::trace::{Recorder, Redactor, TraceEntry};

pub use providers::{MODES, mode_name};
pub use report::{Report, Status, Step, StepKind};

/// The redirect URI the kit's flows use: a `keyway serve` default. Nothing listens there; the simulated
/// browser reads the provider's redirect instead of following it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8400/oauth";

/// The hint for a file that is not a component.
const BUILD: &str = "build the plugin crate with `keyway plugin build` (`cargo build --release --target wasm32-wasip2`) \
                     and check the `.wasm` it prints";

/// What to run a component against.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The mock provider's app mode.
    pub app: App,
    /// Connection inputs (`subdomain=acme`), on top of those the mode supplies.
    pub inputs: Vec<(String, String)>,
    /// Plugin settings, on top of the mode's; each value is JSON.
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Checks `component` and runs it through a connection against the mock provider in `options.app`'s mode.
/// Never fails: whatever goes wrong is a failed step of the report.
pub async fn check(engine: Arc<PluginEngine>, component: &[u8], options: &CheckOptions) -> Report {
    let mut kit = Kit { report: Report::new(mode_name(options.app)), redactor: Redactor::default() };
    if let Some(plugin) = kit.load(&engine, component).await {
        kit.report.plugin = Some(format!("{} {}", plugin.manifest.name, plugin.manifest.version));
        kit.run_flow(engine, &plugin, options).await;
    }
    let Kit { report, redactor } = kit;
    report.finish(&redactor)
}

/// A run in progress: the report so far, and every secret seen, masked in the report at the end.
struct Kit {
    report: Report,
    redactor: Redactor,
}

impl Kit {
    fn pass(&mut self, kind: StepKind, summary: impl Into<String>, detail: Vec<String>) {
        self.report.push(Step::passed(kind, summary, detail));
    }

    /// Records a failure; returns `None` so a step can end with `return self.fail(...)`.
    fn fail<T>(
        &mut self,
        kind: StepKind,
        detail: Vec<String>,
        error: impl Into<String>,
        hint: impl Into<String>,
    ) -> Option<T> {
        self.report.push(Step::failed(kind, detail, error, hint));
        None
    }

    /// The component, API version, exports and manifest steps: loads the component as an install does.
    async fn load(&mut self, engine: &PluginEngine, bytes: &[u8]) -> Option<Arc<LoadedPlugin>> {
        let shape = match shape::read(bytes) {
            Ok(shape) => shape,
            Err(e) => return self.fail(StepKind::Component, vec![], e, BUILD),
        };
        let egress = match EgressClient::new(EgressConfig::default()) {
            Ok(egress) => egress,
            Err(e) => return self.fail(StepKind::Component, vec![], format!("no HTTP client: {e}"), "retry"),
        };
        let size = format!("{:.1} KiB", bytes.len() as f64 / 1024.0);
        let plugin = match engine.load(bytes, &egress).await {
            Ok(plugin) => plugin,
            Err(error) => return self.load_failure(error, &shape, &size),
        };
        self.pass(
            StepKind::Component,
            format!("a WebAssembly component, {size}, sha256 {}", &plugin.hash[..12]),
            vec![],
        );
        self.pass(
            StepKind::ApiVersion,
            format!("keyway:plugin@{}, the version this host implements", plugin.api_version),
            vec![],
        );
        let imports = shape.plugin_imports();
        self.pass(
            StepKind::Exports,
            format!("the `integration` world: {}", shape.plugin_exports().join(", ")),
            vec![format!(
                "imports: {}{} wasi interfaces (sealed by the host)",
                if imports.is_empty() { String::new() } else { format!("keyway:plugin/{{{}}}, ", imports.join(", ")) },
                shape.wasi_imports()
            )],
        );
        let manifest = &plugin.manifest;
        self.pass(
            StepKind::Manifest,
            format!("{} {}: {}", manifest.name, manifest.version, manifest.description),
            manifest_lines(manifest),
        );
        Some(plugin)
    }

    /// Puts a refused load on the step it belongs to.
    fn load_failure(&mut self, error: LoadError, shape: &shape::Shape, size: &str) -> Option<Arc<LoadedPlugin>> {
        const EXPORT: &str = "implement `keyway_sdk::Plugin` and register it with `keyway_sdk::export!(YourPlugin);` \
                              at the crate root (built for wasm32, where the component's exports exist)";
        let message = error.to_string();
        // Anything but a compile failure means the bytes are a component.
        if !matches!(error, LoadError::Malformed(_)) {
            self.pass(StepKind::Component, format!("a WebAssembly component, {size}"), vec![]);
        }
        match error {
            LoadError::Malformed(e) => self.fail(StepKind::Component, vec![], e, BUILD),
            LoadError::UnsupportedApiVersion { .. } => self.fail(
                StepKind::ApiVersion,
                vec![],
                message,
                format!("depend on a keyway-sdk that implements keyway:plugin@{API_VERSION} and rebuild"),
            ),
            LoadError::WrongWorld(_) if shape.api_version().is_none() => {
                let exports = if shape.exports.is_empty() { "nothing".into() } else { shape.exports.join(", ") };
                self.fail(StepKind::ApiVersion, vec![format!("exports: {exports}")], message, EXPORT)
            }
            LoadError::WrongWorld(_) => {
                self.pass(
                    StepKind::ApiVersion,
                    format!("keyway:plugin@{}", shape.api_version().unwrap_or_default()),
                    vec![],
                );
                let detail = vec![
                    format!("exports: {}", shape.exports.join(", ")),
                    format!("imports: {}", shape.imports.join(", ")),
                ];
                self.fail(StepKind::Exports, detail, message, EXPORT)
            }
            LoadError::Manifest(_) | LoadError::Call(_) => {
                self.pass(StepKind::ApiVersion, format!("keyway:plugin@{API_VERSION}"), vec![]);
                self.pass(
                    StepKind::Exports,
                    format!("the `integration` world: {}", shape.plugin_exports().join(", ")),
                    vec![],
                );
                self.fail(
                    StepKind::Manifest,
                    vec![],
                    message,
                    "fix `Plugin::manifest()`: the message names the field; `Cargo.toml` supplies an empty name, \
                     version and description",
                )
            }
        }
    }

    /// The flow steps, from starting the provider to revoking.
    async fn run_flow(&mut self, engine: Arc<PluginEngine>, plugin: &LoadedPlugin, options: &CheckOptions) {
        let Some(setup) = self.provider(engine, plugin, options).await else { return };
        let Some(pending) = self.authorize(&setup, plugin).await else { return };
        let Some(query) = self.browser(&setup, plugin, &pending).await else { return };
        if self.parse_callback(&setup, plugin, &query).await.is_none() {
            return;
        }
        let mut conn = setup.conn.clone();
        let Some(tokens) = self.exchange(&setup, plugin, &mut conn, &pending, query).await else { return };
        if self.api_call(&setup, plugin, &conn).await.is_none() {
            return;
        }
        if self.refresh(&setup, plugin, &mut conn, &tokens).await.is_none() {
            return;
        }
        self.revoke(&setup, plugin, &conn).await;
        setup.provider.shutdown().await;
    }

    /// Starts the mock provider and sets up the integration and connection for it.
    async fn provider(
        &mut self,
        engine: Arc<PluginEngine>,
        plugin: &LoadedPlugin,
        options: &CheckOptions,
    ) -> Option<Setup> {
        let kind = StepKind::Provider;
        let provider = match MockProvider::start(providers::mock_config(options.app)).await {
            Ok(provider) => provider,
            Err(e) => {
                return self.fail(kind, vec![], format!("the mock provider cannot listen on loopback: {e}"), "retry");
            }
        };
        let scenario = providers::scenario(options.app, &provider);
        let mut integration = scenario.integration;
        self.redactor.absorb(&crate::flows::secrets_of(&integration, &ConnectionState::default()));
        if let Some(settings) = integration.settings.as_object_mut() {
            settings.extend(options.settings.clone());
        }
        let mut detail = vec![
            format!("mode {}: {}", mode_name(options.app), scenario.description),
            format!("site {}", integration.site),
            format!("authorization URL {}", integration.authorization_url),
            format!(
                "token path {}, revoke path {}",
                integration.token_path,
                integration.revoke_path.as_deref().unwrap_or("(none)")
            ),
            format!(
                "client {} (secret masked), client auth {:?}, PKCE {}, scopes [{}]",
                integration.client_id,
                integration.client_auth,
                if integration.pkce { "on" } else { "off" },
                integration.scopes.join(", ")
            ),
            format!("settings {}", integration.settings),
        ];

        let missing: Vec<&str> = plugin
            .manifest
            .settings
            .iter()
            .filter(|s| s.required && integration.settings.get(&s.name).is_none())
            .map(|s| s.name.as_str())
            .collect();
        if let Some(name) = missing.first() {
            return self.fail(
                kind,
                detail,
                format!("plugin `{}` requires the setting `{name}`", plugin.manifest.name),
                format!("pass it as JSON: `--setting {name}=<json>`, e.g. `--setting {name}='\"value\"'`"),
            );
        }
        if let Err(e) = integration.validate() {
            return self.fail(kind, detail, format!("the integration is not valid: {e}"), "fix the `--setting` values");
        }

        let mut inputs = options.inputs.clone();
        for (name, value) in scenario.default_inputs {
            let declared = plugin.manifest.inputs.iter().any(|i| i.name == name);
            if declared && !inputs.iter().any(|(k, _)| *k == name) {
                inputs.push((name, value));
            }
        }
        if !inputs.is_empty() {
            let shown: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            detail.push(format!("connection inputs {}", shown.join(", ")));
        }
        if let Err((field, message)) = plugin.manifest.validate_inputs(&inputs) {
            let name = field.trim_start_matches("inputs.");
            let declared = plugin.manifest.inputs.iter().any(|i| i.name == name);
            let hint = if declared {
                format!("pass the connection input as `--input {name}=<value>`")
            } else {
                format!("drop `--input {name}=...`: the plugin does not declare that input")
            };
            return self.fail(kind, detail, message, hint);
        }

        let egress = match EgressClient::new(scenario.egress.clone()) {
            Ok(egress) => egress,
            Err(e) => return self.fail(kind, detail, format!("no HTTP client: {e}"), "retry"),
        };
        let browser =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30));
        let browser = match browser.build() {
            Ok(browser) => browser,
            Err(e) => return self.fail(kind, detail, format!("no HTTP client: {e}"), "retry"),
        };
        self.pass(kind, format!("listening at {}", provider.base_url()), detail);
        let flows = Flows::new(engine, egress, REDIRECT_URI.into(), Duration::from_secs(600));
        let conn = ConnectionState { id: "conformance".into(), inputs, ..ConnectionState::default() };
        Some(Setup {
            app: options.app,
            provider,
            flows,
            integration,
            conn,
            browser,
            egress: scenario.egress,
            api_call: scenario.api_call,
            refreshes_without_refresh_token: scenario.refreshes_without_refresh_token,
        })
    }

    async fn authorize(&mut self, setup: &Setup, plugin: &LoadedPlugin) -> Option<PendingAuthorization> {
        let kind = StepKind::AuthorizeUrl;
        match setup.flows.begin(plugin, &setup.integration, &setup.conn).await {
            Ok(pending) => {
                self.redactor.add(pending.state.secret());
                if let Some(verifier) = &pending.verifier {
                    self.redactor.add(verifier.secret());
                }
                let params: Vec<String> = Url::parse(&pending.authorize_url)
                    .map(|u| u.query_pairs().map(|(k, _)| k.into_owned()).collect())
                    .unwrap_or_default();
                self.pass(
                    kind,
                    format!("parameters: {}", params.join(", ")),
                    vec![format!("GET {}", masked_url(&pending.authorize_url, &self.redactor))],
                );
                Some(pending)
            }
            Err(e) => {
                let hint = match &e {
                    FlowError::Egress(EgressError::Denied(_)) => {
                        "the URL must be on the integration's site or authorization URL, or a host the manifest declares"
                    }
                    FlowError::Plugin(_) => "`authorize_url` trapped or hit a limit: run the crate's tests natively",
                    _ => "check `authorize_url`: it must return an absolute URL on the provider",
                };
                self.fail(kind, vec![], e.to_string(), hint)
            }
        }
    }

    /// Plays the user's browser: GETs the authorize URL and reads where the provider sends it back.
    async fn browser(
        &mut self,
        setup: &Setup,
        plugin: &LoadedPlugin,
        pending: &PendingAuthorization,
    ) -> Option<Vec<(String, String)>> {
        let kind = StepKind::Browser;
        let hint = "compare the authorize URL's parameters with the app's documentation: the provider refused them";
        let client = match setup.browser_for(&pending.authorize_url) {
            Ok(client) => client,
            Err(e) => return self.fail(kind, vec![], e, "retry"),
        };
        let response = match client.get(&pending.authorize_url).send().await {
            Ok(response) => response,
            Err(e) => return self.fail(kind, vec![], format!("the provider could not be reached: {e}"), hint),
        };
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(String::from);
        let Some(location) = location.filter(|_| (300..400).contains(&status)) else {
            let page = response.text().await.unwrap_or_default();
            let page: String = page.chars().take(300).collect();
            return self.fail(
                kind,
                vec![],
                format!("the provider answered {status} instead of redirecting back: {}", page.trim()),
                hint,
            );
        };
        let query: Vec<(String, String)> = match Url::parse(&location) {
            Ok(url) => url.query_pairs().into_owned().collect(),
            Err(e) => return self.fail(kind, vec![], format!("the provider redirected to `{location}`: {e}"), hint),
        };
        // The code is secret whatever the plugin calls it.
        let code_param = &plugin.manifest.callback_code_param;
        for (name, value) in &query {
            if name == "code" || name == code_param || name == "spapi_oauth_code" {
                self.redactor.add(value);
            }
        }
        let detail = vec![format!("{status} Location: {}", masked_url(&location, &self.redactor))];
        if !location.starts_with(REDIRECT_URI) {
            return self.fail(
                kind,
                detail,
                format!("the provider redirected to another address than the redirect URI {REDIRECT_URI}"),
                "send the host's `redirect_uri` unchanged",
            );
        }
        if let Some((_, error)) = query.iter().find(|(k, _)| k == "error") {
            let description = query.iter().find(|(k, _)| k == "error_description").map(|(_, v)| v.as_str());
            return self.fail(
                kind,
                detail,
                format!(
                    "the provider refused the authorization: `{error}`: {}",
                    description.unwrap_or("(no description)")
                ),
                hint,
            );
        }
        let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        self.pass(kind, format!("the provider redirected back with {}", names.join(", ")), detail);
        Some(query)
    }

    /// Asks the plugin to read the callback on its own, so a misread callback is told apart from a refused
    /// code exchange (the exchange step reads it again, as the service does).
    async fn parse_callback(&mut self, setup: &Setup, plugin: &LoadedPlugin, query: &[(String, String)]) -> Option<()> {
        let kind = StepKind::ParseCallback;
        let env = CallEnv::sealed(&plugin.manifest.name, setup.flows.egress().clone());
        let ctx = hook_context(&setup.integration, &setup.conn);
        let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        let hint = format!(
            "`parse_callback` got the parameters [{}]; the manifest says the code is in `{}`",
            names.join(", "),
            plugin.manifest.callback_code_param
        );
        match setup.flows.engine().parse_callback(plugin, env, ctx, query.to_vec()).await {
            Ok((Ok(callback), _)) => {
                if callback.code.is_empty() {
                    return self.fail(kind, vec![], "the plugin read an empty code", hint);
                }
                self.redactor.add(&callback.code);
                let detail = callback.metadata.iter().map(|(k, v)| format!("metadata {k} = {v}")).collect();
                self.pass(kind, "the plugin read the code", detail);
                Some(())
            }
            Ok((Err(e), _)) => self.fail(kind, vec![], FlowError::from(e).to_string(), hint),
            Err(e) => self.fail(kind, vec![], e.to_string(), hint),
        }
    }

    /// The code exchange and the token response: one `Flows::complete`, its trace split over two steps.
    async fn exchange(
        &mut self,
        setup: &Setup,
        plugin: &LoadedPlugin,
        conn: &mut ConnectionState,
        pending: &PendingAuthorization,
        query: Vec<(String, String)>,
    ) -> Option<Tokens> {
        let recorder = Recorder::new();
        let result = setup.flows.complete(plugin, &setup.integration, conn, pending, query, &recorder).await;
        let trace = recorder.entries();
        if let Ok(tokens) = &result {
            register_tokens(&mut self.redactor, tokens);
        }
        let sent = trace.first();
        let exchange_detail = sent.map(entry_lines).unwrap_or_default();
        let status = sent.and_then(|e| e.status);
        let refused = status.is_some_and(|s| !(200..300).contains(&s));
        let exchange_hint = format!(
            "compare the request above with the app's documentation for its token endpoint: method, Content-Type, \
             field names, and client authentication (the integration uses {:?})",
            setup.integration.client_auth
        );
        match result {
            Err(e) if sent.is_none() => {
                let hint = match &e {
                    FlowError::Plugin(_) => "`token_request` trapped or hit a limit",
                    _ => "`token_request` could not build the request: the message says what it needs",
                };
                self.fail(StepKind::CodeExchange, vec![], e.to_string(), hint)
            }
            Err(e @ (FlowError::Provider { .. } | FlowError::Unavailable { .. } | FlowError::Egress(_))) => {
                self.fail(StepKind::CodeExchange, exchange_detail, e.to_string(), exchange_hint)
            }
            Err(e) if refused => self.fail(
                StepKind::CodeExchange,
                exchange_detail,
                format!("the provider answered {}; the plugin then said: {e}", status.unwrap_or_default()),
                exchange_hint,
            ),
            Err(e) => {
                self.pass(StepKind::CodeExchange, summary_of(sent), exchange_detail);
                let detail = trace.iter().skip(1).flat_map(also_sent).collect();
                let hint = match &e {
                    FlowError::Plugin(_) => "`parse_token_response` trapped or hit a limit",
                    _ => "`parse_token_response` could not read the answer shown under the code exchange",
                };
                self.fail(StepKind::TokenResponse, detail, e.to_string(), hint)
            }
            Ok(tokens) => {
                self.pass(StepKind::CodeExchange, summary_of(sent), exchange_detail);
                let mut detail = token_lines(&tokens);
                for (key, value) in &conn.metadata {
                    detail.push(format!("metadata {key} = {value}"));
                }
                detail.extend(trace.iter().skip(1).flat_map(also_sent));
                let summary = format!(
                    "an access token{}",
                    if tokens.refresh_token.is_some() { " and a refresh token" } else { ", no refresh token" }
                );
                self.pass(StepKind::TokenResponse, summary, detail);
                Some(tokens)
            }
        }
    }

    async fn api_call(&mut self, setup: &Setup, plugin: &LoadedPlugin, conn: &ConnectionState) -> Option<()> {
        let kind = StepKind::ApiCall;
        let ctx = hook_context(&setup.integration, conn);
        let env = CallEnv::sealed(&plugin.manifest.name, setup.flows.egress().clone());
        let mut detail = Vec::new();
        // The placements are templates (`Bearer {access_token}`), never values: safe to show as they are.
        if let Ok((Ok(placements), _)) = setup.flows.engine().api_auth(plugin, env, ctx).await {
            detail.push(format!("credentials: {}", placements.iter().map(placement).collect::<Vec<_>>().join("; ")));
        }
        let recorder = Recorder::new();
        let call = setup.api_call.clone();
        let shown = format!("{} {}", call.method, call.path);
        let result = setup.flows.api_request(plugin, &setup.integration, conn, call, &recorder).await;
        let trace = recorder.entries();
        detail.extend(trace.iter().flat_map(entry_lines));
        let hint = "`api_auth` must place the credentials where the app reads them (header, query or Basic), and \
                    `api_base` must be the API's URL";
        match result {
            Ok(response) if (200..300).contains(&response.status) => {
                match providers::api_answer_ok(setup.app, &response.body) {
                    Ok(()) => {
                        self.pass(kind, format!("{shown}: the app answered {}", response.status), detail);
                        Some(())
                    }
                    Err(e) => self.fail(kind, detail, e, hint),
                }
            }
            Ok(response) => {
                let body = trace.last().map(|e| e.response_body.clone()).unwrap_or_default();
                self.fail(kind, detail, format!("{shown}: the app answered {}: {body}", response.status), hint)
            }
            Err(e) => self.fail(kind, detail, format!("{shown}: {e}"), hint),
        }
    }

    async fn refresh(
        &mut self,
        setup: &Setup,
        plugin: &LoadedPlugin,
        conn: &mut ConnectionState,
        first: &Tokens,
    ) -> Option<()> {
        let kind = StepKind::Refresh;
        if first.refresh_token.is_none() && !setup.refreshes_without_refresh_token {
            let step = Step::skipped(kind, "the provider issued no refresh token, so there is nothing to refresh with");
            self.report.push(step);
            return Some(());
        }
        let recorder = Recorder::new();
        let result = setup.flows.refresh(plugin, &setup.integration, conn, &recorder).await;
        let trace = recorder.entries();
        let mut detail: Vec<String> = trace.iter().flat_map(entry_lines).collect();
        match result {
            Ok(tokens) => {
                register_tokens(&mut self.redactor, &tokens);
                let kept = match (&first.refresh_token, &tokens.refresh_token) {
                    (Some(old), Some(new)) if old == new => "the refresh token is kept",
                    (_, Some(_)) => "a new refresh token",
                    (_, None) => "no refresh token",
                };
                // The summary already says what became of the refresh token.
                detail.extend(token_lines(&tokens).into_iter().filter(|l| !l.starts_with("refresh token")));
                self.pass(kind, format!("a new access token; {kept}"), detail);
                Some(())
            }
            Err(e) => {
                let hint = "`token_request` for `Grant::Refresh` (and `parse_token_response` for its answer): \
                            compare with the app's documentation for refreshing";
                self.fail(kind, detail, e.to_string(), hint)
            }
        }
    }

    async fn revoke(&mut self, setup: &Setup, plugin: &LoadedPlugin, conn: &ConnectionState) {
        let kind = StepKind::Revoke;
        let Some(tokens) = conn.credentials.tokens() else { return };
        // The same choice `Flows::revoke` makes: the refresh token when there is one. Apps that
        // revoke by access token only get that one instead, which also counts.
        let which = if tokens.refresh_token.is_some() { "refresh token" } else { "access token" };
        let mut candidates = vec![(tokens.access_token.secret().to_string(), "access token")];
        if let Some(refresh) = &tokens.refresh_token {
            candidates.insert(0, (refresh.secret().to_string(), "refresh token"));
        }
        let recorder = Recorder::new();
        let result = setup.flows.revoke(plugin, &setup.integration, conn, &recorder).await;
        let trace = recorder.entries();
        let detail: Vec<String> = trace.iter().flat_map(entry_lines).collect();
        let revoked: Vec<&str> =
            candidates.iter().filter(|(token, _)| setup.provider.is_revoked(token)).map(|(_, name)| *name).collect();
        match result {
            Ok(false) => {
                let why = if setup.integration.revoke_path.is_none() {
                    format!(
                        "the plugin returned no revoke request for the {which} (the integration has no revoke path)"
                    )
                } else {
                    format!("the plugin returned no revoke request for the {which}")
                };
                self.report.push(Step::skipped(kind, why));
            }
            Ok(true) if !revoked.is_empty() => {
                self.pass(kind, format!("the provider revoked the {}", revoked.join(" and the ")), detail);
            }
            Ok(true) => {
                self.fail::<()>(
                    kind,
                    detail,
                    "the provider answered with success, but the connection's tokens are still valid".to_string(),
                    "`revoke_request` must name the token the way the app documents it (its field and endpoint)",
                );
            }
            Err(e) => {
                self.fail::<()>(
                    kind,
                    detail,
                    e.to_string(),
                    "`revoke_request`: compare with the app's documentation for revoking",
                );
            }
        }
    }
}

/// The provider and the connection a flow runs on.
struct Setup {
    app: App,
    provider: MockProvider,
    flows: Flows,
    integration: IntegrationConfig,
    conn: ConnectionState,
    browser: reqwest::Client,
    egress: EgressConfig,
    api_call: crate::flows::ApiCall,
    refreshes_without_refresh_token: bool,
}

impl Setup {
    /// The browser for `url`: a host the operator's `resolve` rules pin (a Zendesk account) is pinned for the
    /// browser too, as the user's DNS would resolve it.
    fn browser_for(&self, url: &str) -> Result<reqwest::Client, String> {
        let parsed = Url::parse(url).map_err(|e| format!("`{url}`: {e}"))?;
        let host = parsed.host_str().unwrap_or_default();
        let pinned = self.egress.resolve.iter().find(|rule| rule.host.matches_str(host));
        let Some(rule) = pinned else { return Ok(self.browser.clone()) };
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .resolve(host, std::net::SocketAddr::new(rule.ip, 0))
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))
    }
}

/// The manifest, one line per part.
fn manifest_lines(manifest: &Manifest) -> Vec<String> {
    let list = |items: Vec<String>| if items.is_empty() { "none".to_string() } else { items.join(", ") };
    vec![
        format!("hosts: {}", list(manifest.hosts.clone())),
        format!(
            "inputs: {}",
            list(
                manifest
                    .inputs
                    .iter()
                    .map(|i| {
                        let required = if i.required { "required" } else { "optional" };
                        match &i.pattern {
                            Some(p) => format!("{} ({required}, pattern {p})", i.name),
                            None => format!("{} ({required})", i.name),
                        }
                    })
                    .collect()
            )
        ),
        format!(
            "settings: {}",
            list(
                manifest
                    .settings
                    .iter()
                    .map(|s| match &s.default {
                        Some(d) => format!("{} (default {d})", s.name),
                        None if s.required => format!("{} (required)", s.name),
                        None => s.name.clone(),
                    })
                    .collect()
            )
        ),
        format!("actions: {}", list(manifest.actions.iter().map(|a| a.name.clone()).collect())),
        format!(
            "callback parameters: code `{}`, state `{}`",
            manifest.callback_code_param, manifest.callback_state_param
        ),
    ]
}

fn register_tokens(redactor: &mut Redactor, tokens: &Tokens) {
    Credentials::OAuth(tokens.clone()).register(redactor);
}

/// What a token set says, never the tokens.
fn token_lines(tokens: &Tokens) -> Vec<String> {
    let expiry = match tokens.expires_at {
        None => "never (no expiry in the answer)".to_string(),
        Some(at) => {
            let now = unix_seconds(SystemTime::now());
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(at);
            format!("in {} s, at {}", at.saturating_sub(now), humantime::format_rfc3339_seconds(when))
        }
    };
    vec![
        format!("token type: {}", tokens.token_type.as_deref().unwrap_or("(none)")),
        format!("expires: {expiry}"),
        format!(
            "scopes: {}",
            tokens.scopes.as_ref().map_or("(not stated)".to_string(), |s| format!("[{}]", s.join(", ")))
        ),
        format!("refresh token: {}", if tokens.refresh_token.is_some() { "issued" } else { "none" }),
    ]
}

/// A traced request as lines: the request first, then its headers, body, outcome and answer indented under it.
fn entry_lines(entry: &TraceEntry) -> Vec<String> {
    let text = entry.to_string();
    let mut lines = text.lines().map(str::trim_start).filter(|l| !l.is_empty());
    let first = lines.next().map(String::from);
    first.into_iter().chain(lines.map(|l| format!("  {l}"))).collect()
}

fn also_sent(entry: &TraceEntry) -> Vec<String> {
    let mut lines = vec!["the plugin also sent:".to_string()];
    lines.extend(entry_lines(entry).into_iter().map(|l| format!("  {l}")));
    lines
}

fn summary_of(sent: Option<&TraceEntry>) -> String {
    match sent {
        Some(entry) => match entry.status {
            Some(status) => format!("{} {} -> {status}", entry.method, path_of(&entry.url)),
            None => format!("{} {}", entry.method, path_of(&entry.url)),
        },
        None => "nothing was sent".into(),
    }
}

fn path_of(url: &str) -> String {
    Url::parse(url).map(|u| u.path().to_string()).unwrap_or_else(|_| url.to_string())
}

/// A URL with its sensitive query values (`state`, `code`, ...) and known secrets masked.
fn masked_url(url: &str, redactor: &Redactor) -> String {
    let request = OutboundRequest { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None };
    TraceEntry::request_only(&request, redactor).url
}

/// An `api-auth` placement as the plugin wrote it.
fn placement(p: &AuthPlacement) -> String {
    match p {
        AuthPlacement::Header((name, template)) => format!("header `{name}: {template}`"),
        AuthPlacement::Query((name, template)) => format!("query `{name}={template}`"),
        AuthPlacement::Basic((user, pass)) => format!("Basic `{user}`:`{pass}`"),
        AuthPlacement::None => "none".into(),
    }
}
