//! The conformance kit behind `keyway plugin check`: checks a component the way an install does (API version,
//! exports, manifest), then runs it through a whole connection, step by step: authorize URL, the browser's round
//! trip, the callback, the code exchange, the token response, one API call, refresh and revoke. The provider is
//! the built-in mock (in one of its app modes), or the author's own, real or emulated, described by an
//! integration file ([`OwnProvider`]): then the browser is the author's, or played by the kit for an emulated
//! provider that approves at once ([`Browser::Auto`]).
//!
//! It is how an integration author debugs a plugin before installing it, so every step records what was sent
//! (secrets masked) and, on failure, what failed and where to look. The run stops at the first failed step. The
//! kit returns a [`Report`]; printing it is the CLI's job.

mod callback;
mod providers;
pub mod report;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyway_mock_provider::{App, MockProvider};
use url::Url;

use crate::connection::{ConnectionState, Credentials, Tokens, unix_seconds};
use crate::egress::{EgressClient, EgressConfig, EgressError, OutboundRequest, OutboundResponse};
use crate::engine::bindings::auth_flow::AuthPlacement;
use crate::engine::shape;
use crate::engine::{API_VERSION, CallEnv, LoadError, LoadedPlugin, Manifest, PkceSupport, PluginEngine};
use crate::flows::{FlowError, Flows, PendingAuthorization, hook_context};
use crate::integration::IntegrationConfig;
use crate::trace::{Recorder, Redactor, TraceEntry};

pub use providers::{MODES, Scenario, mock_config, mode_name, plugin_for, scenario};
pub use report::{Report, Status, Step, StepKind, WireEntry};

/// The redirect URI the kit's flows use: a `keyway serve` default. Nothing listens there; the simulated
/// browser reads the provider's redirect instead of following it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8400/oauth";

/// The hint for a file that is not a component.
const BUILD: &str = "build the plugin crate with `keyway plugin build` (`cargo build --release --target wasm32-wasip2`) \
                     and check the `.wasm` it prints";

/// What to run a component against.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The mock provider's app mode, unless `own` names another provider.
    pub app: App,
    /// Connection inputs (`subdomain=acme`), on top of those the mode (or the integration file) supplies.
    pub inputs: Vec<(String, String)>,
    /// Plugin settings, on top of the mode's (or the integration's); each value is JSON.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The author's own provider instead of the mock.
    pub own: Option<OwnProvider>,
}

/// The author's provider, real or emulated (`keyway mock-provider`), as an integration file describes it.
#[derive(Debug, Clone)]
pub struct OwnProvider {
    /// The integration, as `keyway integration create` would register it; validated as the first flow step.
    /// Its settings may include the secret ones: the plugin's manifest says which, as on the server.
    pub integration: IntegrationConfig,
    /// Whether the file set `pkce`; when it did not, the plugin's manifest decides (off when its app does not
    /// support PKCE), as on the server.
    pub pkce_given: bool,
    /// The connection inputs the file gives (`[inputs]`); [`CheckOptions::inputs`] wins over them.
    pub inputs: Vec<(String, String)>,
    /// The outbound rules: the production policy unless the author opened it (`--allow-network 127.0.0.1` for
    /// an emulated provider on loopback).
    pub egress: EgressConfig,
    /// The redirect URI registered with the app, on loopback: the kit listens there for the callback.
    pub redirect_uri: String,
    /// One Web API call to make with the tokens; without it the API call step is skipped.
    pub api_call: Option<crate::flows::ApiCall>,
    /// Who follows the authorize URL.
    pub browser: Browser,
}

/// Who takes the authorize URL to the provider and back to the redirect URI.
#[derive(Debug, Clone)]
pub enum Browser {
    /// The kit, with redirects off: it reads the provider's redirect and follows it to the redirect URI. Only for
    /// an emulated provider that approves at once; a real one shows a login page, which fails the step.
    Auto,
    /// The author's browser: the kit tells `prompt` the authorize URL, then waits up to `timeout` for the
    /// callback.
    Wait {
        /// How long to wait for the callback.
        timeout: Duration,
        /// Where the authorize URL and the wait are announced (the CLI prints them).
        prompt: Prompt,
    },
}

