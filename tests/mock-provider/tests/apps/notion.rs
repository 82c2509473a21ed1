//! Notion mode: https://developers.notion.com/docs/authorization

use keyway_mock_provider::apps::notion::{
    AUTHORIZE_PATH, BOT_ID, ME_PATH, REVOKE_PATH, TOKEN_PATH, VERSIONS, WORKSPACE_ID,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::json;

use crate::support::{Call, Harness, REDIRECT_URI, Reply, STATE, basic};
use crate::{changed, code_of, get, post_json, redirect_error};

async fn notion(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Notion, ..config }).await
}

async fn harness() -> Harness {
    notion(MockConfig::default()).await
}

/// The authorize request of https://developers.notion.com/docs/authorization, changed by `set`.
async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("owner", "user"),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

async fn code(h: &Harness) -> String {
    code_of(&authorize(h, &[]).await)
}

fn basic_auth(h: &Harness) -> String {
    let config = h.mock.config();
    basic(&config.client_id, &config.client_secret)
}

/// A POST of `body` as JSON with the client's Basic credentials.
fn post(h: &Harness, path: &str, body: serde_json::Value) -> Call {
    post_json(h, path, &body).header("authorization", &basic_auth(h))
}

/// The documented code exchange: JSON `{grant_type, code, redirect_uri}` with Basic.
fn exchange(h: &Harness, code: &str) -> Call {
    post(h, TOKEN_PATH, json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}))
}

