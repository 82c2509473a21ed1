//! TikTok mode: https://business-api.tiktok.com/portal/docs (the accounts API's authorization and token pages).

use keyway_mock_provider::apps::tiktok::{
    AUTH_ERROR, AUTHORIZE_PATH, BUSINESS_PATH, OPEN_ID, PARAM_ERROR, REFRESH_PATH, REVOKE_PATH, TOKEN_INVALID,
    TOKEN_MISSING, TOKEN_PATH,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Harness, REDIRECT_URI, Reply, STATE};
use crate::{changed, code_of, get, post_json, redirect_error};

async fn tiktok() -> Harness {
    tiktok_with(MockConfig::default()).await
}

async fn tiktok_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Tiktok, ..config }).await
}

/// The documented authorize request: `client_key`, comma-separated scopes; changed by `set`.
async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_key = h.mock.config().client_id;
    let params = [
        ("client_key", client_key.as_str()),
        ("scope", "user.info.basic,biz.creator.info"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

/// `body` with `changes` applied: a value replaces a field (or adds it), `null` removes it.
fn merged(mut body: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(name);
        } else {
            body[name] = value.clone();
        }
    }
    body
}

/// The client's credentials plus `fields`, as the JSON body of every token call.
fn client_body(h: &Harness, fields: Value) -> Value {
    let config = h.mock.config();
    merged(json!({"client_id": config.client_id, "client_secret": config.client_secret}), fields)
}

/// The documented exchange, with `changes` (`null` removes a field).
async fn exchange(h: &Harness, code: &str, changes: Value) -> Reply {
    let body =
        client_body(h, json!({"grant_type": "authorization_code", "auth_code": code, "redirect_uri": REDIRECT_URI}));
    post_json(h, TOKEN_PATH, &merged(body, changes)).send(h).await
}

/// The `data` of a successful envelope.
#[track_caller]
fn data(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["message"], "OK", "{body}");
    assert!(body["request_id"].is_string(), "{body}");
    body["data"].clone()
}

/// A refusal: HTTP 200, a non-zero code; returns the message.
#[track_caller]
fn assert_refused(reply: &Reply, code: u32) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    body["message"].as_str().unwrap().to_owned()
}

async fn tokens(h: &Harness) -> Value {
    let code = code_of(&authorize(h, &[]).await);
    data(&exchange(h, &code, json!({})).await)
}

fn business(h: &Harness, token: &str) -> crate::support::Call {
    h.call(Method::GET, &format!("{BUSINESS_PATH}?business_id={OPEN_ID}")).header("access-token", token)
}

