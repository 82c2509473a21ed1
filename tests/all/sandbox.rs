//! The sandbox: limits that fail one call only, no ambient authority, and the egress
//! allowlist applied to everything a plugin sends.

use keyway::connection::ConnectionState;
use keyway::egress::{Allowlist, EgressClient, EgressConfig, ResolveRule};
use keyway::engine::bindings::auth_flow::AuthorizeRequest;
use keyway::engine::{CallEnv, CallError, LoadedPlugin};
use keyway::flows::hook_context;
use keyway::integration::IntegrationConfig;
use keyway::trace::Redactor;
use keyway_mock_provider::{MockConfig, MockProvider};
use keyway_tests::components::{GUEST_ALLOC, GUEST_LOOP, GUEST_PROBE, STANDARD_OAUTH2};
use keyway_tests::{MOCK_IP, egress_for};

use crate::{REDIRECT_URI, engine, load};

fn request() -> AuthorizeRequest {
    AuthorizeRequest { redirect_uri: REDIRECT_URI.into(), state: "state-value".into(), code_challenge: None }
}

fn integration(site: &str, settings: serde_json::Value) -> IntegrationConfig {
    let mut config = IntegrationConfig::oauth2("probe", "id", "secret", site, &format!("{site}/authorize"), "/token");
    config.settings = settings;
    config
}

fn env(plugin: &LoadedPlugin, allow: &[&str], egress: EgressConfig) -> CallEnv {
    let mut allowlist = Allowlist::default();
    for url in allow {
        allowlist.allow(url).unwrap();
    }
    CallEnv {
        plugin: plugin.manifest.name.clone(),
        integration: "probe".into(),
        allowlist,
        egress: EgressClient::new(egress).unwrap(),
        redactor: Redactor::default(),
        api: None,
        recorder: keyway::trace::Recorder::off(),
    }
}

/// Runs the probe guest's `authorize-url` in `mode` against `url`, returning its answer.
async fn probe(mode: &str, url: &str, allow: &[&str], egress: EgressConfig) -> Result<String, String> {
    let plugin = load(GUEST_PROBE).await;
    let config = integration("http://127.0.0.1:9", serde_json::json!({"mode": mode, "url": url}));
    let ctx = hook_context(&config, &ConnectionState::default());
    let (result, _) = engine()
        .await
        .authorize_url(&plugin, env(&plugin, allow, egress), ctx, request())
        .await
        .expect("the probe does not trap");
    result.map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn an_endless_loop_hits_the_cpu_budget_and_the_next_call_works() {
    let looping = load(GUEST_LOOP).await;
    let config = integration("http://127.0.0.1:9", serde_json::json!({}));
    let ctx = hook_context(&config, &ConnectionState::default());
    let err = engine()
        .await
        .authorize_url(&looping, env(&looping, &[], EgressConfig::default()), ctx.clone(), request())
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::CpuBudget { hook: "authorize-url", .. }), "{err}");
    assert!(err.to_string().contains("CPU budget"), "{err}");

    let standard = load(STANDARD_OAUTH2).await;
    let (url, _) = engine()
        .await
        .authorize_url(&standard, env(&standard, &[], EgressConfig::default()), ctx, request())
        .await
        .expect("the engine keeps serving");
    assert!(url.unwrap().starts_with("http://127.0.0.1:9/authorize?"));
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_limit_and_the_next_call_works() {
    let hog = load(GUEST_ALLOC).await;
    let config = integration("http://127.0.0.1:9", serde_json::json!({}));
    let ctx = hook_context(&config, &ConnectionState::default());
    let err = engine()
        .await
        .authorize_url(&hog, env(&hog, &[], EgressConfig::default()), ctx.clone(), request())
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Memory { limit_mib: 16, .. }), "{err}");

    // One bad call fails alone: the same plugin fails the same clean way again, and
    // another plugin on the same engine runs normally.
    let again = engine()
        .await
        .authorize_url(&hog, env(&hog, &[], EgressConfig::default()), ctx.clone(), request())
        .await
        .unwrap_err();
    assert!(matches!(again, CallError::Memory { .. }), "{again}");
    let standard = load(STANDARD_OAUTH2).await;
    let (url, _) = engine()
        .await
        .authorize_url(&standard, env(&standard, &[], EgressConfig::default()), ctx, request())
        .await
        .expect("the engine keeps serving");
    assert!(url.is_ok());
}

#[tokio::test]
async fn a_plugin_has_no_environment_files_or_sockets() {
    let none = EgressConfig::default;
    assert_eq!(probe("env", "", &[], none()).await, Ok("env=0".into()));
    let fs = probe("fs", "", &[], none()).await.unwrap_err();
    assert!(fs.contains("fs:"), "{fs}");
    let tcp = probe("tcp", "127.0.0.1:9", &[], none()).await.unwrap_err();
    assert!(tcp.contains("tcp:"), "{tcp}");
}