async fn tokens(h: &Harness) -> serde_json::Value {
    let code = code(h).await;
    let reply = exchange(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn me(h: &Harness, token: &str) -> Call {
    h.call(Method::GET, ME_PATH)
        .header("authorization", &format!("Bearer {token}"))
        .header("notion-version", "2022-06-28")
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

#[track_caller]
fn assert_notion_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["object"], "error", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
}

#[tokio::test]
async fn the_documented_authorize_request_gets_a_code_and_the_state_back() {
    let h = harness().await;
    let reply = authorize(&h, &[]).await;
    assert!(reply.location().as_str().starts_with(REDIRECT_URI), "{}", reply.location());
    assert!(code_of(&reply).starts_with("mock-code-"));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn authorize_requires_owner_user() {
    let h = harness().await;
    let (error, description) = redirect_error(&authorize(&h, &[("owner", None)]).await);
    assert_eq!(error, "invalid_request");
    assert!(description.contains("owner=user"), "{description}");
    let (error, description) = redirect_error(&authorize(&h, &[("owner", Some("workspace"))]).await);
    assert_eq!(error, "invalid_request");
    assert!(description.contains("owner `workspace`"), "{description}");
}

#[tokio::test]
async fn authorize_requires_response_type_code() {
    let h = harness().await;
    assert_eq!(redirect_error(&authorize(&h, &[("response_type", None)]).await).0, "invalid_request");
    assert_eq!(
        redirect_error(&authorize(&h, &[("response_type", Some("token"))]).await).0,
        "unsupported_response_type"
    );
}

#[tokio::test]
async fn authorize_refuses_an_unknown_client_or_a_bad_redirect_uri_without_redirecting() {
    let h = harness().await;
    let reply = authorize(&h, &[("client_id", Some("someone-else"))]).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("unknown client_id"), "{}", reply.text);
    let reply = authorize(&h, &[("redirect_uri", Some("not a url"))]).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
}

#[tokio::test]
async fn authorize_refuses_repeated_parameters() {
    let h = harness().await;
    let client_id = h.mock.config().client_id;
    let mut query = changed(
        &[("client_id", &client_id), ("response_type", "code"), ("owner", "user"), ("redirect_uri", REDIRECT_URI)],
        &[],
    );
    query.push(("owner".into(), "user".into()));
    let (error, description) = redirect_error(&get(&h, AUTHORIZE_PATH, &query).await);
    assert_eq!(error, "invalid_request");
    assert!(description.contains("`owner`"), "{description}");
}

#[tokio::test]
async fn a_declining_user_is_sent_back_with_access_denied() {
    let h = notion(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    let reply = authorize(&h, &[]).await;
    assert_eq!(redirect_error(&reply).0, "access_denied");
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn the_documented_exchange_returns_a_non_expiring_token_with_workspace_and_bot() {
    // Even with a TTL configured, Notion's access tokens do not expire: the answer has no `expires_in`.
    let h = notion(MockConfig { access_token_ttl: Some(60), ..MockConfig::default() }).await;
    let body = tokens(&h).await;
    assert!(body["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{body}");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["workspace_id"], WORKSPACE_ID);
    assert_eq!(body["bot_id"], BOT_ID);
    assert_eq!(body["owner"]["type"], "user");
    assert!(body.get("expires_in").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(me(&h, token).send(&h).await.status, 200);
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_form_body() {
    let h = harness().await;
    let code = code(&h).await;
    let reply = h
        .call(Method::POST, TOKEN_PATH)
        .header("authorization", &basic_auth(&h))
        .header("content-type", "application/x-www-form-urlencoded")
        .param("grant_type", "authorization_code")
        .param("code", &code)
        .param("redirect_uri", REDIRECT_URI)
        .send(&h)
        .await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("JSON"), "{}", reply.text);
    let reply = exchange(&h, &code).raw_body("[1, 2]").send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn the_token_endpoint_requires_basic_client_authentication() {
    let h = harness().await;
    let code = code(&h).await;
    let config = h.mock.config();
    let body = json!({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": config.client_id, "client_secret": config.client_secret,
    });
    // Credentials in the body instead of the Basic header are refused.
    assert_refused(&post_json(&h, TOKEN_PATH, &body).send(&h).await, 400, "invalid_request");
    let body = json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI});
    assert_refused(&post_json(&h, TOKEN_PATH, &body).send(&h).await, 401, "invalid_client");
    let wrong = exchange(&h, &code).header("authorization", &basic(&config.client_id, "wrong")).send(&h).await;
    assert_refused(&wrong, 401, "invalid_client");
}

#[tokio::test]
async fn the_exchange_needs_grant_type_and_the_authorize_requests_redirect_uri() {
    let h = harness().await;
    let code = code(&h).await;
    let missing = post(&h, TOKEN_PATH, json!({"code": code, "redirect_uri": REDIRECT_URI})).send(&h).await;
    assert_refused(&missing, 400, "invalid_request");
    let other = post(&h, TOKEN_PATH, json!({"grant_type": "password", "code": code})).send(&h).await;
    assert_refused(&other, 400, "unsupported_grant_type");
    let no_redirect = post(&h, TOKEN_PATH, json!({"grant_type": "authorization_code", "code": code})).send(&h).await;
    assert_refused(&no_redirect, 400, "invalid_request");
    let body =
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": "https://elsewhere.test/oauth"});
    assert_refused(&post(&h, TOKEN_PATH, body).send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn a_code_is_single_use() {
    let h = harness().await;
    let code = code(&h).await;
    assert_eq!(exchange(&h, &code).send(&h).await.status, 200);
    assert_refused(&exchange(&h, &code).send(&h).await, 400, "invalid_grant");
    assert_refused(&exchange(&h, "mock-code-unknown").send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn a_refresh_is_json_too_and_returns_a_non_expiring_token() {
    let h = harness().await;
    let body = tokens(&h).await;
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let reply =
        post(&h, TOKEN_PATH, json!({"grant_type": "refresh_token", "refresh_token": refresh_token})).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let refreshed = reply.json();
    assert_ne!(refreshed["access_token"], body["access_token"]);
    assert!(refreshed.get("expires_in").is_none(), "{refreshed}");
    assert_eq!(refreshed["workspace_id"], WORKSPACE_ID);
    let unknown = post(&h, TOKEN_PATH, json!({"grant_type": "refresh_token", "refresh_token": "mock-rt-unknown"}));
    assert_refused(&unknown.send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn revoke_takes_json_with_basic_and_ends_the_token() {
    let h = harness().await;
    let body = tokens(&h).await;
    let token = body["access_token"].as_str().unwrap();
    assert_refused(&post_json(&h, REVOKE_PATH, &json!({"token": token})).send(&h).await, 401, "invalid_client");
    let form = h
        .call(Method::POST, REVOKE_PATH)
        .header("authorization", &basic_auth(&h))
        .header("content-type", "application/x-www-form-urlencoded")
        .param("token", token)
        .send(&h)
        .await;
    assert_refused(&form, 400, "invalid_request");
    assert_refused(&post(&h, REVOKE_PATH, json!({})).send(&h).await, 400, "invalid_request");
    assert_eq!(me(&h, token).send(&h).await.status, 200);

    let reply = post(&h, REVOKE_PATH, json!({"token": token})).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({}));
    assert!(h.mock.is_revoked(token));
    assert_notion_error(&me(&h, token).send(&h).await, 401, "unauthorized");
}

#[tokio::test]
async fn the_api_answers_a_bearer_token_with_a_notion_version() {
    let h = harness().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    for version in VERSIONS {
        let reply = me(&h, &token).header("notion-version", version).send(&h).await;
        assert_eq!(reply.status, 200, "{version}: {}", reply.text);
        let bot = reply.json();
        assert_eq!(
            (bot["object"].as_str(), bot["type"].as_str(), bot["id"].as_str()),
            (Some("user"), Some("bot"), Some(BOT_ID))
        );
    }
}

#[tokio::test]
async fn the_api_requires_the_notion_version_header() {
    let h = harness().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = me(&h, &token).without_header("notion-version").send(&h).await;
    assert_notion_error(&reply, 400, "missing_version");
    let reply = me(&h, &token).header("notion-version", "2020-01-01").send(&h).await;
    assert_notion_error(&reply, 400, "validation_error");
}

#[tokio::test]
async fn the_api_requires_a_valid_bearer_token() {
    let h = harness().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    assert_notion_error(&me(&h, &token).without_header("authorization").send(&h).await, 401, "unauthorized");
    let reply = me(&h, &token).header("authorization", &format!("Token {token}")).send(&h).await;
    assert_notion_error(&reply, 401, "unauthorized");
    assert_notion_error(&me(&h, "mock-at-unknown").send(&h).await, 401, "unauthorized");
}

#[tokio::test]
async fn only_notions_endpoints_are_served() {
    let h = harness().await;
    let reply = h.call(Method::GET, "/oauth/authorize").send(&h).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
}
