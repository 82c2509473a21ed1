//! TikTok Shop through the service (https://partner.tiktokshop.com/docv2/, "Authorization overview" and "Sign your
//! API request"): the seller authorizes with `app_key`, the tokens come from GETs with the app's key and secret, their
//! expiry times are Unix times, and the plugin signs every API call in `sign-request` (retries included), which the
//! mock verifies and these tests recompute.

use keyway_mock_provider::apps::tiktok_shop::{
    AUTH_ERROR, AUTHORIZE_PATH, OPEN_ID, REFRESH_PATH, SHOPS_PATH, TOKEN_PATH, sign,
};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::TIKTOK_SHOP;
use reqwest::Method;
use serde_json::{Value, json};

use super::{failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the TikTok Shop plugin, an integration whose site is the API (the mock) and whose authorization
/// URL's host takes the token requests (the mock too), and the server's redirect URL registered with the app.
async fn tiktok_shop() -> (Api, Value) {
    let api = start(App::TiktokShop, MockConfig::default()).await;
    api.mock.set_config(MockConfig { redirect_uris: vec![format!("{}/oauth", api.base)], ..api.mock.config() });
    assert_eq!(install(&api, TIKTOK_SHOP).await["name"], "tiktok-shop");
    let body = crate::api::integration_body(
        &api.mock,
        json!({
            "name": "tiktok-shop",
            "plugin": "tiktok-shop",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "scopes": [],
        }),
    );
    let created = api.admin(Method::POST, "/api/v1/integrations", Some(body)).await.expect(201);
    (api, created)
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, callback) = super::authorize(api, integration).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Seconds from now until an RFC 3339 time.
fn seconds_until(time: &Value) -> i64 {
    let at = humantime::parse_rfc3339(time.as_str().expect("a time")).expect("RFC 3339");
    at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 - now()
}

/// Recomputes `sent`'s signature from what the mock received, and returns its access token.
#[track_caller]
fn verify_signature(api: &Api, sent: &RecordedRequest) -> String {
    let config = api.mock.config();
    assert_eq!(sent.query_param("app_key"), Some(config.client_id.as_str()), "{sent:?}");
    let timestamp: i64 = sent.query_param("timestamp").expect("a timestamp").parse().unwrap();
    assert!((timestamp - now()).abs() <= 5, "Unix seconds, now: {timestamp}");
    let body = String::from_utf8_lossy(&sent.body);
    let expected = sign(&config.client_secret, &sent.path, &sent.query, &body);
    assert_eq!(sent.query_param("sign"), Some(expected.as_str()), "{sent:?}");
    assert_eq!(sent.header("authorization"), None, "only x-tts-access-token carries the token");
    sent.header("x-tts-access-token").expect("the token header").to_string()
}

async fn call(api: &Api, id: &str, request: Value) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, request).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["code"], 0, "{answer}");
    answer["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiktok_shop_connects_with_app_key_and_keeps_unix_expiry_times() {
    let (api, created) = tiktok_shop().await;
    assert_eq!(created["pkce"], false, "{created}");
    let integration = created["id"].as_str().unwrap().to_string();
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "shop"})).await;
    let names: Vec<String> =
        url::Url::parse(&authorize_url).unwrap().query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["app_key", "state"], "{authorize_url}");
    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let exchange = api.mock.requests_to(TOKEN_PATH).pop().expect("the exchange");
    assert_eq!(exchange.method, "GET");
    assert_eq!(exchange.query_param("grant_type"), Some("authorized_code"));
    assert!(exchange.query_param("auth_code").is_some_and(|c| c.starts_with("mock-code-")), "{exchange:?}");
    assert_eq!(exchange.query_param("app_secret"), Some(api.mock.config().client_secret.as_str()));
    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["open_id"], OPEN_ID, "{connection}");
    let expires_in = seconds_until(&connection["expires_at"]);
    assert!((3590..=3600).contains(&expires_in), "an absolute time, read as one: {connection}");
    assert!(seconds_until(&connection["refresh_expires_at"]) > 364 * 86_400, "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_is_signed_over_its_path_query_and_body() {
    let (api, created) = tiktok_shop().await;
    let id = connect(&api, created["id"].as_str().unwrap()).await;
    let shops = call(&api, &id, json!({"method": "GET", "path": SHOPS_PATH, "query": {"page_size": "20"}})).await;
    assert_eq!(shops["data"]["shops"][0]["id"], OPEN_ID);
    let sent = api.mock.requests_to(SHOPS_PATH).pop().unwrap();
    assert_eq!(sent.query_param("page_size"), Some("20"), "the caller's query is kept, and signed");
    assert!(verify_signature(&api, &sent).starts_with("mock-at-"));

    call(&api, &id, json!({"method": "POST", "path": SHOPS_PATH, "body": {"shop_ids": ["1", "2"]}})).await;
    let sent = api.mock.requests_to(SHOPS_PATH).pop().unwrap();
    assert!(!sent.body.is_empty());
    verify_signature(&api, &sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_refresh_is_signed_again_and_the_refresh_has_its_own_path() {
    let (api, created) = tiktok_shop().await;
    let id = connect(&api, created["id"].as_str().unwrap()).await;
    api.mock.expire_access_tokens();
    call(&api, &id, json!({"method": "GET", "path": SHOPS_PATH})).await;
    let sent = api.mock.requests_to(SHOPS_PATH);
    assert_eq!(sent.len(), 2, "the refused call and its retry");
    assert_ne!(verify_signature(&api, &sent[0]), verify_signature(&api, &sent[1]), "the retry has the new token");

    let refresh = api.mock.requests_to(REFRESH_PATH).pop().expect("the refresh at its own path");
    assert_eq!(refresh.query_param("grant_type"), Some("refresh_token"));
    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert!(connection["refresh_expires_at"].is_string(), "the same refresh token keeps its expiry: {connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonzero_code_fails_the_connection_and_says_which() {
    let (api, created) = tiktok_shop().await;
    let (id, callback) = super::authorize(&api, created["id"].as_str().unwrap()).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = connection["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(&AUTH_ERROR.to_string()), "{connection}");
    assert!(!error.contains(&api.mock.config().client_secret), "{connection}");
}
