//! Token lifecycle through the API: 20 concurrent requests with an expired token make exactly
//! one refresh at the provider, whether the host sees the expiry coming (refresh margin) or
//! the app answers 401; and a refused refresh token asks for a reconnect.

use std::time::Duration;

use keyway_mock_provider::{MockConfig, MockProvider, TokenError};
use reqwest::Method;
use serde_json::json;

use super::{Api, Backend, Client, Options, both_backends};

both_backends!(
    twenty_concurrent_requests_within_the_refresh_margin_make_one_refresh,
    twenty_concurrent_requests_after_a_401_make_one_refresh,
    a_refused_refresh_token_means_needs_reauth,
    an_overloaded_token_endpoint_is_retried_and_the_refresh_token_kept,
    rotated_refresh_tokens_are_stored,
    refreshing_without_a_refresh_token_is_a_409_that_says_to_reconnect,
);

/// Sends 20 `GET /api/me` at once through `connection`, the i-th on `clients[i % len]`;
/// checks every one succeeded upstream.
pub async fn twenty_at_once(clients: &[Client], connection: &str) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = clients[i % clients.len()].clone();
        let connection = connection.to_string();
        tasks.spawn(async move {
            let key = client.admin_key.clone();
            let reply = client.web(&key, &connection, json!({"method": "GET", "path": "/api/me"})).await;
            (i, reply)
        });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, reply) = done.expect("request task");
        let answer = reply.expect(200);
        assert_eq!(answer["status"], 200, "request {i}: {answer}");
        ok += 1;
    }
    assert_eq!(ok, 20);
}

/// Tokens that expire in 60 s, with a 5 min margin: every request sees an expiring token.
/// Once connected, the provider issues hour-long tokens, so the first refresh is enough.
fn short_lived() -> MockConfig {
    MockConfig { access_token_ttl: Some(60), ..MockConfig::default() }
}

async fn twenty_concurrent_requests_within_the_refresh_margin_make_one_refresh(backend: Backend) {
    let options = Options { mock: short_lived(), refresh_margin: Duration::from_secs(300), ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    api.mock.set_config(MockConfig::default());
    let before = api.get(&format!("/api/v1/connections/{id}")).await["expires_at"].clone();

    twenty_at_once(std::slice::from_ref(&api.client), &id).await;
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 1, "exactly one refresh");
    let after = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_ne!(after["expires_at"], before, "the new expiry is stored: {after}");
    assert_eq!(after["status"], "active");
    // Every API call used a valid token: none was refused.
    assert_eq!(api.mock.requests_to("/api/me").len(), 20, "no request had to be retried");
}

async fn twenty_concurrent_requests_after_a_401_make_one_refresh(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    api.me(&id).await;
    // The provider expires the token early: the host only learns it from the 401s.
    api.mock.expire_access_tokens();

    twenty_at_once(std::slice::from_ref(&api.client), &id).await;
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 1, "exactly one refresh");
    let calls = api.mock.requests_to("/api/me");
    let refused = calls.iter().filter(|r| r.header("authorization") == calls[0].header("authorization")).count();
    assert!(refused >= 2, "the old token was used and refused at least once after expiry");
    assert!(calls.len() <= 1 + 20 * 2, "each request retried at most once: {}", calls.len());
}

async fn a_refused_refresh_token_means_needs_reauth(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    api.mock.fail_next_token_request(TokenError::invalid_grant("the refresh token was revoked"));

    let (code, _, message) =
        api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.error(409);
    assert_eq!(code, "conflict");
    assert!(message.contains("reconnect"), "{message}");
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "needs_reauth", "{view}");
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains("invalid_grant")), "{view}");
    let reply = api.web(&api.admin_key, &id, json!({"method": "GET", "path": "/api/me"})).await;
    assert_eq!(reply.error(409).0, "conflict", "a needs_reauth connection is not used");

    // Reconnect through the browser: active again.
    let again = api.admin(Method::POST, &format!("/api/v1/connections/{id}/reconnect"), None).await.expect(200);
    let callback = api.authorize(again["authorize_url"].as_str().unwrap()).await;
    assert_eq!(api.callback(&callback).await.status, 200);
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "active", "{view}");
    assert!(view["last_error"].is_null(), "{view}");
    api.me(&id).await;
    assert_eq!(api.mock.requests_to(MockProvider::TOKEN_PATH).len(), 3);
}

/// A connection to an app that issued no refresh token: refreshing it is the connection's state, not the app
/// failing, so the answer is a 4xx that says what to do, and nothing reaches the provider.
async fn refreshing_without_a_refresh_token_is_a_409_that_says_to_reconnect(backend: Backend) {
    let options =
        Options { mock: MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }, ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;

    let (code, _, message) =
        api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.error(409);
    assert_eq!(code, "conflict", "{message}");
    assert!(message.contains("no refresh token"), "{message}");
    assert!(message.contains(&format!("/api/v1/connections/{id}/reconnect")), "{message}");
    assert!(message.contains("issues no refresh tokens"), "{message}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 0, "nothing was sent");
    // The connection still works until its access token expires.
    api.me(&id).await;
}

async fn an_overloaded_token_endpoint_is_retried_and_the_refresh_token_kept(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    let refresh = format!("/api/v1/connections/{id}/refresh");

    // One 503, then success: the caller just waits.
    api.mock.fail_next_token_request(TokenError::temporarily_unavailable("busy").with_status(503));
    let view = api.admin(Method::POST, &refresh, None).await.expect(200);
    assert_eq!(view["status"], "active", "{view}");
    assert!(view["last_error"].is_null() && view["next_retry_at"].is_null(), "{view}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 2);

    // 503 every time: the refresh fails, but the connection keeps its tokens and refresh token.
    for _ in 0..3 {
        api.mock.fail_next_token_request(TokenError::server_error("down").with_status(503));
    }
    let (code, _, message) = api.admin(Method::POST, &refresh, None).await.error(502);
    assert_eq!(code, "upstream_error", "{message}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 5, "three attempts in all");
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "active", "a provider outage is not the user's to fix: {view}");
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains("503")), "{view}");
    api.me(&id).await;
    let view = api.admin(Method::POST, &refresh, None).await.expect(200);
    assert!(view["last_error"].is_null(), "a good refresh clears the error: {view}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 6);
}

async fn rotated_refresh_tokens_are_stored(backend: Backend) {
    let options =
        Options { mock: MockConfig { rotate_refresh_tokens: true, ..MockConfig::default() }, ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    let refresh = format!("/api/v1/connections/{id}/refresh");
    // The mock revokes the whole grant when a retired refresh token is replayed: three refreshes
    // in a row only succeed if each used the newest one.
    for _ in 0..3 {
        api.admin(Method::POST, &refresh, None).await.expect(200);
    }
    let sent: Vec<String> =
        api.mock.requests_to(MockProvider::TOKEN_PATH).iter().filter_map(|r| r.form_param("refresh_token")).collect();
    assert_eq!(sent.len(), 3);
    assert!(sent[0] != sent[1] && sent[1] != sent[2], "each refresh used the newest refresh token");
    api.me(&id).await;
    api.admin(Method::DELETE, &refresh.replace("/refresh", ""), None).await.expect(204);
    let revoked = api.mock.requests_to(MockProvider::REVOKE_PATH)[0].form_param("token").unwrap();
    assert!(revoked.starts_with("mock-rt-") && !sent.contains(&revoked), "the newest refresh token is revoked");
}
