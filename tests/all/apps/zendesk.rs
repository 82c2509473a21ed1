//! Zendesk through the service
//! (https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-authentication-with-your-application/).
//! The accounts are `{subdomain}.zendesk.test`, pointed at the mock by the operator's `resolve` setting and
//! allowed over plain http by `insecure_http_hosts`, as an operator would configure a test environment.

use keyway_mock_provider::apps::zendesk::{AUTHORIZE_PATH, DOMAIN, MAX_EXPIRES_IN, ME_PATH, REVOKE_PATH, TOKEN_PATH};
use keyway_mock_provider::{App, MockConfig, RecordedRequest};
use keyway_tests::components::ZENDESK;
use reqwest::Method;
use serde_json::{Value, json};

use super::{failed_callback, install, with_param};
use crate::api::{Api, Backend, Options};

/// A server whose operator maps `*.zendesk.test` to the mock, with the Zendesk plugin and an integration whose
/// site is `http://zendesk.test:PORT`.
async fn zendesk(settings: Value) -> (Api, String) {
    let options = Options {
        mock: MockConfig { app: App::Zendesk, ..MockConfig::default() },
        resolve: vec![format!("*.{DOMAIN}=127.0.0.1")],
        insecure_http_hosts: vec![format!("*.{DOMAIN}")],
        ..Options::default()
    };
    let api = Api::with(Backend::Sqlite, options).await.expect("SQLite is always available");
    assert_eq!(install(&api, ZENDESK).await["name"], "zendesk");
    let site = format!("http://{DOMAIN}:{}", api.mock.local_addr().port());
    let integration = api
        .integration(json!({
            "name": "zendesk",
            "plugin": "zendesk",
            "site": site,
            "authorization_url": format!("{site}{AUTHORIZE_PATH}"),
            "token_path": TOKEN_PATH,
            "revoke_path": null,
            "client_auth": "post",
            "scopes": ["read", "write"],
            "settings": settings,
        }))
        .await;
    (api, integration)
}

/// `acme`'s host at the mock.
fn acme(api: &Api) -> String {
    format!("acme.{DOMAIN}:{}", api.mock.local_addr().port())
}

