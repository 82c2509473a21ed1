//! Connection lifecycle events: webhooks receive each event signed, at least once, across
//! receiver failures, a `kill -9` and two replicas; `GET /api/v1/events` logs the deliveries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use keyway_mock_provider::{MockConfig, MockProvider};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::api::{Api, Backend, Client, Process, ProcessConfig, assert_no_secrets, both_backends, secrets};

both_backends!(
    each_lifecycle_event_reaches_the_webhook_signed_and_is_logged,
    a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt,
    a_webhook_url_the_egress_rules_refuse_is_refused_with_the_fix,
    a_kill_9_after_the_commit_loses_no_event,
);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    event_id: String,
    body: String,
}

/// A webhook receiver on loopback: answers each request with the next scripted status (200
/// once the script runs out) and keeps what it got.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<Vec<u16>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Receiver, String) {
        let receiver =
            Receiver { script: Arc::new(Mutex::new(script.iter().rev().copied().collect())), ..Default::default() };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let header =
                        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    state.received.lock().unwrap().push(Received {
                        signature: header("keyway-signature"),
                        event_id: header("keyway-event-id"),
                        body,
                    });
                    let status = state.script.lock().unwrap().pop().unwrap_or(200);
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver serves") });
        (receiver, format!("http://{addr}/hook"))
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn answer_next(&self, statuses: &[u16]) {
        *self.script.lock().unwrap() = statuses.iter().rev().copied().collect();
    }
}

/// Checks `Keyway-Signature` as the README tells receivers to: HMAC-SHA256 under the secret
/// over `{t}.{body}`, and `t` within five minutes.
fn verify(secret: &str, received: &Received) {
    let (t, v1) = received
        .signature
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("`t=...,v1=...`: {}", received.signature));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()), "the signature verifies");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - t.parse::<i64>().unwrap()).abs() < 300, "a fresh timestamp");
}

/// Registers a webhook for every integration: `(id, secret)`.
async fn register(client: &Client, url: &str) -> (String, String) {
    let created = client.admin(Method::POST, "/api/v1/webhooks", Some(json!({"url": url}))).await.expect(201);
    let secret = created["secret"].as_str().expect("the secret, once").to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    (created["id"].as_str().unwrap().to_string(), secret)
}

/// Waits until `done` holds for the event log (at most 20 s), and returns it.
async fn log_until(client: &Client, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let log = client.admin(Method::GET, "/api/v1/events?limit=500", None).await.expect(200);
        let items = log["items"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return items;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the event log never got there: {log:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn delivered(event: &Value) -> bool {
    event["deliveries"].as_array().is_some_and(|d| !d.is_empty() && d.iter().all(|d| d["state"] == "delivered"))
}

async fn each_lifecycle_event_reaches_the_webhook_signed_and_is_logged(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (receiver, url) = Receiver::start(&[]).await;
    let (webhook, secret) = register(&api, &url).await;
    let listed = api.get("/api/v1/webhooks").await;
    assert_eq!(listed["items"][0]["id"], webhook.as_str());
    assert!(!listed.to_string().contains(&secret), "the secret is shown once: {listed}");

    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    let id = api.connect(&key, &integration).await; // connection.active
    let refresh = format!("/api/v1/connections/{id}/refresh");
    api.mock.respond_next_token_request(400, "application/json", r#"{"error":"invalid_request"}"#);
    assert!(api.admin(Method::POST, &refresh, None).await.status >= 400, "a refresh that fails");
    api.admin(Method::POST, &refresh, None).await.expect(200); // connection.refreshed
    api.mock.respond_next_token_request(400, "application/json", r#"{"error":"invalid_grant"}"#);
    api.admin(Method::POST, &refresh, None).await.expect(409); // connection.needs_reauth
    // A second connection whose code the provider refuses: connection.failed.
    let (failing, authorize) = api.start_connection(&key, &integration, json!({"name": "second"})).await;
    let callback = api.authorize(&authorize).await;
    let mut forged = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "code" { "mock-code-forged".to_string() } else { v.to_string() }))
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    api.callback(forged.as_str()).await;
    assert_eq!(api.get(&format!("/api/v1/connections/{failing}")).await["status"], "failed");
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}?force=true"), None).await.expect(204); // connection.deleted

    let expected = [
        ("connection.active", id.as_str(), "active"),
        ("connection.refreshed", id.as_str(), "active"),
        ("connection.needs_reauth", id.as_str(), "needs_reauth"),
        ("connection.failed", failing.as_str(), "failed"),
        ("connection.deleted", id.as_str(), "needs_reauth"),
    ];
    let log = log_until(&api, |items| items.len() == expected.len() && items.iter().all(delivered)).await;
    let mut oldest_first = log.clone();
    oldest_first.reverse();
    for (event, (kind, connection, status)) in oldest_first.iter().zip(expected) {
        assert_eq!(
            (event["type"].as_str(), event["connection_id"].as_str()),
            (Some(kind), Some(connection)),
            "{event}"
        );
        assert_eq!(event["status"], status, "{event}");
        assert_eq!(event["integration_id"], integration.as_str());
        let delivery = &event["deliveries"][0];
        assert_eq!((delivery["webhook_id"].as_str(), delivery["attempts"].as_i64()), (Some(webhook.as_str()), Some(1)));
        assert_eq!(delivery["last_status"], 200, "{event}");
    }
    assert!(oldest_first[2]["last_error"].as_str().is_some_and(|e| e.contains("invalid_grant")), "{log:#?}");

    let got = receiver.received();
    assert_eq!(got.len(), expected.len(), "each event once: {got:#?}");
    for received in &got {
        verify(&secret, received);
        let body: Value = serde_json::from_str(&received.body).expect("a JSON body");
        assert_eq!(body["id"], received.event_id.as_str(), "Keyway-Event-Id names the event");
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["at", "connection_id", "id", "integration_id", "last_error", "status", "type"], "{body}");
        let logged = log.iter().find(|e| e["id"] == body["id"]).expect("the logged event");
        let mut without_deliveries = logged.clone();
        without_deliveries.as_object_mut().unwrap().remove("deliveries");
        assert_eq!(without_deliveries, body, "the log shows the body that was sent");
    }
    let texts: Vec<String> = got.iter().map(|r| r.body.clone()).chain([format!("{log:?}")]).collect();
    let leaks = secrets(&api.mock, &[&api.admin_key, &secret]);
    assert_no_secrets(texts.iter().map(|t| ("an event", t.as_str())), &leaks);

    let one = api.admin(Method::GET, &format!("/api/v1/events?connection_id={failing}"), None).await.expect(200);
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1), "filtered to one connection: {one}");
    for limit in [0, 501] {
        let (_, field, message) =
            api.admin(Method::GET, &format!("/api/v1/events?limit={limit}"), None).await.error(400);
        assert_eq!(field.as_deref(), Some("limit"), "{message}");
    }
    let (_, member) = api.member_key("member").await;
    let refused = api.request(Method::GET, "/api/v1/events", Some(&member), None).await;
    assert_eq!(refused.status, 403, "the event log is the admin's: {}", refused.text);
    api.admin(Method::DELETE, &format!("/api/v1/webhooks/{webhook}"), None).await.expect(204);
    assert_eq!(api.get("/api/v1/webhooks").await["items"], json!([]));
}

