//! The callback and API-auth quirks through the service: a code named `spapi_oauth_code`
//! (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow), a `realmId` kept from the
//! callback and used in the API base
//! (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0), and
//! the token in an `Access-Token` header.

use keyway_mock_provider::apps::quirks::{CODE_PARAM, REALM_ID};
use keyway_mock_provider::{App, MockConfig, MockProvider};
use keyway_tests::components::QUIRKS;
use reqwest::Method;
use serde_json::json;

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

async fn quirks() -> (Api, String) {
    let api = start(App::Quirks, MockConfig::default()).await;
    assert_eq!(install(&api, QUIRKS).await["name"], "quirks");
    let integration = api.integration(json!({"name": "quirky", "plugin": "quirks"})).await;
    (api, integration)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_renamed_code_completes_the_flow_and_the_realm_names_the_api_base() {
    let (api, integration) = quirks().await;
    let (id, callback) = authorize(&api, &integration).await;
    assert!(callback.query_pairs().any(|(k, _)| k == CODE_PARAM), "{callback}");
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let connection = api.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["metadata"]["realmId"], REALM_ID, "{connection}");
    let exchange = &api.mock.requests_to(MockProvider::TOKEN_PATH)[0];
    assert!(exchange.form_param("code").is_some_and(|c| c.starts_with("mock-code-")), "{exchange:?}");

    // `/companyinfo/{realmId}` resolves below `{site}/v3/company/{realmId}`, with the token in `Access-Token`.
    let key = api.admin_key.clone();
    let call = json!({"method": "GET", "path": format!("/companyinfo/{REALM_ID}")});
    let answer = api.web(&key, &id, call).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["CompanyInfo"]["Id"], REALM_ID);
    let path = format!("/v3/company/{REALM_ID}/companyinfo/{REALM_ID}");
    let sent = api.mock.requests_to(&path).pop().expect("the API call reached the app");
    assert!(sent.header("access-token").is_some_and(|t| t.starts_with("mock-at-")), "{sent:?}");
    assert_eq!(sent.header("authorization"), None);

    // The standard refresh keeps the realm.
    let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(refreshed["metadata"]["realmId"], REALM_ID, "{refreshed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_the_realm_or_with_a_refused_code_fails_the_connection() {
    let (api, integration) = quirks().await;
    let (id, callback) = authorize(&api, &integration).await;
    let mut without_realm = callback.clone();
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().filter(|(k, _)| k != "realmId").collect();
    without_realm.query_pairs_mut().clear().extend_pairs(pairs);
    let connection = failed_callback(&api, &id, &without_realm).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("realmId"), "{connection}");

    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, CODE_PARAM, "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
}
