//! The credential boundary through the service, with the hostile `guest-exfil` plugin: no
//! plugin or member can send a connection's credentials outside its allowlist, and what a
//! plugin says is clipped before it is kept or returned.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::actions::run;
use crate::api::{Api, Backend, both_backends};
use crate::apps::install;

both_backends!(a_failing_authorize_hook_leaves_no_connection, a_huge_plugin_error_is_clipped_everywhere);

/// A listener that counts the connections it is offered and answers none: where a leaked
/// credential would arrive. Bound on a loopback address other than the one the tests use.
pub(crate) struct Canary {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

pub(crate) async fn canary(ip: &str) -> Canary {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind the canary");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    Canary { url, hits }
}

/// An API on loopback that answers every request with the request's headers as JSON, as
/// some real APIs' debugging endpoints do.
async fn header_echo() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the echo");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some(request) = keyway_tests::http::read_request_head(&mut socket).await else { return };
                let text = String::from_utf8_lossy(&request);
                let headers: serde_json::Map<String, Value> = text
                    .lines()
                    .skip(1)
                    .filter_map(|line| line.split_once(": "))
                    .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
                    .collect();
                let body = json!({"headers": headers}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

/// A healthy connection on a standard integration of its own, making API calls for as long
/// as a hostile test runs: whatever the hostile plugin does, every one of them must succeed.
pub(crate) struct Healthy {
    stop: Arc<std::sync::atomic::AtomicBool>,
    calls: tokio::task::JoinHandle<(usize, Vec<String>)>,
}

impl Healthy {
    pub(crate) async fn start(api: &Api) -> Healthy {
        let connection = crate::hostile::healthy(api).await;
        let key = api.admin_key.clone();
        let client = api.client.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let calls = tokio::spawn(async move {
            let (mut ok, mut failures) = (0, Vec::new());
            // At least one call, however quickly the hostile part ends.
            while ok + failures.len() == 0 || !stopping.load(Ordering::SeqCst) {
                let reply = client.web(&key, &connection, json!({"method": "GET", "path": "/api/me"})).await;
                match reply.status {
                    200 if reply.json()["status"] == 200 => ok += 1,
                    _ => failures.push(format!("{}: {}", reply.status, reply.text)),
                }
            }
            (ok, failures)
        });
        Healthy { stop, calls }
    }

    /// Stops the calls and checks that every one succeeded.
    pub(crate) async fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let (ok, failures) = self.calls.await.expect("the healthy calls ran");
        assert!(failures.is_empty(), "{} healthy calls failed, e.g. {}", failures.len(), failures[0]);
        assert!(ok > 0);
    }
}

/// The connections of `integration`.
async fn connections_of(api: &Api, integration: &str) -> Vec<Value> {
    let listed = api.get("/api/v1/connections").await;
    listed["items"].as_array().unwrap().iter().filter(|c| c["integration_id"] == integration).cloned().collect()
}

/// guest-exfil installed, and an integration of it on the API's mock with `settings`.
async fn exfil(api: &Api, settings: Value) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let installed = api.get("/api/v1/plugins").await.to_string().contains("\"guest-exfil\"");
    if !installed {
        install(api, keyway_tests::components::GUEST_EXFIL).await;
    }
    let name = format!("exfil-{}", NEXT.fetch_add(1, Ordering::SeqCst));
    api.integration(json!({"name": name, "plugin": "guest-exfil", "settings": settings})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_base_outside_the_allowlist_gets_no_credential() {
    let Some(api) = Api::start(Backend::Sqlite).await else { return };
    let healthy = Healthy::start(&api).await;
    let canary = canary("127.0.0.3").await;
    let integration = exfil(&api, json!({"api_base": format!("{}/v1", canary.url)})).await;
    let key = api.admin_key.clone();
    let connection = api.connect(&key, &integration).await;

    let (code, _, message) = api.web(&key, &connection, json!({"method": "GET", "path": "/me"})).await.error(400);
    assert_eq!(code, "bad_request");
    assert!(message.contains("outside its allowlist") && message.contains("127.0.0.3"), "{message}");
    let reply = run(&api, &connection, "decode-echo", json!({"path": "/me"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("outside its allowlist"), "{}", reply.text);
    assert_eq!(canary.hits.load(Ordering::SeqCst), 0, "the canary was offered a connection");

    // The integration's own site is inside the allowlist, so an API base there still works.
    let fine = exfil(&api, json!({"api_base": format!("{}/api", api.mock.base_url())})).await;
    let connection = api.connect(&key, &fine).await;
    let answer = api.web(&key, &connection, json!({"method": "GET", "path": "/me"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    healthy.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_input_cannot_move_a_host() {
    let Some(api) = Api::start(Backend::Sqlite).await else { return };
    let healthy = Healthy::start(&api).await;
    let canary = canary("127.0.0.3").await;
    let integration = exfil(&api, json!({"api_base": "subdomain"})).await;
    let canary_host = canary.url.trim_start_matches("http://");
    let path = format!("/api/v1/integrations/{integration}/connections");
    for evil in [format!("{canary_host}/#"), format!("{canary_host}#"), "a.b".to_string(), "x@y".to_string()] {
        let body = json!({"name": "evil", "inputs": {"subdomain": evil}});
        let (code, field, message) = api.admin(Method::POST, &path, Some(body)).await.error(400);
        assert_eq!(code, "invalid_field", "{evil}");
        assert_eq!(field.as_deref(), Some("inputs.subdomain"), "{evil}: {message}");
        assert!(message.contains("label"), "{evil}: {message}");
    }
    assert_eq!(connections_of(&api, &integration).await, Vec::<Value>::new(), "nothing was created");
    assert_eq!(canary.hits.load(Ordering::SeqCst), 0);
    healthy.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_echoed_in_basic_form_never_reaches_action_code() {
    let Some(api) = Api::start(Backend::Sqlite).await else { return };
    let echo = header_echo().await;
    install(&api, keyway_tests::components::GUEST_EXFIL).await;
    let token = "static-token-4711-abcdef";
    let integration = api
        .integration(json!({
            "name": "echoing", "plugin": "guest-exfil", "auth_method": "token", "site": echo,
            "client_secret": null, "settings": {"basic_token": true},
        }))
        .await;
    let created = api
        .admin(
            Method::POST,
            &format!("/api/v1/integrations/{integration}/connections"),
            Some(json!({"credentials": {"token": token}})),
        )
        .await
        .expect(201);
    let connection = created["id"].as_str().unwrap();

    let outcome = run(&api, connection, "decode-echo", json!({"path": "/echo"})).await.expect(200);
    let output = &outcome["output"];
    assert_eq!(output["header"], "Basic [redacted]", "{outcome}");
    let text = outcome.to_string();
    let reversed: String = token.chars().rev().collect();
    assert!(!text.contains(token) && !text.contains(&reversed), "{text}");
}

async fn a_failing_authorize_hook_leaves_no_connection(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = exfil(&api, json!({"fail_authorize_bytes": 64})).await;
    let path = format!("/api/v1/integrations/{integration}/connections");
    let (code, _, message) = api.admin(Method::POST, &path, Some(json!({"name": "doomed"}))).await.error(400);
    assert_eq!(code, "bad_request");
    assert!(message.contains(&"e".repeat(64)), "{message}");
    assert_eq!(api.get("/api/v1/connections").await["items"], json!([]), "no orphaned pending connection");

    // A reconnect whose hook fails leaves the connection as it was.
    let working = exfil(&api, json!({})).await;
    let key = api.admin_key.clone();
    let connection = api.connect(&key, &working).await;
    let patch = json!({"settings": {"fail_authorize_bytes": 64}});
    api.admin(Method::PATCH, &format!("/api/v1/integrations/{working}"), Some(patch)).await.expect(200);
    api.admin(Method::POST, &format!("/api/v1/connections/{connection}/reconnect"), None).await.error(400);
    let view = api.get(&format!("/api/v1/connections/{connection}")).await;
    assert_eq!(view["status"], "active", "{view}");
}

async fn a_huge_plugin_error_is_clipped_everywhere(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    // 8 MB from the authorize hook, and a 20 MB API base.
    let integration = exfil(&api, json!({"fail_authorize_bytes": 8 << 20})).await;
    let path = format!("/api/v1/integrations/{integration}/connections");
    let reply = api.admin(Method::POST, &path, Some(json!({"name": "big"}))).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.len() < 4096, "{} bytes answered", reply.text.len());
    assert!(reply.text.contains("cut from 8388608 bytes"), "{}", &reply.text[..200.min(reply.text.len())]);

    // 8 MB from the token-response hook, at the callback: the connection's `last_error`.
    let integration = exfil(&api, json!({"fail_token_bytes": 8 << 20})).await;
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "big"})).await;
    let callback = api.authorize(&authorize_url).await;
    let page = api.callback(&callback).await;
    assert!(page.text.len() < 16 << 10, "a {} byte callback page", page.text.len());
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "failed", "{}", &view.to_string()[..200]);
    let last_error = view["last_error"].as_str().unwrap();
    assert!(last_error.len() < 4200 && last_error.contains("cut from 8388608 bytes"), "{}", last_error.len());

    let integration = exfil(&api, json!({"api_base_bytes": 20 << 20})).await;
    let connection = api.connect(&key, &integration).await;
    let reply = api.web(&key, &connection, json!({"method": "GET", "path": "/me"})).await;
    assert_eq!(reply.status, 400, "{}", &reply.text[..200.min(reply.text.len())]);
    assert!(reply.text.len() < 4096, "{} bytes answered", reply.text.len());
    let listed = api.admin(Method::GET, "/api/v1/connections", None).await;
    assert!(listed.text.len() < 8192, "{} bytes listed", listed.text.len());
}
