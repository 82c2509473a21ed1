//! Per-app plugins end to end, through the service as its users drive it: the admin installs the plugin
//! (`POST /api/v1/plugins`) and registers the app with its own paths (served by the mock provider in that app's
//! mode), a user connects in the browser, a workflow calls the app's API through the connection
//! (`POST /api/v1/connections/{id}/request`), the connection refreshes, and a provider error surfaces as a failed
//! connection that says why. On SQLite: the storage backends have their own suite.

mod atlassian;
mod entra;
mod github;
mod instagram;
mod notion;
mod quirks;
mod shopify;
mod signing;
mod slack;
mod tiktok;
mod tiktok_shop;
mod xero;
mod zendesk;

use keyway_mock_provider::{App, MockConfig};
use serde_json::Value;

use crate::api::{Api, Backend, Options};

/// `keyway serve` on SQLite, with a mock provider playing `app` under `config`'s other rules.
pub async fn start(app: App, config: MockConfig) -> Api {
    let options = Options { mock: MockConfig { app, ..config }, ..Options::default() };
    Api::with(Backend::Sqlite, options).await.expect("SQLite is always available")
}

/// Installs a component as an admin does, `POST /api/v1/plugins` with its bytes; returns the plugin's view.
pub async fn install(api: &Api, component: &[u8]) -> Value {
    let response = keyway_tests::http::client()
        .post(format!("{}/api/v1/plugins", api.base))
        .bearer_auth(&api.admin_key)
        .header("content-type", "application/wasm")
        .body(component.to_vec())
        .send()
        .await
        .expect("install request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("an answer");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(status, 201, "installing the plugin: {body}");
    body
}

/// Starts a connection on `integration`, plays the browser at the provider, and returns the connection's id with
/// the callback URL the provider sent the browser back to (not yet delivered).
pub async fn authorize(api: &Api, integration: &str) -> (String, url::Url) {
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, integration, serde_json::json!({"name": "mine"})).await;
    let callback = api.authorize(&authorize_url).await;
    (id, url::Url::parse(&callback).expect("callback URL"))
}

/// The callback URL with its `name` query parameter replaced: a code the provider never issued, say.
pub fn with_param(callback: &url::Url, name: &str, value: &str) -> url::Url {
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { value.to_string() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    let mut changed = callback.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

/// Delivers a callback that must fail: checks the error page, then returns the connection, which must be `failed`.
pub async fn failed_callback(api: &Api, id: &str, callback: &url::Url) -> Value {
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 400, "the callback should fail: {}", page.text);
    assert!(page.text.contains("could not be completed"), "{}", page.text);
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "failed", "{view}");
    view
}