/// Starts a connection to the account `acme` and plays the browser, which reaches `acme.zendesk.test` the way the
/// operator's resolve rule says; returns the connection and the callback URL.
async fn authorize(api: &Api, integration: &str) -> (String, url::Url) {
    let key = api.admin_key.clone();
    let body = json!({"name": "acme", "inputs": {"subdomain": "acme"}});
    let (id, authorize_url) = api.start_connection(&key, integration, body).await;
    assert!(authorize_url.starts_with(&format!("http://{}{AUTHORIZE_PATH}?", acme(api))), "{authorize_url}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&format!("acme.{DOMAIN}"), api.mock.local_addr())
        .build()
        .unwrap();
    let response = browser.get(&authorize_url).send().await.expect("the account's authorize page");
    assert_eq!(response.status().as_u16(), 302, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    (id, url::Url::parse(&location).unwrap())
}

async fn connect(api: &Api, integration: &str) -> String {
    let (id, callback) = authorize(api, integration).await;
    let page = api.callback(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    id
}

async fn view(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

/// The last request the mock received at `path`, checked to be for `acme`'s host.
#[track_caller]
fn sent_to_acme(api: &Api, path: &str) -> RecordedRequest {
    let request = api.mock.requests_to(path).pop().unwrap_or_else(|| panic!("nothing reached {path}"));
    assert_eq!(request.header("host"), Some(acme(api).as_str()), "{request:?}");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_connects_on_the_accounts_own_host_and_calls_its_api() {
    let (api, integration) = zendesk(json!({})).await;
    let id = connect(&api, &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["inputs"]["subdomain"], "acme", "{connection}");
    assert!(connection["expires_at"].is_string(), "asked for expires_in, so the token expires: {connection}");
    let exchange = sent_to_acme(&api, TOKEN_PATH);
    assert_eq!(exchange.form_param("expires_in"), Some(MAX_EXPIRES_IN.to_string()));
    assert!(exchange.form_param("client_secret").is_some());

    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": ME_PATH})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["user"]["role"], "agent", "{answer}");
    let call = sent_to_acme(&api, ME_PATH);
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_refreshes_on_the_account_asking_for_expires_in_again() {
    let (api, integration) = zendesk(json!({"expires_in": 3600})).await;
    let id = connect(&api, &integration).await;
    let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
    assert_eq!(refreshed["status"], "active", "{refreshed}");
    let sent = sent_to_acme(&api, TOKEN_PATH);
    assert_eq!(sent.form_param("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(sent.form_param("expires_in").as_deref(), Some("3600"));
    let key = api.admin_key.clone();
    let answer = api.web(&key, &id, json!({"method": "GET", "path": ME_PATH})).await.expect(200);
    assert_eq!(answer["status"], 200, "the refreshed token works: {answer}");

    // Zendesk revokes by access token: a connection holding a refresh token is revoked all the same.
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let revoke = sent_to_acme(&api, REVOKE_PATH);
    let token = revoke.header("authorization").and_then(|a| a.strip_prefix("Bearer ")).expect("the token");
    assert!(token.starts_with("mock-at-"), "the access token, not the refresh token");
    assert!(api.mock.is_revoked(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subdomain_input_is_required_and_must_match_its_pattern() {
    let (api, integration) = zendesk(json!({})).await;
    let path = format!("/api/v1/integrations/{integration}/connections");
    for inputs in [json!({}), json!({"subdomain": "Acme Corp!"}), json!({"subdomain": "acme.evil.test/x"})] {
        let reply = api.admin(Method::POST, &path, Some(json!({"name": "x", "inputs": inputs}))).await;
        let (_, field, message) = reply.error(400);
        assert_eq!(field.as_deref(), Some("inputs.subdomain"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_zendesk_refuses_fails_the_connection() {
    let (api, integration) = zendesk(json!({})).await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_grant"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_expires_in_the_token_never_expires_and_disconnecting_revokes_it() {
    let (api, integration) = zendesk(json!({"expires_in": 0})).await;
    let id = connect(&api, &integration).await;
    assert_eq!(sent_to_acme(&api, TOKEN_PATH).form_param("expires_in"), None);
    assert!(view(&api, &id).await["expires_at"].is_null());
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let revoke = sent_to_acme(&api, REVOKE_PATH);
    assert_eq!(revoke.method, "DELETE");
    let token = revoke.header("authorization").and_then(|a| a.strip_prefix("Bearer ")).expect("the token");
    assert!(api.mock.is_revoked(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_link_asks_for_the_subdomain_it_left_open() {
    let (api, integration) = zendesk(json!({})).await;
    let key = api.admin_key.clone();
    let path = format!("/api/v1/integrations/{integration}/connect-links");
    let created = api.request(Method::POST, &path, Some(&key), Some(json!({"name": "support"}))).await.expect(201);
    let url = created["url"].as_str().unwrap().to_string();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |form: &'static str| {
        browser.post(&url).header("content-type", "application/x-www-form-urlencoded").body(form).send()
    };

    let page = browser.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<label for=\"input-subdomain\">"), "the manifest's input, labelled: {page}");
    assert!(page.contains("name=\"subdomain\"") && page.contains(" required"), "{page}");
    let refused = post("subdomain=Acme+Corp%21").await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("must match") && text.contains("name=\"subdomain\""), "the form again, saying why: {text}");

    let sent = post("subdomain=acme").await.unwrap();
    assert_eq!(sent.status().as_u16(), 303);
    let location = sent.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("http://{}{AUTHORIZE_PATH}?", acme(&api))),
        "the account's own host: {location}"
    );
    let link = api.get(&format!("/api/v1/connect-links/{}", created["id"].as_str().unwrap())).await;
    let connection = view(&api, link["connection_id"].as_str().expect("the connection")).await;
    assert_eq!(
        (connection["name"].as_str(), connection["inputs"]["subdomain"].as_str()),
        (Some("support"), Some("acme"))
    );
}
