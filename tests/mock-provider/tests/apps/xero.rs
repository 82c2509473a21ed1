//! Xero mode: https://developer.xero.com/documentation/guides/oauth2/auth-flow

use keyway_mock_provider::apps::xero::{
    ACCESS_TOKEN_SECONDS, AUTHORIZE_PATH, CONNECTIONS_PATH, ORGANISATION_PATH, REVOKE_PATH, TENANTS, TOKEN_PATH,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::Value;

use crate::support::{CHALLENGE, Call, Harness, REDIRECT_URI, Reply, STATE, VERIFIER, basic};
use crate::{changed, code_of, get, redirect_error};

const SCOPES: &str = "openid profile email accounting.settings offline_access";

async fn xero() -> Harness {
    xero_with(MockConfig::default()).await
}

async fn xero_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Xero, ..config }).await
}

async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", SCOPES),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

/// A form to `path` with the client's Basic credentials, as Xero documents them.
fn basic_form(h: &Harness, path: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", &basic(&config.client_id, &config.client_secret))
}

fn exchange(h: &Harness, code: &str) -> Call {
    basic_form(h, TOKEN_PATH)
        .param("grant_type", "authorization_code")
        .param("code", code)
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", VERIFIER)
}

fn refresh(h: &Harness, refresh_token: &str) -> Call {
    basic_form(h, TOKEN_PATH).param("grant_type", "refresh_token").param("refresh_token", refresh_token)
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

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

#[tokio::test]
async fn authorize_needs_a_code_response_scopes_pkce_when_required_and_the_client() {
    let h = xero().await;
    assert_eq!(
        redirect_error(&authorize(&h, &[("response_type", Some("token"))]).await).0,
        "unsupported_response_type"
    );
    assert_eq!(redirect_error(&authorize(&h, &[("scope", None)]).await).0, "invalid_scope");
    let no_pkce = authorize(&h, &[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(redirect_error(&no_pkce).0, "invalid_request");
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    let denied = xero_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn the_token_request_is_a_form_with_basic_client_authentication() {
    let h = xero().await;
    let config = h.mock.config();
    let code = code_of(&authorize(&h, &[]).await);
    let in_body = h
        .call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("grant_type", "authorization_code")
        .param("code", &code)
        .param("redirect_uri", REDIRECT_URI)
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret);
    assert_refused(&in_body.send(&h).await, 400, "invalid_request");
    let wrong = exchange(&h, &code).header("authorization", &basic(&config.client_id, "x"));
    assert_refused(&wrong.send(&h).await, 401, "invalid_client");
    let json = exchange(&h, &code).header("content-type", "application/json");
    assert_refused(&json.send(&h).await, 400, "invalid_request");
    assert_refused(&exchange(&h, &code).without_param("grant_type").send(&h).await, 400, "invalid_request");
    let password = exchange(&h, &code).param("grant_type", "password").send(&h).await;
    assert_refused(&password, 400, "unsupported_grant_type");
    assert_eq!(exchange(&h, &code).send(&h).await.status, 200, "the refusals burned nothing");
}

#[tokio::test]
async fn the_code_exchange_checks_the_redirect_uri_and_the_verifier() {
    let h = xero().await;
    let code = code_of(&authorize(&h, &[]).await);
    let other = exchange(&h, &code).param("redirect_uri", "https://elsewhere.test/cb").send(&h).await;
    assert_refused(&other, 400, "invalid_grant");
    let code = code_of(&authorize(&h, &[]).await);
    assert_refused(&exchange(&h, &code).without_param("code_verifier").send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn tokens_last_thirty_minutes_and_offline_access_brings_a_rotating_refresh_token() {
    let h = xero().await;
    let body = tokens(&h).await;
    assert_eq!(body["expires_in"], ACCESS_TOKEN_SECONDS, "{body}");
    assert!(body.get("refresh_token_expires_in").is_none(), "Xero does not state the 60 days: {body}");
    let first = body["refresh_token"].as_str().expect("offline_access was granted").to_owned();
    let reply = refresh(&h, &first).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let second = reply.json()["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(second, first);
    assert_refused(&refresh(&h, &first).send(&h).await, 400, "invalid_grant");

    let code = code_of(&authorize(&h, &[("scope", Some("openid accounting.settings"))]).await);
    let reply = exchange(&h, &code).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("refresh_token").is_none(), "without offline_access: {}", reply.text);
}

#[tokio::test]
async fn connections_list_the_tenants_in_the_order_they_were_connected() {
    let h = xero().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = bearer(&h, CONNECTIONS_PATH, &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let tenants = reply.json();
    let ids: Vec<&str> = tenants.as_array().unwrap().iter().map(|t| t["tenantId"].as_str().unwrap()).collect();
    assert_eq!(ids, [TENANTS[0].0, TENANTS[1].0]);
    assert_eq!(tenants[0]["tenantType"], "ORGANISATION");
    assert_eq!(bearer(&h, CONNECTIONS_PATH, "mock-at-unknown").send(&h).await.status, 401);
}

#[tokio::test]
async fn the_accounting_api_needs_the_bearer_token_and_a_connected_xero_tenant_id() {
    let h = xero().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    for (id, name) in TENANTS {
        let reply = bearer(&h, ORGANISATION_PATH, &token).header("xero-tenant-id", id).send(&h).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["Organisations"][0]["Name"], name);
    }
    let missing = bearer(&h, ORGANISATION_PATH, &token).send(&h).await;
    assert_eq!((missing.status, missing.json()["Title"].as_str()), (403, Some("Forbidden")), "{}", missing.text);
    let other = bearer(&h, ORGANISATION_PATH, &token).header("xero-tenant-id", "00000000-0000-0000-0000-000000000000");
    assert_eq!(other.send(&h).await.status, 403);
    let unknown = bearer(&h, ORGANISATION_PATH, "mock-at-unknown").header("xero-tenant-id", TENANTS[0].0);
    assert_eq!(unknown.send(&h).await.status, 401);
}

#[tokio::test]
async fn revoking_the_refresh_token_ends_the_grant() {
    let h = xero().await;
    let body = tokens(&h).await;
    let (access, refresh_token) = (body["access_token"].as_str().unwrap(), body["refresh_token"].as_str().unwrap());
    let config = h.mock.config();
    let unauthenticated = h
        .call(Method::POST, REVOKE_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("token", refresh_token)
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret);
    assert_refused(&unauthenticated.send(&h).await, 400, "invalid_request");
    assert_refused(&basic_form(&h, REVOKE_PATH).send(&h).await, 400, "invalid_request");
    assert_eq!(basic_form(&h, REVOKE_PATH).param("token", refresh_token).send(&h).await.status, 200);
    assert!(h.mock.is_revoked(refresh_token) && h.mock.is_revoked(access));
    assert_eq!(bearer(&h, CONNECTIONS_PATH, access).send(&h).await.status, 401);
}