#[tokio::test]
async fn outbound_requests_outside_the_allowlist_are_refused() {
    let provider = MockProvider::start(MockConfig::default()).await.unwrap();
    let target = format!("{}/api/me", provider.base_url());
    let err = probe("outbound", &target, &["http://127.0.0.1:9"], EgressConfig::default()).await.unwrap_err();
    assert!(err.contains("allowlist"), "{err}");
    assert!(provider.requests().is_empty(), "nothing reached the provider");

    // The same URL once its origin is allowed gets through (401: no token attached).
    let ok = probe("outbound", &target, &[&provider.base_url()], egress_for(&[MOCK_IP])).await;
    assert_eq!(ok, Ok("status=401".into()));
}

/// A listener that records whether anything connected: nothing is accepted, so a connection
/// would wait in its queue, and a non-blocking accept finds it.
struct Listener(std::net::TcpListener);

impl Listener {
    fn on(ip: &str) -> Self {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    fn was_connected(&self) -> bool {
        match self.0.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[tokio::test]
async fn loopback_is_refused_by_default_even_when_allowlisted() {
    let listener = Listener::on("127.0.0.2");
    let origin = format!("http://127.0.0.2:{}", listener.port());
    let url = format!("{origin}/api/me");
    // The production default, and an operator who emptied `blocked_networks`: both refuse.
    for egress in [EgressConfig::default(), EgressConfig { blocked_networks: Vec::new(), ..EgressConfig::default() }] {
        let err = probe("outbound", &url, &[&origin], egress).await.unwrap_err();
        assert!(err.contains("`127.0.0.2` is a loopback address"), "{err}");
        assert!(err.contains("--allow-network 127.0.0.2"), "the refusal names the setting that opens it: {err}");
    }
    // Over https too: the address is refused whatever the scheme.
    let https = format!("https://127.0.0.2:{}", listener.port());
    let err = probe("outbound", &format!("{https}/x"), &[&https], EgressConfig::default()).await.unwrap_err();
    assert!(err.contains("loopback"), "{err}");
    assert!(!listener.was_connected(), "the listener on 127.0.0.2 saw no connection");
}

#[tokio::test]
async fn a_resolve_pin_to_loopback_is_refused_unless_the_address_is_allowed() {
    let listener = Listener::on("127.0.0.3");
    let origin = format!("http://pinned.mock.test:{}", listener.port());
    let pin = vec![ResolveRule { host: "pinned.mock.test".parse().unwrap(), ip: "127.0.0.3".parse().unwrap() }];
    let egress = EgressConfig {
        resolve: pin,
        insecure_http_hosts: vec!["pinned.mock.test".parse().unwrap()],
        // The mock's address is open; this one is not.
        ..egress_for(&[MOCK_IP])
    };
    let err = probe("outbound", &format!("{origin}/api/me"), &[&origin], egress).await.unwrap_err();
    assert!(err.contains("`pinned.mock.test` resolves only to refused addresses"), "{err}");
    assert!(err.contains("`127.0.0.3` is a loopback address") && err.contains("allowed_networks"), "{err}");
    assert!(!listener.was_connected(), "the listener on 127.0.0.3 saw no connection");
}

#[tokio::test]
async fn an_allowed_network_opens_exactly_its_address_over_plain_http() {
    let blocked = "127.0.0.2:0".parse().unwrap();
    let provider = MockProvider::start_on(blocked, MockConfig::default()).await.unwrap();
    let url = format!("{}/api/me", provider.base_url());
    let allow = [provider.base_url()];
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    let err = probe("outbound", &url, &allow, egress_for(&[MOCK_IP])).await.unwrap_err();
    assert!(err.contains("127.0.0.2"), "{err}");
    assert!(provider.requests().is_empty());
    let ok = probe("outbound", &url, &allow, egress_for(&["127.0.0.2".parse().unwrap()])).await;
    assert_eq!(ok, Ok("status=401".into()));
}

#[tokio::test]
async fn host_names_are_normalised_before_the_allowlist_and_the_resolve_pins() {
    let provider = MockProvider::start(MockConfig::default()).await.unwrap();
    let port = provider.local_addr().port();
    let pin = vec![ResolveRule { host: "api.pin.test".parse().unwrap(), ip: MOCK_IP }];
    let egress = EgressConfig {
        resolve: pin,
        insecure_http_hosts: vec!["api.pin.test".parse().unwrap()],
        ..egress_for(&[MOCK_IP])
    };
    let allow = format!("http://api.pin.test:{port}");
    // A trailing dot and capitals name the same host: the allowlist entry, the plain-http
    // exception and the pin all apply (the pin is what gets it to the mock at all).
    for url in [format!("http://API.Pin.test.:{port}/api/me"), format!("http://api.pin.test.:{port}/api/me")] {
        assert_eq!(probe("outbound", &url, &[&allow], egress.clone()).await, Ok("status=401".into()), "{url}");
    }
    assert_eq!(provider.requests_to("/api/me").len(), 2);
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_host_needs_the_operators_exception() {
    let provider = MockProvider::start(MockConfig::default()).await.unwrap();
    let port = provider.base_url().rsplit(':').next().unwrap().to_string();
    let url = format!("http://app.mock.test:{port}/api/me");
    let resolve = vec![ResolveRule { host: "*.mock.test".parse().unwrap(), ip: MOCK_IP }];
    let allow = [format!("http://app.mock.test:{port}")];
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();

    // The pinned address is open; the name still needs its plain-http exception.
    let strict = EgressConfig { resolve: resolve.clone(), ..egress_for(&[MOCK_IP]) };
    let err = probe("outbound", &url, &allow, strict).await.unwrap_err();
    assert!(err.contains("insecure_http_hosts"), "{err}");

    let relaxed =
        EgressConfig { resolve, insecure_http_hosts: vec!["*.mock.test".parse().unwrap()], ..egress_for(&[MOCK_IP]) };
    assert_eq!(probe("outbound", &url, &allow, relaxed).await, Ok("status=401".into()));
}

#[tokio::test]
async fn auth_hooks_cannot_use_the_api_import() {
    let err = probe("api", "/api/me", &[], EgressConfig::default()).await.unwrap_err();
    assert!(err.contains("actions only"), "{err}");
}

/// Runs the probe's `authorize-url` with `settings`, allowing `allow`; the engine's verdict.
async fn probe_with(settings: serde_json::Value, allow: &[&str]) -> Result<Result<String, String>, CallError> {
    let plugin = load(GUEST_PROBE).await;
    let config = integration("http://127.0.0.1:9", settings);
    let ctx = hook_context(&config, &ConnectionState::default());
    let env = env(&plugin, allow, egress_for(&[MOCK_IP]));
    let (result, _) = engine().await.authorize_url(&plugin, env, ctx, request()).await?;
    Ok(result.map_err(|e| format!("{e:?}")))
}

#[tokio::test]
async fn a_sleeping_hook_is_stopped_at_once_and_the_clocks_still_work() {
    // An hour's sleep: the call ends at the sleep, not after it, or this test would not end.
    let err = probe_with(serde_json::json!({"mode": "sleep", "ms": 3_600_000}), &[]).await.unwrap_err();
    assert!(matches!(err, CallError::Sleep { hook: "authorize-url", .. }), "{err}");
    assert!(err.to_string().contains("plugins may not sleep"), "{err}");

    // Reading the monotonic and wall clocks is not sleeping.
    assert_eq!(probe_with(serde_json::json!({"mode": "clock"}), &[]).await.unwrap(), Ok("clock=ok".into()));
}

#[tokio::test]
async fn an_auth_hook_is_stopped_at_its_cap_on_outbound_requests() {
    let provider = MockProvider::start(MockConfig::default()).await.unwrap();
    let target = format!("{}/api/me", provider.base_url());
    let settings = serde_json::json!({"mode": "flood", "url": target, "count": 25});
    // The guest swallows every error; the cap stops it all the same.
    let err = probe_with(settings, &[&provider.base_url()]).await.unwrap_err();
    assert!(matches!(err, CallError::Limit { hook: "authorize-url", .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("cap of 20 outbound requests") && message.contains("limits.hook_max_calls"), "{message}");
    assert_eq!(provider.requests_to("/api/me").len(), 20, "the 21st request was never sent");

    // Under the cap, a hook sends what it needs.
    let settings = serde_json::json!({"mode": "flood", "url": target, "count": 3});
    assert_eq!(probe_with(settings, &[&provider.base_url()]).await.unwrap(), Ok("sent=3 failed=0".into()));
}

/// Egress checks TLS certificates against the public roots: a server whose certificate no
/// public CA signed (`tls/self-signed.crt`, for 127.0.0.4) is refused in the handshake, the
/// error says it was the certificate, and no request reaches the server.
#[tokio::test]
async fn https_to_a_self_signed_certificate_fails_in_the_handshake() {
    use keyway::egress::{EgressError, OutboundRequest};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = vec![CertificateDer::from_pem_slice(include_bytes!("tls/self-signed.crt")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/self-signed.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.4:0").await.unwrap();
    let origin = format!("https://127.0.0.4:{}", listener.local_addr().unwrap().port());
    // Reports each handshake's outcome as the server saw it.
    let (seen, mut handshakes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = seen.send(acceptor.accept(stream).await.map(|_| ()).map_err(|e| e.to_string()));
        }
    });

    let client = EgressClient::new(egress_for(&["127.0.0.4".parse().unwrap()])).unwrap();
    let mut allow = Allowlist::default();
    allow.allow(&origin).unwrap();
    let request = OutboundRequest { method: "GET".into(), url: format!("{origin}/x"), headers: Vec::new(), body: None };
    let err = client.send(&allow, &request, &Redactor::default(), &keyway::trace::Recorder::off()).await.unwrap_err();
    assert!(matches!(err, EgressError::Transport(_)), "{err:?}");
    assert!(err.to_string().contains("invalid peer certificate"), "the error names the certificate: {err}");
    let outcome = handshakes.recv().await.expect("the client connected");
    assert!(outcome.is_err(), "the handshake did not complete: {outcome:?}");
}
