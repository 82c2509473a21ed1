//! /api/*: the protected resource.

use keyway_mock_provider::MockConfig;
use reqwest::Method;
use serde_json::json;

use crate::support::{Harness, Reply};

fn assert_invalid_token(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(reply.error(), "invalid_token");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer ") && c.contains("error=\"invalid_token\"")),
        "{:?}",
        reply.header("www-authenticate")
    );
}

#[tokio::test]
async fn me_names_the_user() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.get_api("/me", &access).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "id": "mock-user", "name": "Mock User" }));
}

#[tokio::test]
async fn echo_returns_method_path_query_scopes_and_body() {
    let h = Harness::default().await;
    let code = h.code_with(&[("scope", Some("read write"))]).await;
    let access = h.exchange(&code).send(&h).await.field("access_token");
    let reply = h
        .api(Method::POST, "/things/42?verbose=1&q=a+b", Some(&access))
        .header("content-type", "application/json")
        .raw_body(r#"{"name":"widget"}"#)
        .send(&h)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut echo = reply.json();
    let headers = echo.as_object_mut().unwrap().remove("headers").expect("the echo carries the headers");
    assert_eq!(headers["authorization"], format!("Bearer {access}"), "headers are echoed as received");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        echo,
        json!({
            "ok": true,
            "method": "POST",
            "path": "/api/things/42",
            "query": { "verbose": "1", "q": "a b" },
            "user": "mock-user",
            "scopes": ["read", "write"],
            "body": { "name": "widget" },
        })
    );
}

#[tokio::test]
async fn a_token_with_a_use_limit_is_refused_after_its_last_use() {
    let h = Harness::start(MockConfig { access_token_max_uses: Some(2), ..MockConfig::default() }).await;
    let access = h.tokens().await.field("access_token");
    for _ in 0..2 {
        assert_eq!(h.get_api("/me", &access).await.status, 200);
    }
    assert_invalid_token(&h.get_api("/me", &access).await);
}

#[tokio::test]
async fn the_api_answers_after_the_configured_latency() {
    let latency = std::time::Duration::from_millis(300);
    let h = Harness::start(MockConfig { api_latency: latency, ..MockConfig::default() }).await;
    let access = h.tokens().await.field("access_token");
    let started = std::time::Instant::now();
    assert_eq!(h.api(Method::GET, "/slow", Some(&access)).send(&h).await.status, 200);
    assert!(started.elapsed() >= latency, "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn echo_returns_a_text_body_as_a_string() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h
        .api(Method::PUT, "/notes", Some(&access))
        .header("content-type", "text/plain")
        .raw_body("hello")
        .send(&h)
        .await;
    assert_eq!(reply.json()["body"], "hello");
}

#[tokio::test]
async fn no_token_gets_401() {
    let h = Harness::default().await;
    assert_invalid_token(&h.api(Method::GET, "/me", None).send(&h).await);
    assert_invalid_token(&h.api(Method::DELETE, "/things/1", None).send(&h).await);
}

#[tokio::test]
async fn unknown_token_gets_401() {
    let h = Harness::default().await;
    let reply = h.get_api("/me", "mock-at-made-up").await;
    assert_invalid_token(&reply);
    assert!(reply.description().contains("unknown"));
}

#[tokio::test]
async fn a_token_in_the_query_is_refused() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.api(Method::GET, &format!("/me?access_token={access}"), None).send(&h).await;
    assert_invalid_token(&reply);
    assert!(reply.description().contains("Authorization: Bearer"));
}

#[tokio::test]
async fn another_scheme_is_refused() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    let reply = h.api(Method::GET, "/me", None).header("authorization", &format!("token {access}")).send(&h).await;
    assert_invalid_token(&reply);
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let h = Harness::default().await;
    let refresh = h.tokens().await.field("refresh_token");
    let reply = h.get_api("/me", &refresh).await;
    assert_invalid_token(&reply);
    assert!(reply.description().contains("refresh token"));
}

#[tokio::test]
async fn expired_access_tokens_get_401_until_refreshed() {
    let h = Harness::default().await;
    let tokens = h.tokens().await;
    let access = tokens.field("access_token");
    h.mock.expire_access_tokens();

    let reply = h.get_api("/me", &access).await;
    assert_invalid_token(&reply);
    assert!(reply.description().contains("expired"));

    let fresh = h.refresh(&tokens.field("refresh_token")).send(&h).await.field("access_token");
    assert_eq!(h.get_api("/me", &fresh).await.status, 200);
}

#[tokio::test]
async fn tokens_without_a_ttl_can_still_be_expired() {
    let h = Harness::start(MockConfig { access_token_ttl: None, ..MockConfig::default() }).await;
    let access = h.tokens().await.field("access_token");
    assert_eq!(h.get_api("/me", &access).await.status, 200);
    h.mock.expire_access_tokens();
    assert_invalid_token(&h.get_api("/me", &access).await);
}

#[tokio::test]
async fn a_zero_ttl_token_is_born_expired() {
    let h = Harness::start(MockConfig { access_token_ttl: Some(0), ..MockConfig::default() }).await;
    let tokens = h.tokens().await;
    assert_eq!(tokens.json()["expires_in"], 0);
    assert_invalid_token(&h.get_api("/me", &tokens.field("access_token")).await);
}

#[tokio::test]
async fn queued_failures_are_answered_first_and_recorded() {
    let h = Harness::default().await;
    let access = h.tokens().await.field("access_token");
    h.mock.fail_next_api_requests(503, Some("2"), 2);
    for _ in 0..2 {
        let failed = h.get_api("/me", &access).await;
        assert_eq!(failed.status, 503, "{}", failed.text);
        assert_eq!(failed.header("retry-after"), Some("2"));
    }
    assert_eq!(h.get_api("/me", &access).await.status, 200, "then the API serves again");
    assert_eq!(h.mock.requests_to("/api/me").len(), 3);
}
