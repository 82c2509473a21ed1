//! Instagram mode:
//! https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login

use keyway_mock_provider::apps::instagram::{
    AUTHORIZE_PATH, EXCHANGE_PATH, LONG_LIVED, REFRESH_PATH, TOKEN_PATH, USER_ID, USERNAME,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::json;

use crate::support::{Call, Harness, REDIRECT_URI, Reply, STATE, basic};
use crate::{changed, code_of, get, post_json, redirect_error};

const SCOPES: &str = "instagram_business_basic,instagram_business_content_publish";

async fn instagram() -> Harness {
    instagram_with(MockConfig::default()).await
}

async fn instagram_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Instagram, ..config }).await
}

async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", STATE),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

/// The documented code exchange: a form with the client's credentials.
fn exchange_code(h: &Harness, code: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("grant_type", "authorization_code")
        .param("redirect_uri", REDIRECT_URI)
        .param("code", code)
}

/// A short-lived token from a fresh authorization.
async fn short_lived(h: &Harness) -> String {
    let code = code_of(&authorize(h, &[]).await);
    let reply = exchange_code(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"][0]["access_token"].as_str().unwrap().to_owned()
}

/// `GET path` with `query`.
async fn graph(h: &Harness, path: &str, query: &[(&str, &str)]) -> Reply {
    let query: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    get(h, path, &query).await
}

async fn exchange(h: &Harness, short: &str) -> Reply {
    let secret = h.mock.config().client_secret;
    graph(h, EXCHANGE_PATH, &[("grant_type", "ig_exchange_token"), ("client_secret", &secret), ("access_token", short)])
        .await
}

async fn long_lived(h: &Harness) -> String {
    let short = short_lived(h).await;
    let reply = exchange(h, &short).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.field("access_token")
}

#[track_caller]
fn assert_oauth_exception(reply: &Reply) -> String {
    assert_eq!(reply.status, 400, "{}", reply.text);
    let body = reply.json();
    assert_eq!((body["error_type"].as_str(), body["code"].as_i64()), (Some("OAuthException"), Some(400)), "{body}");
    body["error_message"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_graph_error(reply: &Reply, code: i64) -> String {
    assert_eq!(reply.status, 400, "{}", reply.text);
    let error = &reply.json()["error"];
    assert_eq!((error["type"].as_str(), error["code"].as_i64()), (Some("OAuthException"), Some(code)), "{error}");
    error["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn authorize_takes_comma_separated_permissions() {
    let h = instagram().await;
    let reply = authorize(&h, &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    assert_eq!(
        redirect_error(
            &authorize(&h, &[("scope", Some("instagram_business_basic instagram_business_content_publish"))]).await
        )
        .0,
        "invalid_scope"
    );
    assert_eq!(redirect_error(&authorize(&h, &[("scope", None)]).await).0, "invalid_scope");
    assert_eq!(redirect_error(&authorize(&h, &[("response_type", None)]).await).0, "invalid_request");
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    let denied = instagram_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn the_code_exchange_answers_a_short_lived_token_in_data() {
    let h = instagram().await;
    let code = code_of(&authorize(&h, &[]).await);
    let reply = exchange_code(&h, &code).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let entry = &reply.json()["data"][0];
    assert!(entry["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{entry}");
    assert_eq!(entry["user_id"], USER_ID);
    assert_eq!(entry["permissions"], SCOPES);
    assert!(entry.get("refresh_token").is_none() && entry.get("expires_in").is_none(), "{entry}");
}

#[tokio::test]
async fn the_code_exchange_refuses_with_oauth_exceptions() {
    let h = instagram().await;
    let config = h.mock.config();
    let code = code_of(&authorize(&h, &[]).await);
    let body = json!({"client_id": config.client_id, "client_secret": config.client_secret, "code": code});
    assert!(assert_oauth_exception(&post_json(&h, TOKEN_PATH, &body).send(&h).await).contains("form"));
    let basic_auth = exchange_code(&h, &code)
        .without_param("client_secret")
        .header("authorization", &basic(&config.client_id, &config.client_secret));
    assert_oauth_exception(&basic_auth.send(&h).await);
    assert_oauth_exception(&exchange_code(&h, &code).param("client_secret", "wrong").send(&h).await);
    assert_oauth_exception(&exchange_code(&h, &code).without_param("grant_type").send(&h).await);
    let message = assert_oauth_exception(&exchange_code(&h, "mock-code-unknown").send(&h).await);
    assert!(message.contains("unknown authorization code"), "{message}");
    assert_eq!(exchange_code(&h, &code).send(&h).await.status, 200, "the refusals burned nothing");
}

#[tokio::test]
async fn a_short_lived_token_is_exchanged_for_a_long_lived_one_with_a_get() {
    let h = instagram().await;
    let short = short_lived(&h).await;
    let reply = exchange(&h, &short).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("bearer"), Some(LONG_LIVED)));
    assert!(body.get("refresh_token").is_none(), "{body}");
    let long = body["access_token"].as_str().unwrap();
    assert_ne!(long, short);
    assert_eq!(graph(&h, "/v22.0/me", &[("access_token", long)]).await.json()["username"], USERNAME);
}

#[tokio::test]
async fn the_exchange_checks_grant_type_secret_and_token() {
    let h = instagram().await;
    let short = short_lived(&h).await;
    let secret = h.mock.config().client_secret;
    let cases: [(&[(&str, &str)], i64); 5] = [
        (&[("grant_type", "ig_refresh_token"), ("client_secret", &secret), ("access_token", &short)], 100),
        (&[("grant_type", "ig_exchange_token"), ("client_secret", "wrong"), ("access_token", &short)], 100),
        (&[("grant_type", "ig_exchange_token"), ("access_token", &short)], 100),
        (&[("grant_type", "ig_exchange_token"), ("client_secret", &secret)], 2500),
        (&[("grant_type", "ig_exchange_token"), ("client_secret", &secret), ("access_token", "mock-at-unknown")], 190),
    ];
    for (query, code) in cases {
        assert_graph_error(&graph(&h, EXCHANGE_PATH, query).await, code);
    }
    let long = long_lived(&h).await;
    let query = [("grant_type", "ig_exchange_token"), ("client_secret", &secret), ("access_token", &long)];
    let message = assert_graph_error(&graph(&h, EXCHANGE_PATH, &query).await, 190);
    assert!(message.contains("short-lived"), "{message}");
    let post = h.call(Method::POST, &format!("{EXCHANGE_PATH}?grant_type=ig_exchange_token")).send(&h).await;
    assert_eq!(post.status, 405, "{}", post.text);
}

#[tokio::test]
async fn a_long_lived_token_refreshes_with_ig_refresh_token() {
    let h = instagram().await;
    let long = long_lived(&h).await;
    let reply = graph(&h, REFRESH_PATH, &[("grant_type", "ig_refresh_token"), ("access_token", &long)]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["expires_in"], LONG_LIVED);
    let renewed = body["access_token"].as_str().unwrap();
    assert_eq!(graph(&h, "/me", &[("access_token", renewed)]).await.status, 200);

    let short = short_lived(&h).await;
    let message = assert_graph_error(
        &graph(&h, REFRESH_PATH, &[("grant_type", "ig_refresh_token"), ("access_token", &short)]).await,
        190,
    );
    assert!(message.contains("short-lived"), "{message}");
    assert_graph_error(
        &graph(&h, REFRESH_PATH, &[("grant_type", "refresh_token"), ("access_token", &long)]).await,
        100,
    );
    assert_graph_error(
        &graph(&h, REFRESH_PATH, &[("grant_type", "ig_refresh_token"), ("access_token", "mock-at-x")]).await,
        190,
    );
    h.mock.expire_access_tokens();
    assert_graph_error(
        &graph(&h, REFRESH_PATH, &[("grant_type", "ig_refresh_token"), ("access_token", &long)]).await,
        190,
    );
}

#[tokio::test]
async fn the_graph_api_takes_the_token_as_a_query_parameter_or_bearer() {
    let h = instagram().await;
    let long = long_lived(&h).await;
    let me = graph(&h, "/v22.0/me", &[("fields", "user_id,username"), ("access_token", &long)]).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!((me.json()["user_id"].as_str(), me.json()["username"].as_str()), (Some(USER_ID), Some(USERNAME)));
    let bearer = h.call(Method::GET, "/me").header("authorization", &format!("Bearer {long}")).send(&h).await;
    assert_eq!(bearer.status, 200, "{}", bearer.text);
    assert_graph_error(&graph(&h, "/v22.0/me", &[("fields", "username")]).await, 2500);
    assert_graph_error(&graph(&h, "/v22.0/me", &[("access_token", "mock-at-unknown")]).await, 190);
    assert_graph_error(&graph(&h, "/latest/me", &[("access_token", &long)]).await, 100);
}
