//! Shopify through the service
//! (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant). The
//! shops are `{shop}.myshopify.test`, pointed at the mock by the operator's `resolve` setting and allowed over plain
//! http by `insecure_http_hosts`; the plugin verifies the callback's `hmac` and `shop` before it exchanges the code.

use keyway_mock_provider::apps::shopify::{API_VERSION, AUTHORIZE_PATH, DOMAIN, TOKEN_PATH, callback_hmac};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::SHOPIFY;
use reqwest::Method;
use serde_json::{Value, json};

use super::{failed_callback, install, with_param};
use crate::api::{Api, Backend, Options};

/// A server whose operator maps `*.myshopify.test` to the mock, with the Shopify plugin and an integration whose
/// site is `http://myshopify.test:PORT`.
async fn shopify() -> (Api, String) {
    let options = Options {
        mock: MockConfig { app: App::Shopify, ..MockConfig::default() },
        resolve: vec![format!("*.{DOMAIN}=127.0.0.1")],
        insecure_http_hosts: vec![format!("*.{DOMAIN}")],
        ..Options::default()
    };
    let api = Api::with(Backend::Sqlite, options).await.expect("SQLite is always available");
    assert_eq!(install(&api, SHOPIFY).await["name"], "shopify");
    let site = format!("http://{DOMAIN}:{}", api.mock.local_addr().port());
    let integration = api
        .integration(json!({
            "name": "shopify",
            "plugin": "shopify",
            "site": site,
            "authorization_url": format!("{site}{AUTHORIZE_PATH}"),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "scopes": ["read_products", "write_orders"],
        }))
        .await;
    (api, integration)
}

fn acme(api: &Api) -> String {
    format!("acme.{DOMAIN}:{}", api.mock.local_addr().port())
}

/// Starts a connection to the shop `acme` and plays the browser; returns the connection, the authorize URL and
/// the callback URL.
async fn authorize(api: &Api, integration: &str) -> (String, url::Url, url::Url) {
    let key = api.admin_key.clone();
    let (id, authorize_url) =
        api.start_connection(&key, integration, json!({"name": "acme", "inputs": {"shop": "acme"}})).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&format!("acme.{DOMAIN}"), api.mock.local_addr())
        .build()
        .unwrap();
    let response = browser.get(&authorize_url).send().await.expect("the shop's authorize page");
    assert_eq!(response.status().as_u16(), 302, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    (id, url::Url::parse(&authorize_url).unwrap(), url::Url::parse(&location).unwrap())
}

/// The callback with `name` set to `value` and the `hmac` recomputed, as Shopify would sign it.
fn resigned(callback: &url::Url, name: &str, value: &str) -> url::Url {
    let changed = with_param(callback, name, value);
    let pairs: Vec<(String, String)> = changed.query_pairs().into_owned().collect();
    with_param(&changed, "hmac", &callback_hmac(&MockConfig::default().client_secret, &pairs))
}

#[track_caller]
fn sent_to_acme(api: &Api, path: &str) -> RecordedRequest {
    let request = api.mock.requests_to(path).pop().unwrap_or_else(|| panic!("nothing reached {path}"));
    assert_eq!(request.header("host"), Some(acme(api).as_str()), "{request:?}");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_verifies_the_callback_exchanges_json_and_calls_the_admin_api() {
    let (api, integration) = shopify().await;
    let (id, authorize_url, callback) = authorize(&api, &integration).await;
    assert!(authorize_url.as_str().starts_with(&format!("http://{}{AUTHORIZE_PATH}?", acme(&api))), "{authorize_url}");
    let names: Vec<String> = authorize_url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["scope", "client_id", "redirect_uri", "state"], "no response_type, no PKCE");
    assert!(authorize_url.query_pairs().any(|(k, v)| k == "scope" && v == "read_products,write_orders"));
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["scopes"], json!(["read_products", "write_orders"]), "{connection}");
    assert!(connection["expires_at"].is_null(), "an offline token: {connection}");
    let exchange = sent_to_acme(&api, TOKEN_PATH);
    assert_eq!(exchange.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&exchange.body).unwrap();
    let mut fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["client_id", "client_secret", "code"], "{body}");

    let key = api.admin_key.clone();
    let path = format!("/api/{API_VERSION}/shop.json");
    let answer = api.web(&key, &id, json!({"method": "GET", "path": path})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["shop"]["myshopify_domain"], format!("acme.{DOMAIN}"), "{answer}");
    let call = sent_to_acme(&api, &format!("/admin{path}"));
    assert!(call.header("x-shopify-access-token").is_some_and(|t| t.starts_with("mock-at-")), "{call:?}");
    assert_eq!(call.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_whose_hmac_does_not_verify_fails_before_any_exchange() {
    let (api, integration) = shopify().await;
    let (id, _, callback) = authorize(&api, &integration).await;
    // A code swapped in by someone without the client secret: the old hmac no longer covers the query.
    let forged = with_param(&callback, "code", "mock-code-forged");
    let connection = failed_callback(&api, &id, &forged).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("hmac"), "{connection}");
    let (id, _, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "hmac", "00")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("hmac"), "{connection}");
    assert!(api.mock.requests_to(TOKEN_PATH).is_empty(), "nothing was exchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_callback_for_another_shop_fails_before_any_exchange() {
    let (api, integration) = shopify().await;
    let (id, _, callback) = authorize(&api, &integration).await;
    let other = resigned(&callback, "shop", &format!("globex.{DOMAIN}"));
    let connection = failed_callback(&api, &id, &other).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("another shop"), "{connection}");
    assert!(api.mock.requests_to(TOKEN_PATH).is_empty(), "nothing was exchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_code_shopify_refuses_fails_the_connection() {
    let (api, integration) = shopify().await;
    let (id, _, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &resigned(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_input_is_required_and_one_dns_label() {
    let (api, integration) = shopify().await;
    let path = format!("/api/v1/integrations/{integration}/connections");
    for inputs in [json!({}), json!({"shop": "acme.evil.test"}), json!({"shop": "acme/x"}), json!({"shop": "a b"})] {
        let reply = api.admin(Method::POST, &path, Some(json!({"name": "x", "inputs": inputs}))).await;
        let (_, field, message) = reply.error(400);
        assert_eq!(field.as_deref(), Some("inputs.shop"), "{message}");
    }
}