async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let (_, secret) = register(&api, &url).await;
    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    api.connect(&key, &integration).await;

    let retrying = log_until(&api, |items| items.first().is_some_and(|e| e["deliveries"][0]["attempts"] == 1)).await;
    let delivery = &retrying[0]["deliveries"][0];
    assert_eq!(delivery["state"], "pending", "{delivery}");
    assert_eq!(delivery["last_status"], 500, "{delivery}");
    assert!(delivery["last_error"].as_str().is_some_and(|e| e.contains("HTTP 500")), "{delivery}");
    assert!(delivery["next_attempt_at"].is_string(), "when it will be tried again: {delivery}");

    let log = log_until(&api, |items| items.first().is_some_and(delivered)).await;
    let delivery = &log[0]["deliveries"][0];
    assert_eq!((delivery["attempts"].as_i64(), delivery["last_status"].as_i64()), (Some(3), Some(200)), "{delivery}");
    assert!(delivery["last_error"].is_null() && delivery["delivered_at"].is_string(), "{delivery}");
    let got = receiver.received();
    assert_eq!(got.len(), 3, "two refusals, then the delivery");
    assert!(got.iter().all(|r| r.event_id == got[0].event_id), "one event, retried: {got:#?}");
    got.iter().for_each(|r| verify(&secret, r));
}

async fn a_webhook_url_the_egress_rules_refuse_is_refused_with_the_fix(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    // 127.0.0.2 is loopback, which the test server leaves blocked (only the mock's 127.0.0.1
    // is allowed): nothing is ever sent to it.
    for (url, says) in [
        ("http://127.0.0.2:9/hook", "allowed_networks"),
        ("ftp://127.0.0.1/hook", "https"),
        ("https://user:pass@127.0.0.1/hook", "credentials"),
        ("hooks.example.com/keyway", "absolute URL"),
    ] {
        let (code, field, message) =
            api.admin(Method::POST, "/api/v1/webhooks", Some(json!({"url": url}))).await.error(400);
        assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("url")), "{url}: {message}");
        assert!(message.contains(says), "{url}: {message}");
    }
    let (_, field, message) = api
        .admin(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/hook", "integration_id": "int_nope"})),
        )
        .await
        .error(400);
    assert_eq!(field.as_deref(), Some("integration_id"), "{message}");
    let (_, member) = api.member_key("member").await;
    let refused = api
        .request(Method::POST, "/api/v1/webhooks", Some(&member), Some(json!({"url": "http://127.0.0.1:9/hook"})))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(api.get("/api/v1/webhooks").await["items"], json!([]), "nothing was registered");
}

