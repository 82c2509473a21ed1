//! Atlassian (Jira Cloud) through the service (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/):
//! the authorize URL names the API audience and asks for consent, the token requests are JSON, the plugin finds the
//! site's cloud id with `accessible-resources` right after the exchange, and the API base is the gateway's
//! `/ex/jira/{cloudid}`. The mock plays auth.atlassian.com and api.atlassian.com at one address (`api_url`).

use keyway_mock_provider::apps::atlassian::{
    AUDIENCE, AUTHORIZE_PATH, CLOUD_ID, MYSELF_PATH, RESOURCES_PATH, SITE_URL, TOKEN_PATH,
};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::ATLASSIAN;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// A server with the Atlassian plugin and an integration registered with Atlassian's paths.
async fn atlassian() -> (Api, Value) {
    let api = start(App::Atlassian, MockConfig::default()).await;
    assert_eq!(install(&api, ATLASSIAN).await["name"], "atlassian");
    let base = api.mock.base_url();
    let body = crate::api::integration_body(
        &api.mock,
        json!({
            "name": "jira",
            "plugin": "atlassian",
            "authorization_url": format!("{base}{AUTHORIZE_PATH}"),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "scopes": ["read:jira-work", "read:jira-user", "offline_access"],
            "settings": {"api_url": base},
        }),
    );
    let created = api.admin(Method::POST, "/api/v1/integrations", Some(body)).await.expect(201);
    (api, created)
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, callback) = authorize(api, integration).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

fn json_body(request: &RecordedRequest) -> Value {
    assert_eq!(request.header("content-type"), Some("application/json"), "{request:?}");
    serde_json::from_slice(&request.body).expect("a JSON body")
}

async fn myself(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, json!({"method": "GET", "path": MYSELF_PATH})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_connects_finds_the_cloud_id_and_calls_jira_under_it() {
    let (api, created) = atlassian().await;
    assert_eq!(created["pkce"], false, "Atlassian's 3LO documents no PKCE: {created}");
    let integration = created["id"].as_str().unwrap().to_string();
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "jira"})).await;
    let query: Vec<(String, String)> = url::Url::parse(&authorize_url).unwrap().query_pairs().into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!((param("audience"), param("prompt")), (Some(AUDIENCE), Some("consent")), "{authorize_url}");
    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["cloudid"], CLOUD_ID, "{connection}");
    assert_eq!(connection["metadata"]["site_url"], SITE_URL, "{connection}");
    let exchange = json_body(&api.mock.requests_to(TOKEN_PATH)[0]);
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert_eq!(exchange["client_secret"], api.mock.config().client_secret, "the secret goes in the JSON body");
    assert!(exchange.get("code_verifier").is_none(), "{exchange}");
    let resources = api.mock.requests_to(RESOURCES_PATH);
    assert_eq!(resources.len(), 1, "looked up once, after the exchange");
    assert!(resources[0].header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")));

    assert_eq!(myself(&api, &id).await["accountType"], "atlassian");
    let path = format!("/ex/jira/{CLOUD_ID}{MYSELF_PATH}");
    let call = api.mock.requests_to(&path).pop().expect("the call went through the gateway under the cloud id");
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_rotates_refresh_tokens_and_keeps_the_cloud_id() {
    let (api, created) = atlassian().await;
    let id = connect(&api, created["id"].as_str().unwrap()).await;
    let mut used = Vec::new();
    for _ in 0..2 {
        let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
        assert_eq!(refreshed["status"], "active", "{refreshed}");
        assert_eq!(refreshed["metadata"]["cloudid"], CLOUD_ID, "{refreshed}");
        let sent = json_body(&api.mock.requests_to(TOKEN_PATH).pop().unwrap());
        assert_eq!(sent["grant_type"], "refresh_token");
        used.push(sent["refresh_token"].as_str().unwrap().to_string());
    }
    assert_ne!(used[0], used[1], "the second refresh sent the token the first one rotated in");
    assert!(api.mock.is_revoked(&used[0]), "the first refresh token was retired");
    assert_eq!(api.mock.requests_to(RESOURCES_PATH).len(), 1, "a refresh does not look the site up again");
    assert_eq!(myself(&api, &id).await["displayName"], "Mia Krystof");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_atlassian_refuses_fails_the_connection() {
    let (api, created) = atlassian().await;
    let (id, callback) = authorize(&api, created["id"].as_str().unwrap()).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
    assert!(api.mock.requests_to(RESOURCES_PATH).is_empty(), "no lookup without tokens");
}
