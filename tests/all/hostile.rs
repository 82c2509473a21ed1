//! Hostile guests against a running service: each class of abuse runs on one integration
//! while a healthy connection on another integration makes API calls, and every healthy call
//! must succeed. Limits are scaled down through settings (a quota of 2, 20 calls, 1 s holds)
//! so each check takes seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keyway::engine::Limits;
use keyway_mock_provider::MockConfig;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::actions::{run, save};
use crate::api::{Api, Backend, Options, Reply, both_backends};
use crate::apps::install;

both_backends!(
    hooks_holding_their_slots_get_503_beyond_the_quota_and_another_integration_is_unaffected,
    a_declarative_action_on_a_slow_api_cannot_stall_another_integration,
    a_sleeping_hook_is_refused_and_holds_no_slot,
    a_hook_flooding_huge_refused_requests_is_stopped_at_its_cap,
);

/// How many hostile calls run at once: ten times the quota.
const HOSTILE: usize = 20;

/// A quota of 2 under a host cap of 4, a 1 s wait for a slot, 20 requests per hook.
fn scaled_down() -> Options {
    let limits = Limits {
        max_concurrent_calls: 4,
        integration_concurrent_calls: 2,
        quota_wait: Duration::from_secs(1),
        hook_max_calls: 20,
        ..Limits::default()
    };
    Options { limits, ..Options::default() }
}

/// A healthy connection on its own integration of the standard plugin: its id.
pub(crate) async fn healthy(api: &Api) -> String {
    let integration = api.integration(json!({"name": "healthy"})).await;
    let key = api.admin_key.clone();
    api.connect(&key, &integration).await
}

/// `n` Web API calls through the healthy connection, one after another; every answer.
async fn healthy_calls(api: &Api, connection: &str, n: usize) -> Vec<Reply> {
    let key = api.admin_key.clone();
    let mut replies = Vec::new();
    for _ in 0..n {
        replies.push(api.web(&key, connection, json!({"method": "GET", "path": "/api/me"})).await);
    }
    replies
}

#[track_caller]
fn assert_all_healthy(replies: &[Reply]) {
    for reply in replies {
        let answer = reply.expect(200);
        assert_eq!(answer["status"], 200, "the healthy call reached the app: {answer}");
    }
}

/// The 503s among `replies`, each checked: code `busy`, a `Retry-After` in whole seconds, and
/// a message naming the quota's setting.
#[track_caller]
fn busy(replies: &[Reply]) -> usize {
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    for reply in &busy {
        let (code, _, message) = reply.error(503);
        assert_eq!(code, "busy", "{message}");
        assert!(message.contains("limits.integration_concurrent_calls"), "{message}");
        let retry = reply.header("retry-after").unwrap_or_else(|| panic!("no Retry-After on {}", reply.text));
        assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "Retry-After: {retry}");
    }
    busy.len()
}

/// An integration of `guest-probe` with `settings`, on `site`: its id.
async fn probe_integration(api: &Api, site: &str, settings: Value) -> String {
    install(api, keyway_tests::components::GUEST_PROBE).await;
    let body = json!({
        "name": "hostile",
        "plugin": "guest-probe",
        "site": site,
        "authorization_url": format!("{site}/authorize"),
        "settings": settings,
    });
    api.integration(body).await
}

/// `HOSTILE` connection creations on `integration` at once, each running the probe's
/// `authorize-url`; every answer.
async fn hostile_connections(api: &Api, integration: &str) -> tokio::task::JoinSet<Reply> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..HOSTILE {
        let client = api.client.clone();
        let path = format!("/api/v1/integrations/{integration}/connections");
        let body = json!({"name": format!("h{i}"), "inputs": {"tenant": "t"}});
        set.spawn(async move { client.admin(Method::POST, &path, Some(body)).await });
    }
    set
}

/// An upstream that holds every request for `hold` before answering, and counts how many it
/// held at once.
struct SlowUpstream {
    base: String,
    most_at_once: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

impl SlowUpstream {
    async fn start(hold: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (most_at_once, served) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let now = Arc::new(AtomicUsize::new(0));
        let (most, count) = (most_at_once.clone(), served.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (now, most, count) = (now.clone(), most.clone(), count.clone());
                tokio::spawn(async move {
                    if keyway_tests::http::read_request_head(&mut socket).await.is_none() {
                        return;
                    }
                    let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(held, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ =
                        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                });
            }
        });
        Self { base, most_at_once, served }
    }
}

