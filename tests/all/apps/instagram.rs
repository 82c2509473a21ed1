//! Instagram through the service
//! (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).

use std::time::{Duration, SystemTime};

use keyway_mock_provider::apps::instagram::{
    AUTHORIZE_PATH, EXCHANGE_PATH, LONG_LIVED, REFRESH_PATH, TOKEN_PATH, USER_ID, USERNAME,
};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::INSTAGRAM;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the Instagram plugin and an integration with Instagram's URLs; the mock plays
/// `www.instagram.com`, `api.instagram.com` and `graph.instagram.com` at once, so `graph_url` is its address.
async fn instagram() -> (Api, String) {
    let api = start(App::Instagram, MockConfig::default()).await;
    assert_eq!(install(&api, INSTAGRAM).await["name"], "instagram");
    let integration = api
        .integration(json!({
            "name": "instagram",
            "plugin": "instagram",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "pkce": false,
            "scopes": ["instagram_business_basic", "instagram_business_content_publish"],
            "settings": {"graph_url": api.mock.base_url()},
        }))
        .await;
    (api, integration)
}

async fn me(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let call = json!({"method": "GET", "path": "/v22.0/me", "query": {"fields": "user_id,username"}});
    let answer = api.web(&key, id, call).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

/// The connection's expiry, checked to be about 60 days out.
#[track_caller]
fn assert_long_lived(connection: &Value) {
    let expires_at = connection["expires_at"].as_str().unwrap_or_else(|| panic!("no expiry: {connection}"));
    let expires_at = humantime::parse_rfc3339(expires_at).unwrap();
    let expected = SystemTime::now() + Duration::from_secs(LONG_LIVED);
    let skew = expires_at.duration_since(expected).or_else(|_| expected.duration_since(expires_at)).unwrap();
    assert!(skew < Duration::from_secs(120), "expires {skew:?} away from 60 days out: {connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_trades_the_short_lived_token_for_a_long_lived_one_and_calls_the_graph_api() {
    let (api, integration) = instagram().await;
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "brand"})).await;
    assert!(
        authorize_url.contains("scope=instagram_business_basic%2Cinstagram_business_content_publish"),
        "{authorize_url}"
    );
    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["user_id"], USER_ID, "{connection}");
    assert_eq!(connection["scopes"], json!(["instagram_business_basic", "instagram_business_content_publish"]));
    assert_long_lived(&connection);

    // Two steps inside the exchange: the code for a short-lived token, that token for a long-lived one.
    let exchange = api.mock.requests_to(EXCHANGE_PATH).pop().expect("the second step reached Instagram");
    assert_eq!(exchange.method, "GET");
    assert_eq!(exchange.query_param("grant_type"), Some("ig_exchange_token"));
    assert_eq!(exchange.query_param("client_secret"), Some(api.mock.config().client_secret.as_str()));
    let short = exchange.query_param("access_token").expect("the short-lived token").to_owned();

    let profile = me(&api, &id).await;
    assert_eq!((profile["user_id"].as_str(), profile["username"].as_str()), (Some(USER_ID), Some(USERNAME)));
    let call = api.mock.requests_to("/v22.0/me").pop().unwrap();
    let token = call.query_param("access_token").expect("the token as a query parameter");
    assert_ne!(token, short, "the API call uses the long-lived token");
    assert_eq!(call.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_refreshes_by_presenting_the_current_access_token() {
    let (api, integration) = instagram().await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    me(&api, &id).await;
    let current = api.mock.requests_to("/v22.0/me").pop().unwrap().query_param("access_token").unwrap().to_owned();

    let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    assert_long_lived(&refreshed);
    let sent = api.mock.requests_to(REFRESH_PATH).pop().expect("a refresh");
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.query_param("grant_type"), Some("ig_refresh_token"));
    assert_eq!(sent.query_param("access_token"), Some(current.as_str()));

    me(&api, &id).await;
    let renewed = api.mock.requests_to("/v22.0/me").pop().unwrap().query_param("access_token").unwrap().to_owned();
    assert_ne!(renewed, current);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_instagram_refuses_fails_the_connection_with_its_oauth_exception() {
    let (api, integration) = instagram().await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = connection["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("OAuthException") && error.contains("unknown authorization code"), "{connection}");
    assert!(api.mock.requests_to(EXCHANGE_PATH).is_empty(), "no second step after a refused first one");
}
