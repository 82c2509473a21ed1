//! Atlassian (Jira Cloud) mode: https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/

use keyway_mock_provider::apps::atlassian::{
    AUDIENCE, AUTHORIZE_PATH, CLOUD_ID, MYSELF_PATH, RESOURCES_PATH, SITE_URL, TOKEN_PATH,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Call, Harness, REDIRECT_URI, Reply, STATE, basic};
use crate::{changed, code_of, get, post_json, redirect_error};

const SCOPES: &str = "read:jira-work read:jira-user offline_access";

async fn atlassian() -> Harness {
    atlassian_with(MockConfig::default()).await
}

async fn atlassian_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Atlassian, ..config }).await
}

async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("audience", AUDIENCE),
        ("client_id", client_id.as_str()),
        ("scope", SCOPES),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
        ("response_type", "code"),
        ("prompt", "consent"),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

/// The documented JSON token request: `fields` on top of the client's credentials.
fn token_call(h: &Harness, fields: Value) -> Call {
    let config = h.mock.config();
    let mut body = json!({"client_id": config.client_id, "client_secret": config.client_secret});
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    post_json(h, TOKEN_PATH, &body)
}

fn exchange(h: &Harness, code: &str) -> Call {
    token_call(h, json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}))
}

fn refresh(h: &Harness, refresh_token: &str) -> Call {
    token_call(h, json!({"grant_type": "refresh_token", "refresh_token": refresh_token}))
}

async fn tokens(h: &Harness) -> Value {
    let code = code_of(&authorize(h, &[]).await);
    let reply = exchange(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn bearer(h: &Harness, path: &str, token: &str) -> Call {
    h.call(Method::GET, path).header("authorization", &format!("Bearer {token}"))
}

fn myself(h: &Harness, cloud_id: &str, token: &str) -> Call {
    bearer(h, &format!("/ex/jira/{cloud_id}{MYSELF_PATH}"), token)
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

#[tokio::test]
async fn authorize_needs_the_api_audience_and_prompt_consent() {
    let h = atlassian().await;
    code_of(&authorize(&h, &[]).await);
    for set in
        [[("audience", None)], [("audience", Some("api.example.com"))], [("prompt", None)], [("prompt", Some("none"))]]
    {
        let (error, description) = redirect_error(&authorize(&h, &set).await);
        assert_eq!(error, "invalid_request", "{set:?}");
        assert!(description.contains("audience") || description.contains("prompt"), "{description}");
    }
}

#[tokio::test]
async fn authorize_needs_a_code_response_state_scopes_and_the_client() {
    let h = atlassian().await;
    assert_eq!(
        redirect_error(&authorize(&h, &[("response_type", Some("token"))]).await).0,
        "unsupported_response_type"
    );
    assert_eq!(redirect_error(&authorize(&h, &[("state", None)]).await).0, "invalid_request");
    assert_eq!(redirect_error(&authorize(&h, &[("scope", None)]).await).0, "invalid_scope");
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    let denied = atlassian_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn the_token_request_is_json_with_the_client_in_the_body() {
    let h = atlassian().await;
    let config = h.mock.config();
    let code = code_of(&authorize(&h, &[]).await);
    let form = h
        .call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("grant_type", "authorization_code")
        .param("code", &code);
    assert_refused(&form.send(&h).await, 400, "invalid_request");
    let header = post_json(&h, TOKEN_PATH, &json!({"grant_type": "authorization_code", "code": code}))
        .header("authorization", &basic(&config.client_id, &config.client_secret));
    assert_refused(&header.send(&h).await, 400, "invalid_request");
    let wrong = token_call(&h, json!({"grant_type": "authorization_code", "code": code, "client_secret": "x"}));
    assert_refused(&wrong.send(&h).await, 401, "invalid_client");
    assert_refused(&token_call(&h, json!({"code": code})).send(&h).await, 400, "invalid_request");
    let password = token_call(&h, json!({"grant_type": "password"})).send(&h).await;
    assert_refused(&password, 400, "unsupported_grant_type");
    assert_eq!(exchange(&h, &code).send(&h).await.status, 200, "the refusals burned nothing");
}

#[tokio::test]
async fn a_refused_grant_is_a_403_and_the_redirect_uri_must_match() {
    let h = atlassian().await;
    assert_refused(&exchange(&h, "mock-code-forged").send(&h).await, 403, "invalid_grant");
    let code = code_of(&authorize(&h, &[]).await);
    let other = token_call(
        &h,
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": "https://elsewhere.test/cb"}),
    );
    assert_refused(&other.send(&h).await, 403, "invalid_grant");
}

#[tokio::test]
async fn offline_access_brings_a_refresh_token_that_rotates() {
    let h = atlassian().await;
    let body = tokens(&h).await;
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("Bearer"), Some(SCOPES)), "{body}");
    let first = body["refresh_token"].as_str().expect("offline_access was granted").to_owned();
    let reply = refresh(&h, &first).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let second = reply.json()["refresh_token"].as_str().expect("a rotated refresh token").to_owned();
    assert_ne!(second, first);
    assert_refused(&refresh(&h, &first).send(&h).await, 403, "invalid_grant");

    let code = code_of(&authorize(&h, &[("scope", Some("read:jira-work"))]).await);
    let reply = exchange(&h, &code).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("refresh_token").is_none(), "without offline_access: {}", reply.text);
}

#[tokio::test]
async fn accessible_resources_name_the_site_and_the_api_lives_under_its_cloud_id() {
    let h = atlassian().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = bearer(&h, RESOURCES_PATH, &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let sites = reply.json();
    assert_eq!((sites[0]["id"].as_str(), sites[0]["url"].as_str()), (Some(CLOUD_ID), Some(SITE_URL)), "{sites}");
    assert_eq!(sites[0]["scopes"], json!(["read:jira-work", "read:jira-user"]));
    let me = myself(&h, CLOUD_ID, &token).send(&h).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["accountType"], "atlassian");
    assert_eq!(myself(&h, "11111111-2222-3333-4444-555555555555", &token).send(&h).await.status, 404);
    for reply in [
        bearer(&h, RESOURCES_PATH, "mock-at-unknown").send(&h).await,
        myself(&h, CLOUD_ID, "mock-at-unknown").send(&h).await,
        h.call(Method::GET, RESOURCES_PATH).send(&h).await,
    ] {
        assert_eq!(reply.status, 401, "{}", reply.text);
    }
}
