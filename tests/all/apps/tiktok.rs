//! TikTok API for Business accounts through the service (https://business-api.tiktok.com/portal/docs, "TikTok
//! account holders").

use keyway_mock_provider::apps::tiktok::{
    AUTH_ERROR, AUTHORIZE_PATH, BUSINESS_PATH, OPEN_ID, REFRESH_PATH, TOKEN_PATH,
};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::TIKTOK;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the TikTok plugin and an integration registered with TikTok's URLs.
async fn tiktok(config: MockConfig) -> (Api, String) {
    let api = start(App::Tiktok, config).await;
    assert_eq!(install(&api, TIKTOK).await["name"], "tiktok");
    let integration = api
        .integration(json!({
            "name": "tiktok",
            "plugin": "tiktok",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "pkce": false,
            "scopes": ["user.info.basic", "biz.creator.info"],
        }))
        .await;
    (api, integration)
}

fn json_body(request: &RecordedRequest) -> Value {
    assert_eq!(request.header("content-type"), Some("application/json"), "{request:?}");
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// The account's profile through the connection: the envelope TikTok answered.
async fn profile(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let call = json!({"method": "GET", "path": BUSINESS_PATH, "query": {"business_id": OPEN_ID}});
    let answer = api.web(&key, id, call).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiktok_connects_with_client_key_and_calls_the_api_with_an_access_token_header() {
    let (api, integration) = tiktok(MockConfig::default()).await;
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "brand"})).await;
    let query: Vec<(String, String)> = url::Url::parse(&authorize_url).unwrap().query_pairs().into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(param("client_key"), Some(api.mock.config().client_id.as_str()), "{authorize_url}");
    assert_eq!(param("client_id"), None, "{authorize_url}");
    assert_eq!(param("scope"), Some("user.info.basic,biz.creator.info"), "{authorize_url}");
    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["open_id"], OPEN_ID, "{connection}");
    assert_eq!(connection["scopes"], json!(["user.info.basic", "biz.creator.info"]), "{connection}");
    assert!(connection["expires_at"].is_string(), "{connection}");
    let exchange = json_body(&api.mock.requests_to(TOKEN_PATH)[0]);
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert!(exchange["auth_code"].as_str().is_some_and(|c| c.starts_with("mock-code-")), "{exchange}");
    assert!(exchange.get("code").is_none(), "{exchange}");
    assert_eq!(exchange["client_id"], api.mock.config().client_id);
    assert_eq!(exchange["redirect_uri"], format!("{}/oauth", api.base));

    let envelope = profile(&api, &id).await;
    assert_eq!((envelope["code"].as_i64(), envelope["data"]["username"].as_str()), (Some(0), Some("keyway.test")));
    let call = api.mock.requests_to(BUSINESS_PATH).pop().unwrap();
    assert!(call.header("access-token").is_some_and(|t| t.starts_with("mock-at-")), "{call:?}");
    assert_eq!(call.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiktok_refreshes_at_its_own_path() {
    // Tokens that expire within the refresh margin: the API call refreshes first.
    let (api, integration) = tiktok(MockConfig { access_token_ttl: Some(60), ..MockConfig::default() }).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    assert_eq!(profile(&api, &id).await["code"], 0);
    let refreshes = api.mock.requests_to(REFRESH_PATH);
    assert_eq!(refreshes.len(), 1, "the call refreshed the expiring token first");
    let sent = json_body(&refreshes[0]);
    assert_eq!(sent["grant_type"], "refresh_token");
    assert!(sent["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{sent}");
    assert_eq!(sent["client_secret"], api.mock.config().client_secret);
    assert_eq!(api.mock.requests_to(TOKEN_PATH).len(), 1, "only the code exchange used the token path");

    let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    assert_eq!(api.mock.requests_to(REFRESH_PATH).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_zero_code_with_http_200_fails_the_connection() {
    let (api, integration) = tiktok(MockConfig::default()).await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = connection["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("`{AUTH_ERROR}`")) && error.contains("unknown authorization code"), "{connection}");
}