#[tokio::test]
async fn authorize_takes_client_key_and_comma_separated_scopes() {
    let h = tiktok().await;
    let reply = authorize(&h, &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("scopes").as_deref(), Some("user.info.basic,biz.creator.info"));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn authorize_refuses_client_id_spaces_and_a_missing_response_type() {
    let h = tiktok().await;
    let client_id = h.mock.config().client_id;
    let reply = authorize(&h, &[("client_key", None), ("client_id", Some(&client_id))]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("`client_key` is missing"), "{}", reply.text);
    let (error, description) =
        redirect_error(&authorize(&h, &[("scope", Some("user.info.basic biz.creator.info"))]).await);
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("commas"), "{description}");
    assert_eq!(redirect_error(&authorize(&h, &[("scope", None)]).await).0, "invalid_scope");
    assert_eq!(redirect_error(&authorize(&h, &[("response_type", None)]).await).0, "invalid_request");
    let denied = tiktok_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn the_documented_exchange_answers_tokens_in_the_envelopes_data() {
    let h = tiktok().await;
    let data = tokens(&h).await;
    assert!(data["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{data}");
    assert!(data["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{data}");
    assert_eq!(data["expires_in"], 3600);
    assert_eq!(data["refresh_token_expires_in"], 31_536_000);
    assert_eq!(data["open_id"], OPEN_ID);
    assert_eq!(data["scope"], "user.info.basic,biz.creator.info");
    assert_eq!(data["token_type"], "Bearer");
}

#[tokio::test]
async fn the_code_is_auth_code_in_a_json_body() {
    let h = tiktok().await;
    let code = code_of(&authorize(&h, &[]).await);
    let message = assert_refused(&exchange(&h, &code, json!({"auth_code": null, "code": code})).await, PARAM_ERROR);
    assert!(message.contains("`auth_code` (not `code`) is missing"), "{message}");
    let form = h
        .call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("auth_code", &code)
        .send(&h)
        .await;
    assert!(assert_refused(&form, PARAM_ERROR).contains("JSON"));
    // Refusals consumed nothing.
    data(&exchange(&h, &code, json!({})).await);
}

#[tokio::test]
async fn the_exchange_checks_credentials_grant_type_and_redirect_uri() {
    let h = tiktok().await;
    let code = code_of(&authorize(&h, &[]).await);
    assert_refused(&exchange(&h, &code, json!({"client_secret": "wrong"})).await, AUTH_ERROR);
    assert_refused(&exchange(&h, &code, json!({"client_id": null})).await, AUTH_ERROR);
    assert_refused(&exchange(&h, &code, json!({"grant_type": null})).await, PARAM_ERROR);
    let message = assert_refused(&exchange(&h, &code, json!({"grant_type": "refresh_token"})).await, PARAM_ERROR);
    assert!(message.contains(REFRESH_PATH), "{message}");
    assert_refused(&exchange(&h, &code, json!({"redirect_uri": null})).await, PARAM_ERROR);
    assert_refused(&exchange(&h, &code, json!({"redirect_uri": "https://elsewhere.test/oauth"})).await, AUTH_ERROR);
    // That last one spent the code, as a mismatched redirect does.
    assert_refused(&exchange(&h, &code, json!({})).await, AUTH_ERROR);
}

#[tokio::test]
async fn refresh_has_its_own_path() {
    let h = tiktok().await;
    let first = tokens(&h).await;
    let refresh_token = first["refresh_token"].as_str().unwrap();
    let body = client_body(&h, json!({"grant_type": "refresh_token", "refresh_token": refresh_token}));
    let refreshed = data(&post_json(&h, REFRESH_PATH, &body).send(&h).await);
    assert_ne!(refreshed["access_token"], first["access_token"]);
    assert_eq!(refreshed["refresh_token"], refresh_token, "without rotation the refresh token stays");
    assert_eq!(
        data(&business(&h, refreshed["access_token"].as_str().unwrap()).send(&h).await)["username"],
        "keyway.test"
    );

    let unknown = client_body(&h, json!({"grant_type": "refresh_token", "refresh_token": "mock-rt-unknown"}));
    assert_refused(&post_json(&h, REFRESH_PATH, &unknown).send(&h).await, AUTH_ERROR);
    let wrong_grant = client_body(&h, json!({"grant_type": "authorization_code", "refresh_token": refresh_token}));
    assert_refused(&post_json(&h, REFRESH_PATH, &wrong_grant).send(&h).await, PARAM_ERROR);
    let missing = client_body(&h, json!({"grant_type": "refresh_token"}));
    assert_refused(&post_json(&h, REFRESH_PATH, &missing).send(&h).await, PARAM_ERROR);
    let wrong_client =
        client_body(&h, json!({"grant_type": "refresh_token", "refresh_token": refresh_token, "client_secret": "x"}));
    assert_refused(&post_json(&h, REFRESH_PATH, &wrong_client).send(&h).await, AUTH_ERROR);
}

#[tokio::test]
async fn revoke_takes_the_access_token_with_the_clients_credentials() {
    let h = tiktok().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let missing = client_body(&h, json!({}));
    assert_refused(&post_json(&h, REVOKE_PATH, &missing).send(&h).await, PARAM_ERROR);
    let wrong = client_body(&h, json!({"access_token": token, "client_secret": "wrong"}));
    assert_refused(&post_json(&h, REVOKE_PATH, &wrong).send(&h).await, AUTH_ERROR);
    assert!(!h.mock.is_revoked(&token));
    data(&post_json(&h, REVOKE_PATH, &client_body(&h, json!({"access_token": token}))).send(&h).await);
    assert!(h.mock.is_revoked(&token));
    assert_refused(&business(&h, &token).send(&h).await, TOKEN_INVALID);
}

#[tokio::test]
async fn the_api_reads_the_access_token_header_only() {
    let h = tiktok().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(data(&business(&h, &token).send(&h).await)["display_name"], "Keyway Test");
    let bearer = business(&h, &token)
        .without_header("access-token")
        .header("authorization", &format!("Bearer {token}"))
        .send(&h)
        .await;
    assert!(assert_refused(&bearer, TOKEN_MISSING).contains("Access-Token"));
    assert_refused(&business(&h, "mock-at-unknown").send(&h).await, TOKEN_INVALID);
    let other = h.call(Method::GET, &format!("{BUSINESS_PATH}?business_id=someone")).header("access-token", &token);
    assert_refused(&other.send(&h).await, PARAM_ERROR);
}
