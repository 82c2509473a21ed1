//! GitHub mode: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps

use keyway_mock_provider::apps::github::{AUTHORIZE_PATH, LOGIN, TOKEN_PATH, USER_PATH};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{CHALLENGE, Call, Harness, REDIRECT_URI, Reply, STATE, VERIFIER, basic};
use crate::{changed, code_of, get, redirect_error};

/// An OAuth app: tokens without expiry or refresh.
async fn oauth_app() -> Harness {
    github(MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }).await
}

/// A GitHub App with expiring user tokens.
async fn github_app() -> Harness {
    github(MockConfig { access_token_ttl: Some(28_800), ..MockConfig::default() }).await
}

async fn github(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Github, ..config }).await
}

/// The documented authorize request, with PKCE, changed by `set`.
async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "repo gist"),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

async fn code(h: &Harness) -> String {
    code_of(&authorize(h, &[]).await)
}

/// The documented exchange: parameters in a form body, credentials among them, and `Accept: application/json`.
fn exchange(h: &Harness, code: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("code", code)
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", VERIFIER)
}

fn refresh(h: &Harness, refresh_token: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("grant_type", "refresh_token")
        .param("refresh_token", refresh_token)
}

async fn tokens(h: &Harness) -> Value {
    let code = code(h).await;
    let reply = exchange(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("error").is_none(), "{}", reply.text);
    reply.json()
}

fn user(h: &Harness, token: &str) -> Call {
    h.call(Method::GET, USER_PATH)
        .header("authorization", &format!("Bearer {token}"))
        .header("user-agent", "keyway-test")
}

fn delete_grant(h: &Harness, token: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::DELETE, &format!("/api/v3/applications/{}/grant", config.client_id))
        .header("content-type", "application/json")
        .raw_body(&json!({"access_token": token}).to_string())
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .header("user-agent", "keyway-test")
}

