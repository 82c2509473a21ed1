//! `api-base` and `api-auth` are asked once per plugin and hook context: a second API call on
//! the same connection starts no plugin instance, and a changed context asks again. Counted on
//! an engine of this module's own, so other tests' calls do not blur the count.

use std::sync::Arc;

use keyway::connection::ConnectionState;
use keyway::egress::{EgressClient, EgressConfig};
use keyway::engine::{LoadedPlugin, PluginEngine};
use keyway::flows::{FlowError, Flows};
use keyway::integration::IntegrationConfig;
use keyway_tests::components::{GUEST_EXFIL, GUEST_SIGNER, QUIRKS};
use serde_json::json;

struct Counted {
    flows: Flows,
    engine: Arc<PluginEngine>,
}

impl Counted {
    fn new() -> Self {
        let engine = Arc::new(PluginEngine::new(super::test_limits()).expect("engine"));
        let egress = EgressClient::new(EgressConfig::default()).unwrap();
        let flows = Flows::new(engine.clone(), egress, super::REDIRECT_URI.into(), std::time::Duration::from_secs(600));
        Self { flows, engine }
    }

    async fn load(&self, bytes: &[u8]) -> Arc<LoadedPlugin> {
        self.engine.load(bytes, self.flows.egress()).await.expect("component loads")
    }

    /// The API base `plugin` gives on `conn`, and how many instances that took.
    async fn base(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
    ) -> (Result<String, FlowError>, u64) {
        let before = self.engine.instances_created();
        let target = self.flows.api_target(plugin, integration, conn, &keyway::trace::Recorder::off()).await;
        (target.map(|t| t.base().to_string()), self.engine.instances_created() - before)
    }
}

fn integration() -> IntegrationConfig {
    let mut integration = IntegrationConfig::oauth2(
        "memo-app",
        "client-1",
        "client-secret-1",
        "https://books.example.com",
        "https://books.example.com/authorize",
        "/token",
    );
    integration.validate().expect("valid integration");
    integration
}

fn realm(id: &str) -> ConnectionState {
    ConnectionState { id: "c1".into(), metadata: vec![("realmId".into(), id.into())], ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_api_call_on_a_connection_starts_no_instance_and_a_changed_context_asks_again() {
    let counted = Counted::new();
    let quirks = counted.load(QUIRKS).await;
    let integration = integration();

    let first = counted.base(&quirks, &integration, &realm("r1")).await;
    assert_eq!(first.0.as_ref().unwrap(), "https://books.example.com/v3/company/r1");
    assert_eq!(first.1, 2, "api-base and api-auth, one instance each");
    let second = counted.base(&quirks, &integration, &realm("r1")).await;
    assert_eq!(second.0.as_ref().unwrap(), "https://books.example.com/v3/company/r1");
    assert_eq!(second.1, 0, "the same context is answered from memory");

    // New metadata, a new input, a changed integration: each asks the plugin again.
    let moved = counted.base(&quirks, &integration, &realm("r2")).await;
    assert_eq!((moved.0.unwrap().as_str(), moved.1), ("https://books.example.com/v3/company/r2", 2));
    let mut with_input = realm("r2");
    with_input.inputs.push(("region".into(), "eu".into()));
    assert_eq!(counted.base(&quirks, &integration, &with_input).await.1, 2);
    let mut rotated = integration.clone();
    rotated.client_secret = Some(keyway::secret::ClientSecret::new("client-secret-2"));
    assert_eq!(counted.base(&quirks, &rotated, &realm("r2")).await.1, 2);
    assert_eq!(counted.base(&quirks, &integration, &realm("r2")).await.1, 0, "earlier contexts are still known");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_is_asked_again_each_time() {
    let counted = Counted::new();
    let quirks = counted.load(QUIRKS).await;
    let integration = integration();
    let no_realm = ConnectionState { id: "c1".into(), ..Default::default() };
    for _ in 0..2 {
        let (result, instances) = counted.base(&quirks, &integration, &no_realm).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("the connection has no `realmId`"), "{error}");
        assert_eq!(instances, 1, "api-base runs again and fails again; api-auth is never reached");
    }
    // An answer outside the allowlist is refused every time too, not remembered.
    let exfil = counted.load(GUEST_EXFIL).await;
    let mut elsewhere = integration.clone();
    elsewhere.settings = json!({"api_base": "https://canary.example.net/v1"});
    for _ in 0..2 {
        let (result, instances) = counted.base(&exfil, &elsewhere, &realm("r1")).await;
        assert!(result.unwrap_err().to_string().contains("outside its allowlist"));
        assert_eq!(instances, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_settings_or_inputs_give_the_new_base() {
    let counted = Counted::new();
    let exfil = counted.load(GUEST_EXFIL).await;
    let mut integration = integration();
    integration.settings = json!({"api_base": "https://books.example.com/v1"});
    assert_eq!(counted.base(&exfil, &integration, &realm("r1")).await.0.unwrap(), "https://books.example.com/v1");
    integration.settings = json!({"api_base": "https://books.example.com/v2"});
    let (base, instances) = counted.base(&exfil, &integration, &realm("r1")).await;
    assert_eq!((base.unwrap().as_str(), instances), ("https://books.example.com/v2", 2));

    // The tenant's subdomain is a connection input: another tenant gets its own base.
    integration.settings = json!({"api_base": "subdomain"});
    let tenant = |name: &str| ConnectionState { inputs: vec![("subdomain".into(), name.into())], ..realm("r1") };
    let acme = counted.base(&exfil, &integration, &tenant("acme")).await.0.unwrap();
    assert_eq!(acme, "https://acme.books.example.com/");
    let (globex, instances) = counted.base(&exfil, &integration, &tenant("globex")).await;
    assert_eq!((globex.unwrap().as_str(), instances), ("https://globex.books.example.com/", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_plugins_target_is_remembered_too() {
    let counted = Counted::new();
    let signer = counted.load(GUEST_SIGNER).await;
    assert!(signer.manifest.signs_requests);
    let integration = integration();
    let conn = realm("r1");
    assert_eq!(counted.base(&signer, &integration, &conn).await.1, 2);
    let (base, instances) = counted.base(&signer, &integration, &conn).await;
    assert_eq!(instances, 0, "sign-request still runs per call; api-base and api-auth need not: {base:?}");
}
