//! GitHub through the service, against a GitHub Enterprise Server layout
//! (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).

use keyway_mock_provider::apps::github::{AUTHORIZE_PATH, LOGIN, TOKEN_PATH, USER_PATH};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::GITHUB;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// An OAuth app: tokens that neither expire nor refresh.
fn oauth_app() -> MockConfig {
    MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }
}

/// A server with the GitHub plugin and an integration registered as GitHub's docs describe one: the client
/// credentials go in the body ("use body authentication").
async fn github(config: MockConfig) -> (Api, String) {
    let api = start(App::Github, config).await;
    assert_eq!(install(&api, GITHUB).await["name"], "github");
    let integration = api
        .integration(json!({
            "name": "github",
            "plugin": "github",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "scopes": ["repo", "gist"],
        }))
        .await;
    (api, integration)
}

async fn view(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_connects_reads_comma_separated_scopes_and_calls_the_rest_api() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["scopes"], json!(["repo", "gist"]), "{connection}");
    assert!(connection["expires_at"].is_null(), "an OAuth app's token does not expire: {connection}");
    let exchange = &api.mock.requests_to(TOKEN_PATH)[0];
    assert_eq!(exchange.header("accept"), Some("application/json"));
    assert!(exchange.form_param("client_secret").is_some(), "credentials in the body");

    // `/user` resolves below the server's `/api/v3`, with the bearer token and the host's User-Agent.
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/user"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["login"], LOGIN);
    let call = api.mock.requests_to(USER_PATH).pop().expect("the API call reached GitHub");
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
    assert!(call.header("user-agent").is_some_and(|ua| ua.starts_with("keyway/")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_default_form_encoded_answer_is_read() {
    let (api, integration) = github(oauth_app()).await;
    // The documented default answer, byte for byte.
    api.mock.respond_next_token_request(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
    );
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["scopes"], json!(["repo", "gist"]), "{connection}");
    assert!(connection["expires_at"].is_null(), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_github_refuses_with_http_200_fails_the_connection() {
    let (api, integration) = github(oauth_app()).await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    let error = connection["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("bad_verification_code"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_app_refreshes_and_a_dead_refresh_token_needs_reauthorization() {
    let (api, integration) = github(MockConfig { access_token_ttl: Some(28_800), ..MockConfig::default() }).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    assert!(view(&api, &id).await["expires_at"].is_string());

    let refresh = format!("/api/v1/connections/{id}/refresh");
    let refreshed = api.admin(Method::POST, &refresh, None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    let sent = &api.mock.requests_to(TOKEN_PATH)[1];
    assert_eq!(sent.form_param("grant_type").as_deref(), Some("refresh_token"));
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": "/user"})).await.expect(200);
    assert_eq!(answer["status"], 200, "the refreshed token works: {answer}");

    // GitHub's answer to a refresh token it no longer honours (HTTP 200).
    api.mock.respond_next_token_request(
        200,
        "application/json",
        r#"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}"#,
    );
    let refused = api.admin(Method::POST, &refresh, None).await;
    assert!(refused.status >= 400, "{}", refused.text);
    let connection = view(&api, &id).await;
    assert_eq!(connection["status"], "needs_reauth", "{connection}");
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("bad_refresh_token"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_deletes_the_grant_through_the_rest_api() {
    let (api, integration) = github(oauth_app()).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let client_id = api.mock.config().client_id;
    let sent = api.mock.requests_to(&format!("/api/v3/applications/{client_id}/grant")).pop().expect("a revocation");
    assert_eq!(sent.method, "DELETE");
    assert!(sent.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{sent:?}");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let token = body["access_token"].as_str().expect("the access token");
    assert!(api.mock.is_revoked(token));
}