/// A token error: HTTP 200 with `error` in the body.
#[track_caller]
fn assert_error_200(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
    assert!(
        reply.json()["error_uri"].as_str().is_some_and(|u| u.starts_with("https://docs.github.com/")),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn the_documented_authorize_request_gets_a_code() {
    let h = oauth_app().await;
    let reply = authorize(&h, &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn authorize_checks_client_scopes_and_pkce() {
    let h = oauth_app().await;
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    assert_eq!(redirect_error(&authorize(&h, &[("scope", Some("repo  gist"))]).await).0, "invalid_scope");
    assert_eq!(
        redirect_error(&authorize(&h, &[("code_challenge", None), ("code_challenge_method", None)]).await).0,
        "invalid_request"
    );
    assert_eq!(redirect_error(&authorize(&h, &[("code_challenge_method", Some("plain"))]).await).0, "invalid_request");
    let denied = github(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn with_accept_json_an_oauth_app_gets_json_with_comma_separated_scopes_and_no_expiry() {
    let h = oauth_app().await;
    let body = tokens(&h).await;
    assert!(body["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{body}");
    assert_eq!(body["scope"], "repo,gist");
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("expires_in").is_none() && body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn without_accept_json_the_answer_is_form_encoded() {
    let h = oauth_app().await;
    let code = code(&h).await;
    let reply = exchange(&h, &code).without_header("accept").send(&h).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/x-www-form-urlencoded; charset=utf-8"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(reply.text.as_bytes()).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert!(field("access_token").is_some_and(|t| t.starts_with("mock-at-")), "{}", reply.text);
    assert_eq!(field("scope"), Some("repo,gist"));
    assert_eq!(field("token_type"), Some("bearer"));
    assert!(reply.text.contains("scope=repo%2Cgist"), "{}", reply.text);

    // Errors too.
    let reply = exchange(&h, &code).without_header("accept").send(&h).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.starts_with("error=bad_verification_code&"), "{}", reply.text);
}

#[tokio::test]
async fn a_bad_or_reused_code_is_bad_verification_code_with_http_200() {
    let h = oauth_app().await;
    assert_error_200(&exchange(&h, "mock-code-unknown").send(&h).await, "bad_verification_code");
    let wrong_verifier = exchange(&h, &code(&h).await).param("code_verifier", &"x".repeat(43)).send(&h).await;
    assert_error_200(&wrong_verifier, "bad_verification_code");
    let used = code(&h).await;
    assert_eq!(exchange(&h, &used).send(&h).await.json().get("error"), None);
    assert_error_200(&exchange(&h, &used).send(&h).await, "bad_verification_code");
    assert_error_200(&exchange(&h, &used).without_param("code").send(&h).await, "bad_verification_code");
}

#[tokio::test]
async fn client_credentials_belong_in_the_body() {
    let h = oauth_app().await;
    let config = h.mock.config();
    let code = code(&h).await;
    let wrong = exchange(&h, &code).param("client_secret", "wrong").send(&h).await;
    assert_error_200(&wrong, "incorrect_client_credentials");
    let basic_only = exchange(&h, &code)
        .without_param("client_secret")
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .send(&h)
        .await;
    assert_error_200(&basic_only, "incorrect_client_credentials");
    // The refused requests burned nothing: the code still works.
    assert_eq!(exchange(&h, &code).send(&h).await.json().get("error"), None);
}

#[tokio::test]
async fn redirect_uri_is_optional_but_must_match_when_sent() {
    let h = oauth_app().await;
    let code = code(&h).await;
    let other = exchange(&h, &code).param("redirect_uri", "https://elsewhere.test/oauth").send(&h).await;
    assert_error_200(&other, "redirect_uri_mismatch");
    let reply = exchange(&h, &code).without_param("redirect_uri").send(&h).await;
    assert_eq!(reply.json().get("error"), None, "{}", reply.text);
}

#[tokio::test]
async fn a_github_app_gets_expiring_tokens_and_single_use_refresh_tokens() {
    let h = github_app().await;
    let body = tokens(&h).await;
    assert_eq!(body["expires_in"], 28_800);
    assert_eq!(body["refresh_token_expires_in"], 15_897_600);
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let reply = refresh(&h, &first).send(&h).await;
    assert_eq!(reply.json().get("error"), None, "{}", reply.text);
    let second = reply.field("refresh_token");
    assert_ne!(first, second);
    assert_eq!(user(&h, &reply.field("access_token")).send(&h).await.status, 200);
    let replay = refresh(&h, &first).send(&h).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.error(), "bad_refresh_token");
    assert_eq!(refresh(&h, "mock-rt-unknown").send(&h).await.error(), "bad_refresh_token");
}

#[tokio::test]
async fn an_oauth_app_cannot_refresh() {
    let h = oauth_app().await;
    tokens(&h).await;
    assert_eq!(refresh(&h, "mock-rt-any").send(&h).await.error(), "unsupported_grant_type");
}

#[tokio::test]
async fn the_api_answers_a_bearer_or_token_authorization_with_a_user_agent() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = user(&h, &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["login"], LOGIN);
    assert_eq!(reply.header("x-oauth-scopes"), Some("repo, gist"));
    let reply = user(&h, &token).header("authorization", &format!("token {token}")).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_api_requires_a_user_agent() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = user(&h, &token).without_header("user-agent").send(&h).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.text.contains("User-Agent"), "{}", reply.text);
}

#[tokio::test]
async fn the_api_requires_valid_credentials() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let missing = user(&h, &token).without_header("authorization").send(&h).await;
    assert_eq!((missing.status, missing.json()["message"].as_str()), (401, Some("Requires authentication")));
    for authorization in ["Bearer mock-at-unknown".to_owned(), format!("Basic {token}")] {
        let reply = user(&h, &token).header("authorization", &authorization).send(&h).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert!(reply.json()["message"].as_str().unwrap().starts_with("Bad credentials"), "{}", reply.text);
    }
}

#[tokio::test]
async fn deleting_the_grant_revokes_every_token_of_it() {
    let h = oauth_app().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = delete_grant(&h, &token).send(&h).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(h.mock.is_revoked(&token));
    assert_eq!(user(&h, &token).send(&h).await.status, 401);
    assert_eq!(delete_grant(&h, "mock-at-unknown").send(&h).await.status, 404);
}

#[tokio::test]
async fn deleting_a_grant_needs_a_user_agent_basic_credentials_and_the_token() {
    let h = oauth_app().await;
    let config = h.mock.config();
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(delete_grant(&h, &token).without_header("user-agent").send(&h).await.status, 403);
    let wrong = delete_grant(&h, &token).header("authorization", &basic(&config.client_id, "wrong"));
    assert_eq!(wrong.send(&h).await.status, 401);
    assert_eq!(delete_grant(&h, &token).without_header("authorization").send(&h).await.status, 401);
    let missing = delete_grant(&h, &token).raw_body("{}").send(&h).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    let other_app = h
        .call(Method::DELETE, "/api/v3/applications/other-app/grant")
        .header("authorization", &basic(&config.client_id, &config.client_secret))
        .header("user-agent", "keyway-test")
        .header("content-type", "application/json")
        .raw_body(&json!({"access_token": token}).to_string());
    assert_eq!(other_app.send(&h).await.status, 404);
    assert!(!h.mock.is_revoked(&token));
}