/// Announces the authorize URL to the author while the kit waits, as the run goes (the report comes at the end).
#[derive(Clone)]
pub struct Prompt(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prompt")
    }
}

/// Checks `component` and runs it through a connection against the mock provider in `options.app`'s mode, or
/// against `options.own`. Never fails: whatever goes wrong is a failed step of the report.
pub async fn check(engine: Arc<PluginEngine>, component: &[u8], options: &CheckOptions) -> Report {
    let against = match &options.own {
        None => format!("the {} mock", mode_name(options.app)),
        Some(own) => format!("`{}` at {}", own.integration.name, own.integration.site),
    };
    let mut kit = Kit { report: Report::new(&against), redactor: Redactor::default() };
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
        self.flow(&setup, plugin).await;
        if let Some(provider) = setup.provider {
            provider.shutdown().await;
        }
    }

    async fn flow(&mut self, setup: &Setup, plugin: &LoadedPlugin) -> Option<()> {
        let pending = self.authorize(setup, plugin).await?;
        let query = self.browser(setup, plugin, &pending).await?;
        self.parse_callback(setup, plugin, &query).await?;
        let mut conn = setup.conn.clone();
        let tokens = self.exchange(setup, plugin, &mut conn, &pending, query).await?;
        self.api_call(setup, plugin, &conn).await?;
        self.refresh(setup, plugin, &mut conn, &tokens).await?;
        self.revoke(setup, plugin, &conn).await;
        Some(())
    }

    /// Starts the mock provider (or reads the author's) and sets up the integration and connection for it.
    async fn provider(
        &mut self,
        engine: Arc<PluginEngine>,
        plugin: &LoadedPlugin,
        options: &CheckOptions,
    ) -> Option<Setup> {
        let kind = StepKind::Provider;
        let source = match &options.own {
            None => self.mock_source(options.app).await?,
            Some(own) => own_source(own, plugin),
        };
        let Source {
            summary,
            mut detail,
            mut integration,
            default_inputs,
            egress,
            api_call,
            refreshes_without_refresh_token,
            redirect_uri,
            app,
            provider,
        } = source;
        if let Some(settings) = integration.settings.as_object_mut() {
            settings.extend(options.settings.clone());
        }
        let own = options.own.is_some();
        let registered =
            as_registered(&mut integration, &plugin.manifest, options.own.as_ref().is_none_or(|o| o.pkce_given));
        // Before anything is shown: the secret settings are secrets from here on.
        self.redactor.absorb(&crate::flows::secrets_of(&integration, &ConnectionState::default()));
        detail.extend([
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
        ]);
        if !integration.secret_settings.is_empty() {
            let names: Vec<&str> = integration.secret_settings.iter().map(|(n, _)| n.as_str()).collect();
            detail.push(format!("secret settings {} (values masked)", names.join(", ")));
        }
        if let Err((field, message)) = registered {
            let hint = if own {
                format!("fix `{field}` in the integration file")
            } else {
                format!("fix the `--setting` or the mode's value of `{field}`")
            };
            return self.fail(kind, detail, message, hint);
        }

        let missing: Vec<&str> = plugin
            .manifest
            .settings
            .iter()
            .filter(|s| s.required && integration.settings.get(&s.name).is_none())
            .filter(|s| !integration.secret_settings.iter().any(|(n, _)| *n == s.name))
            .map(|s| s.name.as_str())
            .collect();
        if let Some(name) = missing.first() {
            let flag = format!("`--setting {name}=<json>`, e.g. `--setting {name}='\"value\"'`");
            let hint = if own {
                format!("add it to the integration file's `[settings]` table (`{name} = \"value\"`), or pass {flag}")
            } else {
                format!("pass it as JSON: {flag}")
            };
            return self.fail(
                kind,
                detail,
                format!("plugin `{}` requires the setting `{name}`", plugin.manifest.name),
                hint,
            );
        }
        if let Err(e) = integration.validate() {
            let hint = if own {
                match crate::integration::field_example(e.field.split('.').next().unwrap_or_default()) {
                    Some(example) => format!("fix `{}` in the integration file, e.g. `{example}`", e.field),
                    None => format!("fix `{}` in the integration file", e.field),
                }
            } else {
                "fix the `--setting` values".to_string()
            };
            return self.fail(kind, detail, format!("the integration is not valid: {e}"), hint);
        }

        let mut inputs = options.inputs.clone();
        for (name, value) in default_inputs {
            let declared = plugin.manifest.inputs.iter().any(|i| i.name == name);
            if (declared || own) && !inputs.iter().any(|(k, _)| *k == name) {
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
            let hint = match (declared, own) {
                (true, false) => format!("pass the connection input as `--input {name}=<value>`"),
                (true, true) => format!(
                    "add it to the integration file's `[inputs]` table (`{name} = \"<value>\"`), or pass \
                     `--input {name}=<value>`"
                ),
                (false, false) => format!("drop `--input {name}=...`: the plugin does not declare that input"),
                (false, true) => format!(
                    "drop `{name}` from the integration file's `[inputs]` (and any `--input {name}=...`): the plugin \
                     does not declare that input"
                ),
            };
            return self.fail(kind, detail, message, hint);
        }

        let client = match EgressClient::new(egress.clone()) {
            Ok(client) => client,
            Err(e) => return self.fail(kind, detail, format!("no HTTP client: {e}"), "retry"),
        };
        let browser =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30));
        let browser = match browser.build() {
            Ok(browser) => browser,
            Err(e) => return self.fail(kind, detail, format!("no HTTP client: {e}"), "retry"),
        };
        let listener = match &options.own {
            None => None,
            Some(own) => {
                detail.push(format!("redirect URI {} (listening for the callback)", own.redirect_uri));
                match callback::CallbackListener::bind(&own.redirect_uri).await {
                    Ok(listener) => Some(listener),
                    Err(e) => return self.fail(kind, detail, e.error, e.hint),
                }
            }
        };
        self.pass(kind, summary, detail);
        let flows = Flows::new(engine, client, redirect_uri.clone(), Duration::from_secs(600));
        let conn = ConnectionState { id: "conformance".into(), inputs, ..ConnectionState::default() };
        Some(Setup {
            app,
            provider,
            flows,
            integration,
            conn,
            browser,
            egress,
            api_call,
            refreshes_without_refresh_token,
            redirect_uri,
            listener,
            mode: match &options.own {
                None => BrowserMode::Simulated,
                Some(own) => match &own.browser {
                    Browser::Auto => BrowserMode::Auto,
                    Browser::Wait { timeout, prompt } => {
                        BrowserMode::Wait { timeout: *timeout, prompt: prompt.clone() }
                    }
                },
            },
        })
    }

    /// The mock provider in `app`'s mode, started.
    async fn mock_source(&mut self, app: App) -> Option<Source> {
        let provider = match MockProvider::start(providers::mock_config(app)).await {
            Ok(provider) => provider,
            Err(e) => {
                return self.fail(
                    StepKind::Provider,
                    vec![],
                    format!("the mock provider cannot listen on loopback: {e}"),
                    "retry",
                );
            }
        };
        let scenario = providers::scenario(app, &provider);
        Some(Source {
            summary: format!("the {} mock, listening at {}", mode_name(app), provider.base_url()),
            detail: vec![format!("mode {}: {}", mode_name(app), scenario.description)],
            integration: scenario.integration,
            default_inputs: scenario.default_inputs,
            egress: scenario.egress,
            api_call: Some(scenario.api_call),
            refreshes_without_refresh_token: scenario.refreshes_without_refresh_token,
            redirect_uri: REDIRECT_URI.into(),
            app: Some(app),
            provider: Some(provider),
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

    /// The user's browser: the kit plays it (GETs the authorize URL and reads where the provider sends it back,
    /// following that to the listener for the author's emulated provider), or the author's brings the callback.
    async fn browser(
        &mut self,
        setup: &Setup,
        plugin: &LoadedPlugin,
        pending: &PendingAuthorization,
    ) -> Option<Vec<(String, String)>> {
        let kind = StepKind::Browser;
        let hint = "compare the authorize URL's parameters with the app's documentation: the provider refused them";
        let (query, detail) = match (&setup.mode, &setup.listener) {
            (BrowserMode::Wait { timeout, prompt }, Some(listener)) => {
                let wait = humantime::format_duration(*timeout);
                (prompt.0)(&format!(
                    "open this URL in your browser, log in and approve the access:\n\n  {}\n\nwaiting up to {wait} \
                     for the callback at {} (Ctrl-C to stop)",
                    pending.authorize_url, setup.redirect_uri
                ));
                match listener.wait(*timeout).await {
                    Some(query) => (query, vec![format!("the callback arrived at {}", setup.redirect_uri)]),
                    None => {
                        return self.fail(
                            kind,
                            vec![],
                            format!("no callback arrived at {} within {wait}", setup.redirect_uri),
                            format!(
                                "open the URL printed above and approve; the app must have exactly {} registered as a \
                                 redirect URI (or pass the one it has with `--redirect-uri`); take longer with \
                                 `--wait 10m`",
                                setup.redirect_uri
                            ),
                        );
                    }
                }
            }
            _ => {
                let location = self.follow_authorize_url(setup, pending, hint).await?;
                let query: Vec<(String, String)> = match Url::parse(&location) {
                    Ok(url) => url.query_pairs().into_owned().collect(),
                    Err(e) => {
                        return self.fail(kind, vec![], format!("the provider redirected to `{location}`: {e}"), hint);
                    }
                };
                self.mask_code(plugin, &query);
                let detail = vec![format!("Location: {}", masked_url(&location, &self.redactor))];
                if !location.starts_with(&setup.redirect_uri) {
                    return self.fail(
                        kind,
                        detail,
                        format!(
                            "the provider redirected to another address than the redirect URI {}",
                            setup.redirect_uri
                        ),
                        "send the host's `redirect_uri` unchanged",
                    );
                }
                match &setup.listener {
                    // Nothing listens for a mock; the redirect is what counts.
                    None => (query, detail),
                    Some(listener) => {
                        let query = self.follow_to_callback(setup, &location, listener).await?;
                        (query, detail)
                    }
                }
            }
        };
        self.mask_code(plugin, &query);
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

    /// GETs the authorize URL with redirects off and returns where the provider redirects; fails the step when
    /// it does not.
    async fn follow_authorize_url(
        &mut self,
        setup: &Setup,
        pending: &PendingAuthorization,
        hint: &str,
    ) -> Option<String> {
        let kind = StepKind::Browser;
        let client = match setup.browser_for(&pending.authorize_url) {
            Ok(client) => client,
            Err(e) => return self.fail(kind, vec![], e, "retry"),
        };
        let started = std::time::Instant::now();
        let response = match client.get(&pending.authorize_url).send().await {
            Ok(response) => response,
            Err(e) => return self.fail(kind, vec![], format!("the provider could not be reached: {e}"), hint),
        };
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(String::from);
        let headers = header_pairs(response.headers());
        let location = location.filter(|_| (300..400).contains(&status));
        let page = if location.is_none() { response.text().await.unwrap_or_default() } else { String::new() };
        self.record_browser(&pending.authorize_url, status, headers, &page, started.elapsed());
        let Some(location) = location else {
            let page = keyway_policy::text::clip(&page, 300);
            let hint = if matches!(setup.mode, BrowserMode::Auto) && (200..300).contains(&status) {
                "`--browser auto` is for an emulated provider that approves at once (`keyway mock-provider`); this \
                 one shows a page, so drop `--browser auto` and log in in your own browser"
            } else {
                hint
            };
            return self.fail(
                kind,
                vec![],
                format!("the provider answered {status} instead of redirecting back: {}", page.trim()),
                hint,
            );
        };
        Some(location)
    }

    /// Follows the provider's redirect to the check's own listener, as a browser would, and takes the callback
    /// it received.
    async fn follow_to_callback(
        &mut self,
        setup: &Setup,
        location: &str,
        listener: &callback::CallbackListener,
    ) -> Option<Vec<(String, String)>> {
        let kind = StepKind::Browser;
        let started = std::time::Instant::now();
        match setup.browser.get(location).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = header_pairs(response.headers());
                let page = response.text().await.unwrap_or_default();
                self.record_browser(location, status, headers, &page, started.elapsed());
            }
            Err(e) => {
                return self.fail(
                    kind,
                    vec![],
                    format!("the redirect URI {} could not be reached: {e}", setup.redirect_uri),
                    "retry",
                );
            }
        }
        match listener.wait(Duration::from_secs(10)).await {
            Some(query) => Some(query),
            None => self.fail(
                kind,
                vec![],
                format!("the redirect to {} reached the check, but no callback was taken", setup.redirect_uri),
                "retry",
            ),
        }
    }

    /// The code is secret whatever the plugin calls it.
    fn mask_code(&mut self, plugin: &LoadedPlugin, query: &[(String, String)]) {
        let code_param = &plugin.manifest.callback_code_param;
        for (name, value) in query {
            if name == "code" || name == code_param || name == "spapi_oauth_code" {
                self.redactor.add(value);
            }
        }
    }

    /// One of the browser's requests, for `--show-headers`.
    fn record_browser(&mut self, url: &str, status: u16, headers: Vec<(String, String)>, page: &str, took: Duration) {
        let request = OutboundRequest { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None };
        let response = OutboundResponse { status, headers, body: page.as_bytes().to_vec() };
        let entry = TraceEntry::new(&request, Ok(&response), took, &self.redactor);
        self.report.record(StepKind::Browser, [entry]);
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
        self.report.record(StepKind::CodeExchange, trace.iter().take(1).cloned());
        self.report.record(StepKind::TokenResponse, trace.iter().skip(1).cloned());
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
        let Some(call) = setup.api_call.clone() else {
            let why = "no API call to make: name one in the integration file's `[check]` table \
                       (`api_call = \"GET /me\"`) or with `--api-call 'GET /me'`, a path relative to the plugin's \
                       API base";
            self.report.push(Step::skipped(kind, why));
            return Some(());
        };
        let recorder = Recorder::new();
        let shown = format!("{} {}", call.method, call.path);
        let result = setup.flows.api_request(plugin, &setup.integration, conn, call, &recorder).await;
        let trace = recorder.entries();
        self.report.record(kind, trace.iter().cloned());
        detail.extend(trace.iter().flat_map(entry_lines));
        let hint = "`api_auth` must place the credentials where the app reads them (header, query or Basic), and \
                    `api_base` must be the API's URL";
        match result {
            Ok(response) if (200..300).contains(&response.status) => {
                match setup.app.map_or(Ok(()), |app| providers::api_answer_ok(app, &response.body)) {
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
        self.report.record(kind, trace.iter().cloned());
        let mut detail: Vec<String> = trace.iter().flat_map(entry_lines).collect();
        match result {
            // Asked on the chance that the app refreshes another way (with the access token, as Instagram does):
            // the plugin said it does not, before sending anything.
            Err(FlowError::Config(why)) if first.refresh_token.is_none() && trace.is_empty() => {
                let why =
                    format!("the provider issued no refresh token, and the plugin has no other way to refresh: {why}");
                self.report.push(Step::skipped(kind, why));
                Some(())
            }
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
        self.report.record(kind, trace.iter().cloned());
        let detail: Vec<String> = trace.iter().flat_map(entry_lines).collect();
        let Some(provider) = &setup.provider else {
            // The author's provider cannot be asked which tokens it revoked; its answer is what there is.
            match result {
                Ok(false) => {
                    let why = match setup.integration.revoke_path {
                        None => format!(
                            "the plugin returned no revoke request for the {which} (the integration has no \
                             `revoke_path`; add one, e.g. `revoke_path = \"/oauth/revoke\"`, if the app can revoke)"
                        ),
                        Some(_) => format!("the plugin returned no revoke request for the {which}"),
                    };
                    self.report.push(Step::skipped(kind, why));
                }
                Ok(true) => {
                    let answered = trace.last().and_then(|e| e.status).map_or(String::new(), |s| format!(" ({s})"));
                    self.pass(kind, format!("the provider accepted the revoke request{answered}"), detail);
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
            return;
        };
        let revoked: Vec<&str> =
            candidates.iter().filter(|(token, _)| provider.is_revoked(token)).map(|(_, name)| *name).collect();
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

/// What the server does with an integration once it knows the plugin, before storing it: the settings the
/// manifest marks secret move out of `settings` (non-empty strings only), and PKCE follows the app's support
/// unless the admin chose (`pkce_given`). The service's version is private to it; this one follows it, so the
/// check runs the integration the server would. The error names the field and says what to write.
fn as_registered(
    integration: &mut IntegrationConfig,
    manifest: &Manifest,
    pkce_given: bool,
) -> Result<(), (String, String)> {
    let name = &manifest.name;
    for spec in manifest.settings.iter().filter(|s| s.secret) {
        let Some(value) = integration.settings.as_object_mut().and_then(|o| o.remove(&spec.name)) else { continue };
        integration.secret_settings.retain(|(n, _)| *n != spec.name);
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) if !text.is_empty() => {
                integration.secret_settings.push((spec.name.clone(), crate::secret::NamedSecretValue::new(text)));
            }
            _ => {
                return Err((
                    format!("settings.{}", spec.name),
                    format!("`{}` is a secret setting of plugin `{name}` and must be a non-empty string", spec.name),
                ));
            }
        }
    }
    match (manifest.pkce, pkce_given, integration.pkce) {
        (PkceSupport::Unsupported, false, _) => integration.pkce = false,
        (PkceSupport::Unsupported, true, true) => {
            return Err((
                "pkce".into(),
                format!("plugin `{name}` says its app does not support PKCE; set `pkce = false` or leave it out"),
            ));
        }
        (PkceSupport::Required, _, false) => {
            return Err((
                "pkce".into(),
                format!("plugin `{name}` says its app requires PKCE; set `pkce = true` or leave it out"),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Where a flow runs: the mock provider in a mode, or the author's.
struct Source {
    /// The provider step's summary.
    summary: String,
    /// The provider step's first detail lines.
    detail: Vec<String>,
    integration: IntegrationConfig,
    default_inputs: Vec<(String, String)>,
    egress: EgressConfig,
    api_call: Option<crate::flows::ApiCall>,
    /// Whether to ask the plugin to refresh when the provider issued no refresh token: the mode knows (Instagram
    /// refreshes with the access token); for the author's provider, the plugin says, by refusing or not.
    refreshes_without_refresh_token: bool,
    redirect_uri: String,
    /// The mode, for a mock.
    app: Option<App>,
    /// The started mock.
    provider: Option<MockProvider>,
}

/// The author's provider as the integration file describes it; the component under check is its plugin.
fn own_source(own: &OwnProvider, plugin: &LoadedPlugin) -> Source {
    let mut integration = own.integration.clone();
    let mut detail = Vec::new();
    if integration.plugin != plugin.manifest.name && integration.plugin != crate::builtin::STANDARD_PLUGIN {
        detail.push(format!(
            "the file names the plugin `{}`; the component under check, `{}`, is used instead",
            integration.plugin, plugin.manifest.name
        ));
    }
    integration.plugin = plugin.manifest.name.clone();
    let browser = match &own.browser {
        Browser::Auto => "played by the check (--browser auto: for an emulated provider that approves at once)".into(),
        Browser::Wait { timeout, .. } => {
            format!("yours: the check waits up to {}", humantime::format_duration(*timeout))
        }
    };
    detail.push(format!("browser {browser}"));
    Source {
        summary: format!("the integration `{}`", integration.name),
        detail,
        integration,
        default_inputs: own.inputs.clone(),
        egress: own.egress.clone(),
        api_call: own.api_call.clone(),
        refreshes_without_refresh_token: true,
        redirect_uri: own.redirect_uri.clone(),
        app: None,
        provider: None,
    }
}

/// How the browser step gets the callback.
enum BrowserMode {
    /// The mock's redirect is read, never followed: nothing listens at the redirect URI.
    Simulated,
    /// The provider's redirect is followed to the listener.
    Auto,
    /// The author's browser brings it to the listener.
    Wait { timeout: Duration, prompt: Prompt },
}

/// The provider and the connection a flow runs on.
struct Setup {
    /// The mock's mode; `None` for the author's provider.
    app: Option<App>,
    provider: Option<MockProvider>,
    flows: Flows,
    integration: IntegrationConfig,
    conn: ConnectionState,
    browser: reqwest::Client,
    egress: EgressConfig,
    api_call: Option<crate::flows::ApiCall>,
    refreshes_without_refresh_token: bool,
    redirect_uri: String,
    /// Listens on the redirect URI, for the author's provider.
    listener: Option<callback::CallbackListener>,
    mode: BrowserMode,
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

/// A response's headers as name and text pairs, names lowercase as the egress client gives them.
fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SettingSpec;

    fn manifest(pkce: PkceSupport) -> Manifest {
        let setting = |name: &str, secret: bool| SettingSpec {
            name: name.into(),
            description: String::new(),
            required: false,
            default: None,
            secret,
        };
        Manifest {
            name: "acme".into(),
            version: "0.1.0".into(),
            description: String::new(),
            hosts: Vec::new(),
            inputs: Vec::new(),
            settings: vec![setting("app_secret", true), setting("region", false)],
            callback_code_param: "code".into(),
            callback_state_param: "state".into(),
            actions: Vec::new(),
            pkce,
            signs_requests: false,
        }
    }

    fn integration() -> IntegrationConfig {
        let mut integration =
            IntegrationConfig::oauth2("acme", "id", "secret", "https://acme.test", "https://acme.test/auth", "/token");
        integration.settings = serde_json::json!({"app_secret": "s3cret-setting", "region": "eu"});
        integration
    }

    /// The check runs the integration the server would store: secret settings out of `settings` (so the report,
    /// which prints `settings`, never shows them), and PKCE as the plugin's app allows.
    #[test]
    fn the_integration_is_checked_as_the_server_would_register_it() {
        let mut config = integration();
        as_registered(&mut config, &manifest(PkceSupport::Supported), false).unwrap();
        assert_eq!(config.settings, serde_json::json!({"region": "eu"}));
        assert_eq!(config.secret_settings.len(), 1);
        assert_eq!(config.secret_settings[0].0, "app_secret");
        assert_eq!(config.secret_settings[0].1.secret(), "s3cret-setting");
        assert!(config.pkce);

        let mut config = integration();
        as_registered(&mut config, &manifest(PkceSupport::Unsupported), false).unwrap();
        assert!(!config.pkce, "off by default when the app does not support it");
        let mut config = integration();
        let (field, message) = as_registered(&mut config, &manifest(PkceSupport::Unsupported), true).unwrap_err();
        assert_eq!(field, "pkce");
        assert!(message.contains("set `pkce = false` or leave it out"), "{message}");
        let mut config = integration();
        config.pkce = false;
        let (field, _) = as_registered(&mut config, &manifest(PkceSupport::Required), true).unwrap_err();
        assert_eq!(field, "pkce");

        let mut config = integration();
        config.settings["app_secret"] = serde_json::json!(42);
        let (field, message) = as_registered(&mut config, &manifest(PkceSupport::Supported), true).unwrap_err();
        assert_eq!(field, "settings.app_secret");
        assert!(message.contains("must be a non-empty string"), "{message}");
    }
}
