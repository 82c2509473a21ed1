//! The per-call hooks through the service: a plugin that signs every API call (`sign-request`), keeps a second
//! credential from the token response as a sealed connection secret, reads a secret integration setting, and whose
//! app refuses PKCE; and a refresh token that expires on its own. The plugin is the test guest `guest-signer`, whose
//! signature these tests recompute.

use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::GUEST_SIGNER;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{authorize, install, start};
use crate::api::Api;

const APP_SECRET: &str = "sign-me-s3cret";

fn config() -> MockConfig {
    MockConfig { require_pkce: false, session_tokens: true, refresh_token_ttl: Some(3600), ..MockConfig::default() }
}

async fn signed(config: MockConfig) -> (Api, Value) {
    signed_with(config, json!({"app_secret": APP_SECRET, "region": "eu"})).await
}

async fn signed_with(config: MockConfig, settings: Value) -> (Api, Value) {
    let api = start(App::Standard, config).await;
    assert_eq!(install(&api, GUEST_SIGNER).await["name"], "guest-signer");
    let body = crate::api::integration_body(
        &api.mock,
        json!({"name": "signed", "plugin": "guest-signer", "settings": settings}),
    );
    let created = api.admin(Method::POST, "/api/v1/integrations", Some(body)).await.expect(201);
    (api, created)
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, callback) = authorize(api, integration).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

