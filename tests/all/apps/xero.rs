//! Xero through the service (https://developer.xero.com/documentation/guides/oauth2/auth-flow): after the exchange
//! the plugin lists the connected tenants and keeps the first, every API call names it in `xero-tenant-id`, and the
//! rotating refresh tokens carry the 60-day expiry Xero documents but does not send. The mock plays login, identity
//! and api.xero.com at one address (`api_url`).

use keyway_mock_provider::apps::xero::{
    AUTHORIZE_PATH, CONNECTIONS_PATH, ORGANISATION_PATH, REFRESH_TOKEN_SECONDS, REVOKE_PATH, TENANTS, TOKEN_PATH,
};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::XERO;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the Xero plugin and an integration registered with Xero's paths and Basic client authentication.
async fn xero() -> (Api, String) {
    let api = start(App::Xero, MockConfig::default()).await;
    assert_eq!(install(&api, XERO).await["name"], "xero");
    let base = api.mock.base_url();
    let integration = api
        .integration(json!({
            "name": "xero",
            "plugin": "xero",
            "authorization_url": format!("{base}{AUTHORIZE_PATH}"),
            "token_path": TOKEN_PATH,
            "revoke_path": REVOKE_PATH,
            "client_auth": "basic",
            "scopes": ["openid", "profile", "email", "accounting.settings", "offline_access"],
            "settings": {"api_url": base},
        }))
        .await;
    (api, integration)
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, callback) = authorize(api, integration).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

async fn view(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

/// Seconds from now until an RFC 3339 time.
fn seconds_until(time: &Value) -> i64 {
    let at = humantime::parse_rfc3339(time.as_str().expect("a time")).expect("RFC 3339");
    let now = std::time::SystemTime::now();
    match at.duration_since(now) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    }
}

async fn organisation(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, json!({"method": "GET", "path": "/Organisation"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xero_connects_keeps_the_first_tenant_and_names_it_on_every_api_call() {
    let (api, integration) = xero().await;
    let id = connect(&api, &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["tenant_id"], TENANTS[0].0, "the first tenant: {connection}");
    assert_eq!(connection["metadata"]["tenant_name"], TENANTS[0].1, "{connection}");
    let lookup = api.mock.requests_to(CONNECTIONS_PATH);
    assert_eq!(lookup.len(), 1, "listed once, right after the exchange");
    assert!(lookup[0].header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")));
    let exchange = api.mock.requests_to(TOKEN_PATH).pop().unwrap();
    assert!(exchange.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{exchange:?}");

    assert_eq!(organisation(&api, &id).await["Organisations"][0]["Name"], TENANTS[0].1);
    let call = api.mock.requests_to(ORGANISATION_PATH).pop().unwrap();
    assert_eq!(call.header("xero-tenant-id"), Some(TENANTS[0].0), "{call:?}");
    assert_eq!(call.header("accept"), Some("application/json"), "{call:?}");
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xero_refresh_tokens_expire_in_sixty_days_and_rotate() {
    let (api, integration) = xero().await;
    let id = connect(&api, &integration).await;
    let connection = view(&api, &id).await;
    let left = seconds_until(&connection["refresh_expires_at"]);
    assert!((REFRESH_TOKEN_SECONDS as i64 - 120..=REFRESH_TOKEN_SECONDS as i64).contains(&left), "{connection}");
    assert!(seconds_until(&connection["expires_at"]) <= 1800, "Xero's 30-minute access token: {connection}");

    let mut sent = Vec::new();
    for _ in 0..2 {
        let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
        assert_eq!(refreshed["status"], "active", "{refreshed}");
        assert!(seconds_until(&refreshed["refresh_expires_at"]) > REFRESH_TOKEN_SECONDS as i64 - 120, "{refreshed}");
        assert_eq!(refreshed["metadata"]["tenant_id"], TENANTS[0].0, "{refreshed}");
        sent.push(api.mock.requests_to(TOKEN_PATH).pop().unwrap().form_param("refresh_token").unwrap());
    }
    assert_ne!(sent[0], sent[1], "the second refresh sent the token the first one rotated in");
    assert!(api.mock.is_revoked(&sent[0]));
    assert_eq!(organisation(&api, &id).await["Status"], "OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_the_refresh_token_at_xero() {
    let (api, integration) = xero().await;
    let id = connect(&api, &integration).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let revoke = api.mock.requests_to(REVOKE_PATH).pop().expect("a revocation");
    let token = revoke.form_param("token").expect("the token");
    assert!(token.starts_with("mock-rt-") && api.mock.is_revoked(&token), "{revoke:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_xero_refuses_fails_the_connection_before_any_tenant_lookup() {
    let (api, integration) = xero().await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
    assert!(api.mock.requests_to(CONNECTIONS_PATH).is_empty());
}
