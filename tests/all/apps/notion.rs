//! Notion through the service (https://developers.notion.com/docs/authorization).

use keyway_mock_provider::apps::notion::{AUTHORIZE_PATH, BOT_ID, ME_PATH, REVOKE_PATH, TOKEN_PATH, WORKSPACE_ID};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::NOTION;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the Notion plugin installed and an integration registered the way Notion's docs describe one.
async fn notion(settings: Value) -> (Api, String) {
    let api = start(App::Notion, MockConfig::default()).await;
    assert_eq!(install(&api, NOTION).await["name"], "notion");
    let integration = api
        .integration(json!({
            "name": "notion",
            "plugin": "notion",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": REVOKE_PATH,
            "scopes": [],
            "pkce": false,
            "settings": settings,
        }))
        .await;
    (api, integration)
}

/// A connected connection's id.
async fn connect(api: &Api, integration: &str) -> String {
    api.connect(&api.admin_key.clone(), integration).await
}

/// `GET /v1/users/me` through the connection: the upstream answer.
async fn me(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, json!({"method": "GET", "path": ME_PATH})).await.expect(200);
    assert_eq!(answer["status"], 200, "Notion answered {answer}");
    answer
}

fn json_body(request: &keyway_mock_provider::RecordedRequest) -> Value {
    assert_eq!(request.header("content-type"), Some("application/json"), "{request:?}");
    serde_json::from_slice(&request.body).expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notion_connects_keeps_the_workspace_and_calls_the_api_with_notion_version() {
    let (api, integration) = notion(json!({})).await;
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "docs"})).await;
    let query: Vec<(String, String)> = url::Url::parse(&authorize_url).unwrap().query_pairs().into_owned().collect();
    assert!(query.contains(&("owner".into(), "user".into())), "{authorize_url}");

    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let view = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(view["metadata"]["workspace_id"], WORKSPACE_ID, "{view}");
    assert_eq!(view["metadata"]["bot_id"], BOT_ID, "{view}");
    assert!(view["expires_at"].is_null(), "Notion tokens do not expire: {view}");

    // The token request: JSON {grant_type, code, redirect_uri} with HTTP Basic.
    let exchange = &api.mock.requests_to(TOKEN_PATH)[0];
    assert!(exchange.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{exchange:?}");
    let body = json_body(exchange);
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["redirect_uri"], format!("{}/oauth", api.base));
    assert!(body["code"].as_str().is_some_and(|c| c.starts_with("mock-code-")), "{body}");

    // The API call carries the bearer token and the Notion-Version the plugin adds.
    let answer = me(&api, &id).await;
    assert_eq!(answer["body"]["id"], BOT_ID, "{answer}");
    let call = api.mock.requests_to(ME_PATH).pop().expect("the API call reached Notion");
    assert_eq!(call.header("notion-version"), Some("2022-06-28"));
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notion_version_is_an_integration_setting() {
    let (api, integration) = notion(json!({"notion_version": "2025-09-03"})).await;
    let id = connect(&api, &integration).await;
    me(&api, &id).await;
    let call = api.mock.requests_to(ME_PATH).pop().unwrap();
    assert_eq!(call.header("notion-version"), Some("2025-09-03"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notion_refreshes_with_json_and_keeps_the_refresh_token() {
    let (api, integration) = notion(json!({})).await;
    let id = connect(&api, &integration).await;
    for round in 1..=2 {
        let view = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
        assert_eq!(view["status"], "active", "{view}");
        assert!(view["expires_at"].is_null(), "{view}");
        let refresh = json_body(&api.mock.requests_to(TOKEN_PATH)[round]);
        assert_eq!(refresh["grant_type"], "refresh_token", "{refresh}");
        // The answer carries no new refresh token, so the first one is kept and works again.
        assert!(refresh["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{refresh}");
    }
    let tokens = api.mock.requests_to(TOKEN_PATH);
    assert_eq!(json_body(&tokens[1])["refresh_token"], json_body(&tokens[2])["refresh_token"]);
    me(&api, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_notion_refuses_fails_the_connection_with_its_error() {
    let (api, integration) = notion(json!({})).await;
    let (id, callback) = authorize(&api, &integration).await;
    let view = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = view["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("invalid_grant") && error.contains("unknown authorization code"), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_at_notion_with_json() {
    let (api, integration) = notion(json!({})).await;
    let id = connect(&api, &integration).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let revoke = &api.mock.requests_to(REVOKE_PATH)[0];
    assert!(revoke.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{revoke:?}");
    let body = json_body(revoke);
    assert_eq!(body["token_type_hint"], "refresh_token", "{body}");
    let token = body["token"].as_str().expect("the token to revoke");
    assert!(api.mock.is_revoked(token), "Notion still honours {token}");
}
