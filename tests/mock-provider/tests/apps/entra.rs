//! Entra ID mode: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

use keyway_mock_provider::apps::entra::{AUTHORIZE_PATH, ME_PATH, TENANT, TOKEN_PATH};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::Value;

use crate::support::{CHALLENGE, Call, Harness, REDIRECT_URI, Reply, STATE, VERIFIER, basic};
use crate::{changed, code_of, get, redirect_error};

const DEFAULT_SCOPES: &str = "https://graph.microsoft.com/.default offline_access";

async fn entra() -> Harness {
    entra_with(MockConfig::default()).await
}

async fn entra_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Entra, ..config }).await
}

async fn authorize_at(h: &Harness, tenant: &str, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", DEFAULT_SCOPES),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    get(h, &format!("/{tenant}{AUTHORIZE_PATH}"), &changed(&params, set)).await
}

/// The documented redemption at `tenant`: a form with the secret in the body.
fn exchange_at(h: &Harness, tenant: &str, code: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, &format!("/{tenant}{TOKEN_PATH}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("scope", DEFAULT_SCOPES)
        .param("code", code)
        .param("redirect_uri", REDIRECT_URI)
        .param("grant_type", "authorization_code")
        .param("code_verifier", VERIFIER)
        .param("client_secret", &config.client_secret)
}

fn refresh_at(h: &Harness, tenant: &str, refresh_token: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, &format!("/{tenant}{TOKEN_PATH}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("scope", DEFAULT_SCOPES)
        .param("refresh_token", refresh_token)
        .param("grant_type", "refresh_token")
        .param("client_secret", &config.client_secret)
}

async fn tokens(h: &Harness) -> Value {
    let code = code_of(&authorize_at(h, TENANT, &[]).await);
    let reply = exchange_at(h, TENANT, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn me(h: &Harness, token: &str) -> Call {
    h.call(Method::GET, ME_PATH).header("authorization", &format!("Bearer {token}"))
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str, aadsts: Option<u64>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
    if let Some(code) = aadsts {
        assert_eq!(reply.json()["error_codes"][0], code, "{}", reply.text);
    }
}

#[tokio::test]
async fn the_tenant_is_the_first_path_segment_and_must_name_a_directory() {
    let h = entra().await;
    for tenant in [TENANT, "common", "organizations", "consumers", "72f988bf-86f1-41af-91ab-2d7cd011db47"] {
        code_of(&authorize_at(&h, tenant, &[]).await);
    }
    for tenant in ["not_a_tenant", "contoso..com", "72f988bf-86f1-41af-91ab"] {
        let reply = authorize_at(&h, tenant, &[]).await;
        assert_eq!(reply.status, 400, "{tenant}: {}", reply.text);
        assert!(reply.text.contains("AADSTS90002"), "{}", reply.text);
    }
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    assert_refused(&exchange_at(&h, "not_a_tenant", &code).send(&h).await, 400, "invalid_request", Some(90002));
    // The v1 endpoints are not served: this mode plays v2 only.
    assert_eq!(h.call(Method::POST, &format!("/{TENANT}/oauth2/token")).send(&h).await.status, 404);
}

#[tokio::test]
async fn a_code_and_a_refresh_token_are_redeemed_at_the_tenant_that_issued_them() {
    let h = entra().await;
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    assert_refused(&exchange_at(&h, "common", &code).send(&h).await, 400, "invalid_grant", Some(50148));
    let h = entra().await;
    let refresh_token = tokens(&h).await["refresh_token"].as_str().unwrap().to_owned();
    assert_refused(&refresh_at(&h, "common", &refresh_token).send(&h).await, 400, "invalid_grant", Some(50148));
    assert_eq!(refresh_at(&h, TENANT, &refresh_token).send(&h).await.status, 200);
}

#[tokio::test]
async fn authorize_needs_a_code_response_a_scope_pkce_and_the_client() {
    let h = entra().await;
    let (error, description) = redirect_error(&authorize_at(&h, TENANT, &[("scope", None)]).await);
    assert_eq!(error, "invalid_request");
    assert!(description.contains("AADSTS900144"), "{description}");
    let token = authorize_at(&h, TENANT, &[("response_type", Some("token"))]).await;
    assert_eq!(redirect_error(&token).0, "unsupported_response_type");
    let no_pkce = authorize_at(&h, TENANT, &[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(redirect_error(&no_pkce).0, "invalid_request");
    assert_eq!(authorize_at(&h, TENANT, &[("client_id", Some("other"))]).await.status, 400);
    let denied = entra_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize_at(&denied, TENANT, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn scopes_name_one_resource_and_default_stands_alone_for_it() {
    let h = entra().await;
    for good in ["openid profile User.Read", "https://graph.microsoft.com/Mail.Read offline_access", DEFAULT_SCOPES] {
        code_of(&authorize_at(&h, TENANT, &[("scope", Some(good))]).await);
    }
    let two = "https://graph.microsoft.com/User.Read https://management.azure.com/user_impersonation";
    let (error, description) = redirect_error(&authorize_at(&h, TENANT, &[("scope", Some(two))]).await);
    assert_eq!((error.as_str(), description.contains("AADSTS28000")), ("invalid_scope", true), "{description}");
    let mixed = "https://graph.microsoft.com/.default https://graph.microsoft.com/User.Read";
    let (error, description) = redirect_error(&authorize_at(&h, TENANT, &[("scope", Some(mixed))]).await);
    assert_eq!((error.as_str(), description.contains("AADSTS70011")), ("invalid_scope", true), "{description}");
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    assert_refused(
        &exchange_at(&h, TENANT, &code).param("scope", two).send(&h).await,
        400,
        "invalid_scope",
        Some(28000),
    );
}

#[tokio::test]
async fn default_grants_the_configured_permissions_and_offline_access_a_refresh_token() {
    let h = entra().await;
    let body = tokens(&h).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "https://graph.microsoft.com/User.Read", "{body}");
    assert!(body["expires_in"].is_u64() && body["ext_expires_in"] == body["expires_in"], "{body}");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{body}");
    let me = me(&h, body["access_token"].as_str().unwrap()).send(&h).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["userPrincipalName"], format!("AdeleV@{TENANT}"));

    let code = code_of(&authorize_at(&h, TENANT, &[("scope", Some("https://graph.microsoft.com/.default"))]).await);
    let reply = exchange_at(&h, TENANT, &code).param("scope", "https://graph.microsoft.com/.default").send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("refresh_token").is_none(), "no offline_access, no refresh token: {}", reply.text);
}

#[tokio::test]
async fn the_token_request_is_a_form_with_one_client_authentication() {
    let h = entra().await;
    let config = h.mock.config();
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    let json = exchange_at(&h, TENANT, &code).header("content-type", "application/json");
    assert_refused(&json.send(&h).await, 400, "invalid_request", None);
    let both = exchange_at(&h, TENANT, &code).header("authorization", &basic(&config.client_id, &config.client_secret));
    assert_refused(&both.send(&h).await, 400, "invalid_request", None);
    assert_refused(
        &exchange_at(&h, TENANT, &code).param("client_secret", "x").send(&h).await,
        401,
        "invalid_client",
        None,
    );
    let no_grant = exchange_at(&h, TENANT, &code).without_param("grant_type").send(&h).await;
    assert_refused(&no_grant, 400, "invalid_request", Some(900144));
    let password = exchange_at(&h, TENANT, &code).param("grant_type", "password").send(&h).await;
    assert_refused(&password, 400, "unsupported_grant_type", Some(70003));
    // The secret in a Basic header instead of the body is accepted.
    let basic_only = exchange_at(&h, TENANT, &code)
        .without_param("client_secret")
        .header("authorization", &basic(&config.client_id, &config.client_secret));
    assert_eq!(basic_only.send(&h).await.status, 200, "the refusals burned nothing");
}

#[tokio::test]
async fn the_code_exchange_checks_the_redirect_uri_and_the_verifier() {
    let h = entra().await;
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    let other = exchange_at(&h, TENANT, &code).param("redirect_uri", "https://elsewhere.test/cb").send(&h).await;
    assert_refused(&other, 400, "invalid_grant", None);
    let code = code_of(&authorize_at(&h, TENANT, &[]).await);
    let wrong = exchange_at(&h, TENANT, &code).param("code_verifier", &"x".repeat(43)).send(&h).await;
    assert_refused(&wrong, 400, "invalid_grant", None);
}

#[tokio::test]
async fn a_refresh_sends_scope_no_wider_and_gets_a_new_refresh_token() {
    let h = entra().await;
    let first = tokens(&h).await["refresh_token"].as_str().unwrap().to_owned();
    let no_scope = refresh_at(&h, TENANT, &first).without_param("scope").send(&h).await;
    assert_refused(&no_scope, 400, "invalid_request", Some(900144));
    let wider = refresh_at(&h, TENANT, &first).param("scope", "openid offline_access").send(&h).await;
    assert_refused(&wider, 400, "invalid_scope", None);
    let reply = refresh_at(&h, TENANT, &first).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let refreshed = reply.json();
    let second = refreshed["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(second, first);
    assert_eq!(me(&h, refreshed["access_token"].as_str().unwrap()).send(&h).await.status, 200);
    assert_refused(&refresh_at(&h, TENANT, &first).send(&h).await, 400, "invalid_grant", None);
}

#[tokio::test]
async fn graph_takes_a_valid_bearer_token_and_answers_its_own_errors() {
    let h = entra().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    for reply in [
        me(&h, "mock-at-unknown").send(&h).await,
        me(&h, &token).without_header("authorization").send(&h).await,
        me(&h, &token).header("authorization", &format!("token {token}")).send(&h).await,
    ] {
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert_eq!(reply.json()["error"]["code"], "InvalidAuthenticationToken", "{}", reply.text);
    }
    h.mock.expire_access_tokens();
    assert_eq!(me(&h, &token).send(&h).await.status, 401);
}
