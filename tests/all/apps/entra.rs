//! Microsoft Entra ID through the service
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow): the connection's tenant is
//! the first path segment of the v2.0 endpoints, the token requests repeat the scopes (Graph's `.default` unless the
//! admin lists others), and the API is Microsoft Graph, which the mock plays at its own address (`graph_url`).

use keyway_mock_provider::apps::entra::{AUTHORIZE_PATH, ME_PATH, TENANT, TOKEN_PATH};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::ENTRA;
use reqwest::Method;
use serde_json::{Value, json};

use super::{failed_callback, install, start, with_param};
use crate::api::Api;

const DEFAULT_SCOPES: &str = "https://graph.microsoft.com/.default offline_access";

/// A server with the Entra plugin and an integration registered with the v2 paths, no scopes, and Graph at the
/// mock.
async fn entra() -> (Api, String) {
    let api = start(App::Entra, MockConfig::default()).await;
    assert_eq!(install(&api, ENTRA).await["name"], "entra");
    let base = api.mock.base_url();
    let integration = api
        .integration(json!({
            "name": "entra",
            "plugin": "entra",
            "authorization_url": format!("{base}{AUTHORIZE_PATH}"),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "scopes": [],
            "settings": {"graph_url": base},
        }))
        .await;
    (api, integration)
}

/// Starts a connection to `tenant` and plays the browser; returns the connection, the authorize URL and the
/// callback URL.
async fn authorize(api: &Api, integration: &str, tenant: &str) -> (String, url::Url, url::Url) {
    let key = api.admin_key.clone();
    let body = json!({"name": "contoso", "inputs": {"tenant": tenant}});
    let (id, authorize_url) = api.start_connection(&key, integration, body).await;
    let callback = api.authorize(&authorize_url).await;
    (id, url::Url::parse(&authorize_url).unwrap(), url::Url::parse(&callback).unwrap())
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, _, callback) = authorize(api, integration, TENANT).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

fn last_token_request(api: &Api) -> RecordedRequest {
    api.mock.requests_to(&format!("/{TENANT}{TOKEN_PATH}")).pop().expect("a token request at the tenant")
}

async fn me(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, json!({"method": "GET", "path": "/me"})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_connects_at_the_tenant_with_default_scopes_and_calls_graph() {
    let (api, integration) = entra().await;
    let (id, authorize_url, callback) = authorize(&api, &integration, TENANT).await;
    assert_eq!(authorize_url.path(), format!("/{TENANT}{AUTHORIZE_PATH}"));
    let scope = authorize_url.query_pairs().find(|(k, _)| k == "scope").map(|(_, v)| v.into_owned());
    assert_eq!(scope.as_deref(), Some(DEFAULT_SCOPES), "{authorize_url}");
    assert!(authorize_url.query_pairs().any(|(k, _)| k == "code_challenge"), "{authorize_url}");
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["scopes"], json!(["https://graph.microsoft.com/User.Read"]), "{connection}");
    let exchange = last_token_request(&api);
    assert_eq!(exchange.form_param("scope").as_deref(), Some(DEFAULT_SCOPES));
    assert_eq!(exchange.form_param("grant_type").as_deref(), Some("authorization_code"));
    assert!(exchange.form_param("client_secret").is_some() && exchange.header("authorization").is_none());

    assert_eq!(me(&api, &id).await["userPrincipalName"], format!("AdeleV@{TENANT}"));
    let call = api.mock.requests_to(ME_PATH).pop().unwrap();
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_refreshes_at_the_tenant_with_the_scopes_and_keeps_each_new_refresh_token() {
    let (api, integration) = entra().await;
    let id = connect(&api, &integration).await;
    for _ in 0..2 {
        // The mock retires each refresh token once used: the second refresh works only with the first's new one.
        let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
        assert_eq!(refreshed["status"], "active", "{refreshed}");
        let sent = last_token_request(&api);
        assert_eq!(sent.form_param("grant_type").as_deref(), Some("refresh_token"));
        assert_eq!(sent.form_param("scope").as_deref(), Some(DEFAULT_SCOPES), "a v2 refresh names its scopes");
    }
    assert_eq!(me(&api, &id).await["displayName"], "Adele Vance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_is_one_path_segment_dots_allowed() {
    let (api, integration) = entra().await;
    let path = format!("/api/v1/integrations/{integration}/connections");
    for inputs in [
        json!({}),
        json!({"tenant": "contoso.com/evil"}),
        json!({"tenant": "a?b"}),
        json!({"tenant": ".."}),
        json!({"tenant": "%2e%2e"}),
        json!({"tenant": "two words"}),
    ] {
        let reply = api.admin(Method::POST, &path, Some(json!({"name": "x", "inputs": inputs}))).await;
        let (_, field, message) = reply.error(400);
        assert_eq!(field.as_deref(), Some("inputs.tenant"), "{message}");
    }
    for tenant in ["common", "72f988bf-86f1-41af-91ab-2d7cd011db47"] {
        let (_, authorize_url, _) = authorize(&api, &integration, tenant).await;
        assert_eq!(authorize_url.path(), format!("/{tenant}{AUTHORIZE_PATH}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_entra_refuses_fails_the_connection_with_its_aadsts_message() {
    let (api, integration) = entra().await;
    let (id, _, callback) = authorize(&api, &integration, TENANT).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
}