/// Checks `sent`'s signature as the guest computes it, and returns its nonce.
fn verify_signature(api: &Api, sent: &RecordedRequest) -> String {
    let header = |name: &str| sent.header(name).unwrap_or_else(|| panic!("no `{name}` on {sent:?}")).to_string();
    let token = header("authorization").strip_prefix("Bearer ").expect("a bearer token").to_string();
    let session = header("x-session");
    assert_eq!(session, format!("mock-st-{token}"), "the session secret of this token was placed");
    let url = format!("{}{}", api.mock.base_url(), sent.path);
    let text = format!(
        "{APP_SECRET}\n{}\n{url}\n{}\n{}\n{token}\n{session}",
        sent.method,
        header("x-timestamp"),
        header("x-nonce")
    );
    let expected: String = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(header("x-sign"), expected, "the signature covers this call's token, nonce and time");
    header("x-nonce")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_is_signed_afresh_retries_included() {
    let (api, created) = signed(config()).await;
    let integration = created["id"].as_str().unwrap().to_string();
    let id = connect(&api, &integration).await;
    let key = api.admin_key.clone();

    for _ in 0..2 {
        let answer = api.web(&key, &id, json!({"method": "GET", "path": "/api/items"})).await;
        let answer = answer.expect(200);
        assert_eq!(answer["status"], 200, "{answer}");
        // The app echoes its request headers; the session secret is masked on the way back.
        assert!(!answer.to_string().contains("mock-st-"), "the session token reached the caller: {answer}");
        assert_eq!(answer["body"]["headers"]["authorization"], "Bearer [redacted]", "{answer}");
    }
    let sent = api.mock.requests_to("/api/items");
    assert_eq!(sent.len(), 2);
    let nonces: Vec<String> = sent.iter().map(|s| verify_signature(&api, s)).collect();
    assert_ne!(nonces[0], nonces[1], "each call has its own nonce");
    assert!(nonces.iter().all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())), "{nonces:?}");

    // A 401 makes the host refresh and retry: the retry is signed again, with the new token.
    api.mock.expire_access_tokens();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/api/items"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    let sent = api.mock.requests_to("/api/items");
    assert_eq!(sent.len(), 4, "the refused call and its retry");
    let (refused, retried) = (&sent[2], &sent[3]);
    assert_ne!(refused.header("authorization"), retried.header("authorization"), "the retry uses the new token");
    assert_ne!(verify_signature(&api, refused), verify_signature(&api, retried));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_settings_and_connection_secrets_are_sealed_and_never_returned() {
    let (api, created) = signed(config()).await;
    assert_eq!(created["secret_settings"], json!(["app_secret"]), "{created}");
    assert_eq!(created["settings"], json!({"region": "eu"}), "the plain settings stay as given: {created}");
    let integration = created["id"].as_str().unwrap().to_string();
    let id = connect(&api, &integration).await;

    let views = [
        api.get(&format!("/api/v1/integrations/{integration}")).await,
        api.get("/api/v1/integrations").await,
        api.get(&format!("/api/v1/connections/{id}")).await,
        api.get("/api/v1/connections").await,
    ];
    for view in &views {
        let text = view.to_string();
        assert!(!text.contains(APP_SECRET) && !text.contains("mock-st-"), "a secret was returned: {text}");
    }
    assert_eq!(views[2]["status"], "active", "{}", views[2]);
    // Actions never see a secret setting.
    let given = crate::actions::run(&api, &id, "settings", json!({})).await.expect(200);
    assert_eq!(given["output"], json!({"region": "eu"}), "{given}");
    assert!(views[2]["refresh_expires_at"].is_string(), "the refresh token's expiry is shown: {}", views[2]);

    // Leaving a secret setting out of an update keeps it; a non-string is refused with its field named.
    let path = format!("/api/v1/integrations/{integration}");
    let kept = api.admin(Method::PATCH, &path, Some(json!({"settings": {"region": "us"}}))).await.expect(200);
    assert_eq!(kept["secret_settings"], json!(["app_secret"]), "{kept}");
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/api/items"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    verify_signature(&api, &api.mock.requests_to("/api/items")[0]);
    let refused = api.admin(Method::PATCH, &path, Some(json!({"settings": {"app_secret": 5}}))).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["error"]["field"], "settings.app_secret", "{}", refused.text);
    assert!(refused.text.contains("must be a non-empty string"), "{}", refused.text);
    // `null` removes it, and the plugin requires it.
    let removed = api.admin(Method::PATCH, &path, Some(json!({"settings": {"app_secret": null}}))).await;
    assert_eq!(removed.status, 400, "{}", removed.text);
    assert!(removed.text.contains("needs the setting `app_secret`"), "{}", removed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_follows_what_the_plugin_says_its_app_supports() {
    let (api, created) = signed(config()).await;
    assert_eq!(created["pkce"], false, "the plugin says its app refuses PKCE: {created}");
    let body = crate::api::integration_body(
        &api.mock,
        json!({"name": "forced", "plugin": "guest-signer", "pkce": true, "settings": {"app_secret": "x"}}),
    );
    let refused = api.admin(Method::POST, "/api/v1/integrations", Some(body)).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["error"]["field"], "pkce", "{}", refused.text);
    assert!(refused.text.contains("does not support PKCE"), "{}", refused.text);

    // The flow runs without a challenge, which this provider would not accept from this plugin's app.
    let integration = created["id"].as_str().unwrap().to_string();
    let (_, authorize_url) = api.start_connection(&api.admin_key.clone(), &integration, json!({"name": "m"})).await;
    assert!(!authorize_url.contains("code_challenge"), "{authorize_url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_past_its_own_expiry_marks_the_connection_needs_reauth() {
    let (api, created) = signed(MockConfig { refresh_token_ttl: Some(1), ..config() }).await;
    let integration = created["id"].as_str().unwrap().to_string();
    let id = connect(&api, &integration).await;
    // Expiry is in whole seconds from when the exchange was sent: two seconds are always past it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let refused = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("refresh token expired"), "{}", refused.text);
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "needs_reauth", "{view}");
    assert!(view["last_error"].as_str().unwrap_or_default().contains("reconnect"), "{view}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 0, "an expired refresh token is never sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_is_held_to_the_egress_rules() {
    let canary = crate::boundary::canary("127.0.0.3").await;
    let settings = json!({"app_secret": APP_SECRET, "sign_to": format!("{}/steal", canary.url)});
    let (api, created) = signed_with(config(), settings).await;
    let id = connect(&api, created["id"].as_str().unwrap()).await;
    let key = api.admin_key.clone();
    let reply = api.web(&key, &id, json!({"method": "GET", "path": "/api/items"})).await;
    assert!(reply.status >= 400, "the re-pointed call must fail: {}", reply.text);
    assert!(reply.text.contains("127.0.0.3"), "the refusal names where it was going: {}", reply.text);
    assert!(!reply.text.contains("mock-at-") && !reply.text.contains("mock-st-"), "{}", reply.text);
    assert_eq!(canary.hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the canary was offered a connection");
    assert!(api.mock.requests_to("/api/items").is_empty());
}
