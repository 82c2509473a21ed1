//! Zendesk mode:
//! https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-authentication-with-your-application/

use keyway_mock_provider::apps::zendesk::{AUTHORIZE_PATH, ME_PATH, REVOKE_PATH, TOKEN_PATH};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{CHALLENGE, Call, Harness, REDIRECT_URI, Reply, STATE, VERIFIER, basic};
use crate::{changed, code_of, redirect_error};

async fn zendesk() -> Harness {
    zendesk_with(MockConfig::default()).await
}

async fn zendesk_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Zendesk, ..config }).await
}

/// A request to `path` on the account `subdomain`'s host, which the mock reads from `Host`.
fn at(h: &Harness, subdomain: &str, method: Method, path: &str) -> Call {
    let host = format!("{subdomain}.zendesk.test:{}", h.mock.local_addr().port());
    h.call(method, path).header("host", &host)
}

async fn authorize_at(h: &Harness, subdomain: &str, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read write"),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(changed(&params, set)).finish();
    at(h, subdomain, Method::GET, &format!("{AUTHORIZE_PATH}?{query}")).send(h).await
}

/// The documented exchange on `subdomain`: a form with the client's credentials, asking for `expires_in`.
fn exchange_at(h: &Harness, subdomain: &str, code: &str) -> Call {
    let config = h.mock.config();
    at(h, subdomain, Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("grant_type", "authorization_code")
        .param("code", code)
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", VERIFIER)
        .param("expires_in", "172800")
}

fn refresh_at(h: &Harness, subdomain: &str, refresh_token: &str) -> Call {
    let config = h.mock.config();
    at(h, subdomain, Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("grant_type", "refresh_token")
        .param("refresh_token", refresh_token)
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("expires_in", "172800")
}

async fn tokens(h: &Harness) -> Value {
    let code = code_of(&authorize_at(h, "acme", &[]).await);
    let reply = exchange_at(h, "acme", &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn me_at(h: &Harness, subdomain: &str, token: &str) -> Call {
    at(h, subdomain, Method::GET, ME_PATH).header("authorization", &format!("Bearer {token}"))
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

#[tokio::test]
async fn each_account_is_a_subdomain() {
    let h = zendesk().await;
    let reply = authorize_at(&h, "acme", &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    for subdomain in ["", "a.b"] {
        let reply = authorize_at(&h, subdomain, &[]).await;
        assert_eq!(reply.status, 404, "{subdomain}: {}", reply.text);
    }
    let bare = h.call(Method::GET, AUTHORIZE_PATH).send(&h).await;
    assert_eq!(bare.status, 404, "{}", bare.text);
    assert!(bare.text.contains("no Zendesk account"), "{}", bare.text);
}

#[tokio::test]
async fn authorize_checks_response_type_scope_pkce_and_the_client() {
    let h = zendesk().await;
    assert_eq!(redirect_error(&authorize_at(&h, "acme", &[("response_type", None)]).await).0, "invalid_request");
    assert_eq!(redirect_error(&authorize_at(&h, "acme", &[("scope", None)]).await).0, "invalid_scope");
    let no_pkce = authorize_at(&h, "acme", &[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(redirect_error(&no_pkce).0, "invalid_request");
    assert_eq!(authorize_at(&h, "acme", &[("client_id", Some("other"))]).await.status, 400);
    let denied = zendesk_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize_at(&denied, "acme", &[]).await).0, "access_denied");
}

#[tokio::test]
async fn asking_for_expires_in_gets_an_expiring_token_and_a_refresh_token() {
    let h = zendesk().await;
    let body = tokens(&h).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 172_800);
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{body}");
    assert!(body["refresh_token_expires_in"].is_u64(), "{body}");
    let me = me_at(&h, "acme", body["access_token"].as_str().unwrap()).send(&h).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["user"]["role"], "agent");
}

#[tokio::test]
async fn without_expires_in_the_token_never_expires_and_has_no_refresh_token() {
    let h = zendesk().await;
    let code = code_of(&authorize_at(&h, "acme", &[]).await);
    let reply = exchange_at(&h, "acme", &code).without_param("expires_in").send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert!(body.get("expires_in").is_none() && body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn expires_in_must_be_within_zendesks_limits() {
    let h = zendesk().await;
    let code = code_of(&authorize_at(&h, "acme", &[]).await);
    for bad in ["299", "172801", "two days"] {
        assert_refused(&exchange_at(&h, "acme", &code).param("expires_in", bad).send(&h).await, 400, "invalid_request");
    }
    let long_refresh = exchange_at(&h, "acme", &code).param("refresh_token_expires_in", "60").send(&h).await;
    assert_refused(&long_refresh, 400, "invalid_request");
    assert_eq!(exchange_at(&h, "acme", &code).send(&h).await.status, 200, "the refusals burned nothing");
}

#[tokio::test]
async fn a_code_works_only_on_the_account_that_issued_it() {
    let h = zendesk().await;
    let code = code_of(&authorize_at(&h, "acme", &[]).await);
    assert_refused(&exchange_at(&h, "globex", &code).send(&h).await, 400, "invalid_grant");
    assert_eq!(exchange_at(&h, "acme", &code).send(&h).await.status, 200);
}

#[tokio::test]
async fn client_credentials_go_in_the_body_as_a_form_or_json() {
    let h = zendesk().await;
    let config = h.mock.config();
    let code = code_of(&authorize_at(&h, "acme", &[]).await);
    let basic_header = exchange_at(&h, "acme", &code)
        .without_param("client_secret")
        .header("authorization", &basic(&config.client_id, &config.client_secret));
    assert_refused(&basic_header.send(&h).await, 400, "invalid_request");
    assert_refused(&exchange_at(&h, "acme", &code).param("client_secret", "x").send(&h).await, 401, "invalid_client");
    let json = json!({
        "grant_type": "authorization_code", "code": code, "client_id": config.client_id,
        "client_secret": config.client_secret, "redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER,
        "expires_in": 300,
    });
    let reply = at(&h, "acme", Method::POST, TOKEN_PATH)
        .header("content-type", "application/json")
        .raw_body(&json.to_string())
        .send(&h)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["expires_in"], 300);
}

#[tokio::test]
async fn a_refresh_replaces_the_refresh_token_on_the_same_account() {
    let h = zendesk().await;
    let first = tokens(&h).await["refresh_token"].as_str().unwrap().to_owned();
    assert_refused(&refresh_at(&h, "globex", &first).send(&h).await, 400, "invalid_grant");
    let reply = refresh_at(&h, "acme", &first).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let refreshed = reply.json();
    assert_eq!(refreshed["expires_in"], 172_800);
    assert_ne!(refreshed["refresh_token"].as_str(), Some(first.as_str()));
    assert_eq!(me_at(&h, "acme", refreshed["access_token"].as_str().unwrap()).send(&h).await.status, 200);
    assert_refused(&refresh_at(&h, "acme", &first).send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn the_api_takes_a_bearer_token_of_this_account() {
    let h = zendesk().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    assert_refused(&me_at(&h, "globex", &token).send(&h).await, 401, "invalid_token");
    assert_refused(&me_at(&h, "acme", "mock-at-unknown").send(&h).await, 401, "invalid_token");
    assert_refused(&me_at(&h, "acme", &token).without_header("authorization").send(&h).await, 401, "invalid_token");
    let bare = h.call(Method::GET, ME_PATH).header("authorization", &format!("Bearer {token}")).send(&h).await;
    assert_eq!(bare.status, 404);
}

#[tokio::test]
async fn revoking_the_current_token_ends_it() {
    let h = zendesk().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let revoke =
        |subdomain| at(&h, subdomain, Method::DELETE, REVOKE_PATH).header("authorization", &format!("Bearer {token}"));
    assert_eq!(revoke("globex").send(&h).await.status, 401);
    assert_eq!(revoke("acme").send(&h).await.status, 204);
    assert!(h.mock.is_revoked(&token));
    assert_refused(&me_at(&h, "acme", &token).send(&h).await, 401, "invalid_token");
}

#[tokio::test]
async fn the_token_request_needs_a_known_grant_type_once_in_a_form_or_json() {
    let h = zendesk().await;
    let code = code_of(&authorize_at(&h, "acme", &[]).await);
    assert_refused(&exchange_at(&h, "acme", &code).without_param("grant_type").send(&h).await, 400, "invalid_request");
    let password = exchange_at(&h, "acme", &code).param("grant_type", "password").send(&h).await;
    assert_refused(&password, 400, "unsupported_grant_type");
    let repeated = exchange_at(&h, "acme", &code).extra_param("expires_in", "300").send(&h).await;
    assert_refused(&repeated, 400, "invalid_request");
    let text = exchange_at(&h, "acme", &code).header("content-type", "text/plain").send(&h).await;
    assert_refused(&text, 400, "invalid_request");
    assert_eq!(exchange_at(&h, "acme", &code).send(&h).await.status, 200, "the refusals burned nothing");
}