async fn hooks_holding_their_slots_get_503_beyond_the_quota_and_another_integration_is_unaffected(backend: Backend) {
    let Some(api) = Api::with(backend, scaled_down()).await else { return };
    let healthy = healthy(&api).await;
    // Each hostile hook waits 1.5 s on its upstream: longer than anyone waits for a slot.
    let upstream = SlowUpstream::start(Duration::from_millis(1500)).await;
    let settings = json!({"mode": "outbound", "url": format!("{}/hold", upstream.base)});
    let hostile = probe_integration(&api, &upstream.base, settings).await;

    let load = hostile_connections(&api, &hostile).await;
    let replies = healthy_calls(&api, &healthy, 3).await;
    let hostile_replies = load.join_all().await;

    assert_all_healthy(&replies);
    let refused = busy(&hostile_replies);
    assert!(refused >= 1, "the excess was refused, not queued without limit");
    assert!(upstream.most_at_once.load(Ordering::SeqCst) <= 2, "never more than the quota's 2 hooks at once");
    assert_eq!(
        upstream.served.load(Ordering::SeqCst) + refused,
        HOSTILE,
        "every hostile call either ran or was told to retry"
    );
}

async fn a_declarative_action_on_a_slow_api_cannot_stall_another_integration(backend: Backend) {
    // The app takes 1 s per API request, for both integrations.
    let mock = MockConfig { api_latency: Duration::from_secs(1), ..MockConfig::default() };
    let Some(api) = Api::with(backend, Options { mock, ..scaled_down() }).await else { return };
    let healthy = healthy(&api).await;
    let slow = api.integration(json!({"name": "slow"})).await;
    let key = api.admin_key.clone();
    let slow_connection = api.connect(&key, &slow).await;
    let definition = json!({"name": "wait", "steps": [{"name": "only", "method": "GET", "path": "/api/me"}]});
    save(&api, &slow, definition).await.expect(201);

    let mut load = tokio::task::JoinSet::new();
    for _ in 0..HOSTILE {
        let (api_client, connection) = (api.client.clone(), slow_connection.clone());
        load.spawn(async move {
            let path = format!("/api/v1/connections/{connection}/actions/wait");
            api_client.admin(Method::POST, &path, Some(json!({"input": {}}))).await
        });
    }
    let replies = healthy_calls(&api, &healthy, 3).await;
    let runs = load.join_all().await;

    assert_all_healthy(&replies);
    let refused = busy(&runs);
    assert!(refused >= 1, "the excess runs were refused, not queued without limit");
    for run in runs.iter().filter(|r| r.status != 503) {
        run.expect(200);
    }
    // And the integration itself keeps serving once its load is gone.
    run(&api, &slow_connection, "wait", json!({})).await.expect(200);
}

async fn a_sleeping_hook_is_refused_and_holds_no_slot(backend: Backend) {
    let Some(api) = Api::with(backend, scaled_down()).await else { return };
    let healthy = healthy(&api).await;
    // Each hook would sleep 1 s, longer than anyone waits for a slot: were the sleepers
    // holding their slots, most of them would be answered 503.
    let hostile = probe_integration(&api, &api.mock.base_url(), json!({"mode": "sleep", "ms": 1000})).await;

    let load = hostile_connections(&api, &hostile).await;
    let replies = healthy_calls(&api, &healthy, 3).await;
    let hostile_replies = load.join_all().await;

    assert_all_healthy(&replies);
    for reply in &hostile_replies {
        let (code, _, message) = reply.error(502);
        assert_eq!(code, "upstream_error", "{message}");
        assert!(message.contains("plugins may not sleep"), "every sleeper was stopped at its sleep: {message}");
    }
}

async fn a_hook_flooding_huge_refused_requests_is_stopped_at_its_cap(backend: Backend) {
    let Some(api) = Api::with(backend, scaled_down()).await else { return };
    let healthy = healthy(&api).await;
    // 25 requests with 1 MiB URLs to a host outside the allowlist: each is refused, and the
    // guest carries on regardless.
    let settings = json!({"mode": "flood", "url": "http://127.0.0.2:9/collect", "count": 25, "pad": 1 << 20});
    let hostile = probe_integration(&api, &api.mock.base_url(), settings).await;

    let mut load = tokio::task::JoinSet::new();
    for i in 0..2 {
        let client = api.client.clone();
        let path = format!("/api/v1/integrations/{hostile}/connections");
        let body = json!({"name": format!("flood{i}"), "inputs": {"tenant": "t"}});
        load.spawn(async move { client.admin(Method::POST, &path, Some(body)).await });
    }
    let replies = healthy_calls(&api, &healthy, 3).await;
    let floods = load.join_all().await;

    assert_all_healthy(&replies);
    for flood in &floods {
        let (code, _, message) = flood.error(422);
        assert_eq!(code, "limit_exceeded", "{message}");
        assert!(message.contains("cap of 20 outbound requests"), "{message}");
        assert!(message.contains("limits.hook_max_calls"), "names the setting: {message}");
    }
}
