//! Workspace-level integration tests, one binary: the real host, real components built from
//! `plugins/` and `tests/guests/`, and the strict mock provider on loopback.

mod actions;
mod api;
mod api_memo;
mod apps;
mod boundary;
mod check_integration;
mod cli;
mod demo;
mod events;
mod hostile;
mod links;
mod loading;
mod log_audit;
mod mcp;
mod ops;
mod plugin_cli;
mod registry;
mod sandbox;
mod standard_flow;
mod store;
mod ui;
mod wire_format;

use std::sync::Arc;
use std::time::Duration;

use keyway::connection::{ConnectionState, Tokens};
use keyway::egress::{EgressClient, EgressConfig};
use keyway::engine::{Limits, LoadedPlugin, PluginEngine};
use keyway::flows::{FlowError, Flows, PendingAuthorization};
use keyway::integration::IntegrationConfig;
use keyway_mock_provider::{MockConfig, MockProvider};
use tokio::sync::OnceCell;

pub const REDIRECT_URI: &str = "http://127.0.0.1:8400/oauth";

/// One engine for the whole binary: compiling a component is the slow part, and an engine
/// holds no per-test state.
pub async fn engine() -> Arc<PluginEngine> {
    static ENGINE: OnceCell<Arc<PluginEngine>> = OnceCell::const_new();
    ENGINE.get_or_init(|| async { Arc::new(PluginEngine::new(test_limits()).expect("engine")) }).await.clone()
}

/// Tight limits, so the limit tests finish quickly.
fn test_limits() -> Limits {
    Limits {
        call_timeout: Duration::from_secs(20),
        cpu_budget: Duration::from_millis(500),
        max_memory_bytes: 16 << 20,
        max_concurrent_calls: 16,
        ..Limits::default()
    }
}

/// Loads a component with the shared engine, once per binary: a debug-build compile takes
/// most of a second, and every test would repeat it.
pub async fn load(bytes: &'static [u8]) -> Arc<LoadedPlugin> {
    static LOADED: std::sync::Mutex<Vec<(usize, Arc<LoadedPlugin>)>> = std::sync::Mutex::new(Vec::new());
    let key = bytes.as_ptr() as usize;
    if let Some((_, plugin)) = LOADED.lock().unwrap().iter().find(|(k, _)| *k == key) {
        return plugin.clone();
    }
    let egress = EgressClient::new(EgressConfig::default()).unwrap();
    let plugin = engine().await.load(bytes, &egress).await.expect("component loads");
    LOADED.lock().unwrap().push((key, plugin.clone()));
    plugin
}

/// A provider, and flows pointed at it.
pub struct Fixture {
    pub provider: MockProvider,
    pub flows: Flows,
    pub plugin: Arc<LoadedPlugin>,
    pub integration: IntegrationConfig,
}

impl Fixture {
    /// The standard component against a provider with `config`.
    pub async fn new(config: MockConfig) -> Self {
        Self::with_plugin(config, keyway_tests::components::STANDARD_OAUTH2).await
    }

    pub async fn with_plugin(config: MockConfig, component: &'static [u8]) -> Self {
        Self::with_egress(config, component, keyway_tests::egress_for(&[keyway_tests::MOCK_IP])).await
    }

    pub async fn with_egress(config: MockConfig, component: &'static [u8], egress: EgressConfig) -> Self {
        let provider = MockProvider::start(config.clone()).await.expect("mock provider starts");
        let plugin = load(component).await;
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
        integration.validate().expect("valid integration");
        let flows = Flows::new(
            engine().await,
            EgressClient::new(egress).unwrap(),
            REDIRECT_URI.into(),
            Duration::from_secs(600),
        );
        Self { provider, flows, plugin, integration }
    }

    /// Starts an authorization and plays the browser: returns the pending flow and the
    /// callback query the provider redirected to.
    pub async fn authorize(&self, conn: &ConnectionState) -> (PendingAuthorization, Vec<(String, String)>) {
        let pending = self.flows.begin(&self.plugin, &self.integration, conn).await.expect("authorize URL");
        let query = follow_authorize(&pending.authorize_url).await;
        (pending, query)
    }

    /// The whole connect flow; returns the connection with its tokens.
    pub async fn connect(&self) -> Result<(ConnectionState, Tokens), FlowError> {
        let mut conn = ConnectionState { id: "c1".into(), ..Default::default() };
        let (pending, query) = self.authorize(&conn).await;
        let trace = keyway::trace::Recorder::new();
        let tokens = self.flows.complete(&self.plugin, &self.integration, &mut conn, &pending, query, &trace).await?;
        Ok((conn, tokens))
    }
}

/// GETs an authorize URL without following the redirect, and returns the redirect's query.
pub async fn follow_authorize(url: &str) -> Vec<(String, String)> {
    let client = reqwest_client();
    let response = client.get(url).send().await.expect("authorize request");
    assert_eq!(response.status().as_u16(), 302, "authorize answered {}", response.status());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "redirected to {location}");
    url::Url::parse(&location).unwrap().query_pairs().into_owned().collect()
}

fn reqwest_client() -> keyway_tests::http::Client {
    keyway_tests::http::client()
}

/// Parses a URL's query into pairs.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// The value of `name` in `pairs`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The same component rebuilt, in effect, against another plugin API version: the version in
/// every `keyway:plugin/...@0.1.0` interface name is rewritten (same length, so it stays valid).
pub fn with_api_version(bytes: &[u8], version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 5, "a same-length version keeps the component valid");
    let needle = b"keyway:plugin/";
    let mut out = bytes.to_vec();
    let mut i = 0;
    while let Some(pos) = out[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + pos;
        let at = start + out[start..].windows(6).position(|w| w == b"@0.1.0").expect("versioned name");
        out[at + 1..at + 6].copy_from_slice(version.as_bytes());
        i = at + 6;
    }
    out
}