async fn a_kill_9_after_the_commit_loses_no_event(backend: Backend) {
    let Some(db) = backend.database().await else { return };
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let (receiver, url) = Receiver::start(&[503; 1000]).await;
    let config = ProcessConfig::for_database(&db, backend);
    let mut first = Process::start(&config, db.dir.path().join("first.log")).await;
    let client = Client::new(&first.url, &config.admin_key);
    let (_, secret) = register(&client, &url).await;
    let integration = client.create_integration(&mock, json!({})).await["id"].as_str().unwrap().to_string();
    let id = client.connect(&config.admin_key, &integration).await;
    // The change is committed and its delivery is being refused: now the process dies.
    log_until(&client, |items| items.first().is_some_and(|e| e["deliveries"][0]["attempts"].as_i64() >= Some(1))).await;
    first.kill();

    receiver.answer_next(&[]);
    let second = Process::start(&config, db.dir.path().join("second.log")).await;
    let client = client.on(&second.url);
    let log = log_until(&client, |items| items.first().is_some_and(delivered)).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        (log[0]["type"].as_str(), log[0]["connection_id"].as_str()),
        (Some("connection.active"), Some(id.as_str()))
    );
    let got = receiver.received();
    let last = got.last().expect("deliveries");
    assert_eq!(last.event_id, log[0]["id"].as_str().unwrap(), "the same event, after the restart");
    verify(&secret, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_deliver_each_event_once() {
    let Some(db) = Backend::Postgres.database().await else { return };
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let (receiver, url) = Receiver::start(&[]).await;
    let config = ProcessConfig::for_database(&db, Backend::Postgres);
    let a = Process::start(&config, db.dir.path().join("a.log")).await;
    let b = Process::start(&config, db.dir.path().join("b.log")).await;
    let on_a = Client::new(&a.url, &config.admin_key);
    let on_b = on_a.on(&b.url);
    register(&on_a, &url).await;
    let site = mock.base_url();
    let created = on_a
        .admin(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"name": "tokens", "auth_method": "token", "site": site, "client_secret": null})),
        )
        .await
        .expect(201);
    let integration = created["id"].as_str().unwrap().to_string();
    let connections = 12;
    for i in 0..connections {
        let replica = if i % 2 == 0 { &on_a } else { &on_b };
        replica
            .admin(
                Method::POST,
                &format!("/api/v1/integrations/{integration}/connections"),
                Some(json!({"name": format!("c{i}"), "credentials": {"token": format!("static-{i}")}})),
            )
            .await
            .expect(201);
    }
    let log = log_until(&on_b, |items| items.len() == connections && items.iter().all(delivered)).await;
    // Both dispatchers keep polling; give a duplicate the time to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut ids: Vec<String> = receiver.received().into_iter().map(|r| r.event_id).collect();
    ids.sort();
    let mut expected: Vec<String> = log.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    expected.sort();
    assert_eq!(ids, expected, "every event once, from one replica or the other");
    assert!(log.iter().all(|e| e["deliveries"][0]["attempts"] == 1), "one attempt each: {log:#?}");
    for (process, name) in [(&a, "a"), (&b, "b")] {
        let text = std::fs::read_to_string(&process.log).unwrap_or_default();
        assert!(!text.contains("static-"), "replica {name} logged a token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_whose_address_is_now_blocked_is_refused_at_send_time() {
    let api = Api::start(Backend::Sqlite).await.expect("SQLite is always there");
    let (receiver, url) = Receiver::start(&[]).await;
    let (webhook, _) = register(&api, &url).await;
    // As if the host's name now resolved into a blocked network: registration was not the
    // last check. 127.0.0.2 is loopback, which this server leaves blocked.
    let pool = sqlx::SqlitePool::connect(api.database_url()).await.expect("the SQLite file");
    sqlx::query("UPDATE webhooks SET url = 'http://127.0.0.2:9/hook' WHERE id = $1")
        .bind(&webhook)
        .execute(&pool)
        .await
        .expect("the row changes");
    pool.close().await;

    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    api.connect(&key, &integration).await;
    let log = log_until(&api, |items| items.first().is_some_and(|e| e["deliveries"][0]["attempts"] == 1)).await;
    let delivery = &log[0]["deliveries"][0];
    assert_eq!(delivery["state"], "pending", "{delivery}");
    assert!(delivery["last_status"].is_null(), "nothing answered: nothing was sent: {delivery}");
    let error = delivery["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("refused") && error.contains("127.0.0.2"), "the egress rules refused it: {error}");
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned_once_their_deliveries_are_done() {
    let api = Api::start(Backend::Sqlite).await.expect("SQLite is always there");
    let (receiver, url) = Receiver::start(&[]).await;
    register(&api, &url).await;
    let integration = api.integration(json!({})).await;
    let key = api.admin_key.clone();
    api.connect(&key, &integration).await;
    log_until(&api, |items| items.len() == 1 && items.iter().all(delivered)).await;
    receiver.answer_next(&[503; 1000]);
    api.connect(&key, &integration).await;
    log_until(&api, |items| items.len() == 2 && items[0]["deliveries"][0]["attempts"] == 1).await;

    // Everything is "old" from a minute ahead: the delivered event goes, the pending one stays.
    let ahead = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + 60;
    assert_eq!(api.service.store().prune_events(ahead).await.unwrap(), 1);
    let log = api.get("/api/v1/events").await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["deliveries"][0]["state"], "pending", "{log}");
}
