//! The `MockProvider` handle: recording, queued answers, runtime rules, lifecycle.

use std::net::SocketAddr;

use keyway_mock_provider::{ClientAuthRule, MockConfig, MockProvider, TokenError};

use crate::support::{Harness, REDIRECT_URI, STATE, client};

#[tokio::test]
async fn every_request_is_recorded_in_order_refused_ones_included() {
    let h = Harness::default().await;
    let code = h.code().await;
    let refused = h.exchange(&code).header("accept", "text/html").send(&h).await;
    assert_eq!(refused.status, 406);
    let access = h.exchange(&code).send(&h).await.field("access_token");
    assert_eq!(h.get_api("/me", "mock-at-wrong").await.status, 401);
    assert_eq!(h.get_api("/me", &access).await.status, 200);

    let requests = h.mock.requests();
    let paths: Vec<_> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            ("GET", MockProvider::AUTHORIZE_PATH),
            ("POST", MockProvider::TOKEN_PATH),
            ("POST", MockProvider::TOKEN_PATH),
            ("GET", "/api/me"),
            ("GET", "/api/me"),
        ]
    );

    let authorize = &requests[0];
    assert_eq!(authorize.query_param("redirect_uri"), Some(REDIRECT_URI));
    assert_eq!(authorize.query_param("state"), Some(STATE));

    let refused = &requests[1];
    assert_eq!(refused.header("Accept"), Some("text/html"));
    assert_eq!(refused.form_param("code").as_deref(), Some(code.as_str()));
    assert!(refused.headers.iter().all(|(name, _)| name == &name.to_lowercase()));

    let exchange = &requests[2];
    assert_eq!(exchange.header("ACCEPT"), Some("application/json"));
    assert!(exchange.form().contains(&("grant_type".to_owned(), "authorization_code".to_owned())));
    assert!(exchange.body_text().contains("code_verifier="));

    assert_eq!(requests[4].header("authorization"), Some(format!("Bearer {access}").as_str()));
    assert_eq!(h.mock.requests_to(MockProvider::TOKEN_PATH).len(), 2);
    assert_eq!(h.mock.requests_to("/api/me").len(), 2);

    h.mock.clear_requests();
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn unknown_paths_get_404_and_are_recorded() {
    let h = Harness::default().await;
    let reply = client().get(format!("{}/login/oauth/access_token", h.mock.base_url())).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 404);
    assert_eq!(h.mock.requests_to("/login/oauth/access_token").len(), 1);
}

#[tokio::test]
async fn token_requests_are_counted_by_grant_type() {
    let h = Harness::default().await;
    let refresh = h.tokens().await.field("refresh_token");
    h.refresh(&refresh).send(&h).await;
    h.refresh("mock-rt-made-up").send(&h).await;
    assert_eq!(h.mock.token_requests_by_grant("authorization_code"), 1);
    assert_eq!(h.mock.token_requests_by_grant("refresh_token"), 2);
    assert_eq!(h.mock.token_requests_by_grant("password"), 0);
}

#[tokio::test]
async fn fail_next_token_request_answers_that_error_once() {
    let h = Harness::default().await;
    let code = h.code().await;
    h.mock.fail_next_token_request(TokenError::temporarily_unavailable("try again later"));

    let failed = h.exchange(&code).send(&h).await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.header("content-type"), Some("application/json"));
    assert_eq!(failed.error(), "temporarily_unavailable");
    assert_eq!(failed.description(), "try again later");

    // Only once, and the code was not consumed.
    let retried = h.exchange(&code).send(&h).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
}

#[tokio::test]
async fn queued_failures_answer_one_request_each() {
    let h = Harness::default().await;
    let refresh = h.tokens().await.field("refresh_token");
    h.mock.fail_next_token_request(TokenError::invalid_grant("first").without_description());
    h.mock.fail_next_token_request(TokenError::invalid_client("second"));

    let first = h.refresh(&refresh).send(&h).await;
    assert_eq!((first.status, first.json()), (400, serde_json::json!({ "error": "invalid_grant" })));
    let second = h.refresh(&refresh).send(&h).await;
    assert_eq!(second.status, 401);
    assert_eq!(second.header("www-authenticate"), Some("Basic realm=\"mock\""));
    assert_eq!(h.refresh(&refresh).send(&h).await.status, 200);
}

#[tokio::test]
async fn respond_next_token_request_sends_a_hostile_answer_once() {
    let h = Harness::default().await;
    let code = h.code().await;
    h.mock.respond_next_token_request(200, "text/html", "<html>Sign in again</html>");

    let hostile = h.exchange(&code).send(&h).await;
    assert_eq!(hostile.status, 200);
    assert_eq!(hostile.header("content-type"), Some("text/html"));
    assert_eq!(hostile.text, "<html>Sign in again</html>");
    assert_eq!(h.exchange(&code).send(&h).await.status, 200);
}

#[tokio::test]
#[should_panic(expected = "not an HTTP status code")]
async fn an_impossible_status_is_a_test_bug() {
    let h = Harness::default().await;
    h.mock.respond_next_token_request(42, "text/plain", "");
}

#[tokio::test]
async fn rules_change_at_runtime() {
    let h = Harness::default().await;
    let code = h.code().await;
    h.mock.set_config(MockConfig { client_auth: ClientAuthRule::Post, ..MockConfig::default() });
    assert_eq!(h.mock.config().client_auth, ClientAuthRule::Post);

    // The old way of authenticating is now refused; the code issued before the change stays valid.
    let basic = h
        .post(MockProvider::TOKEN_PATH)
        .without_param("client_id")
        .without_param("client_secret")
        .header("authorization", &crate::support::basic("demo-client", "demo-secret with:odd+chars"));
    let basic = basic
        .param("grant_type", "authorization_code")
        .param("code", &code)
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", crate::support::VERIFIER)
        .send(&h)
        .await;
    assert_eq!(basic.status, 400, "{}", basic.text);
    assert!(basic.description().contains("no Authorization header"));
    assert_eq!(h.exchange(&code).send(&h).await.status, 200);
}

#[tokio::test]
async fn default_config_demands_careful_clients() {
    let config = MockConfig::default();
    assert_eq!(config.client_id, "demo-client");
    let encoded: String = form_urlencoded::byte_serialize(config.client_secret.as_bytes()).collect();
    assert_ne!(encoded, config.client_secret, "the demo secret must need §2.3.1 encoding");
    assert_eq!(config.client_auth, ClientAuthRule::Basic);
    assert!(config.require_pkce && config.issue_refresh_tokens && !config.rotate_refresh_tokens);
    assert_eq!(config.access_token_ttl, Some(3600));
    assert!(!format!("{config:?}").contains(&config.client_secret), "Debug must not show the secret");
}

#[tokio::test]
async fn urls_point_at_the_running_server() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let base = mock.base_url();
    assert_eq!(base, format!("http://{}", mock.local_addr()));
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(mock.authorization_url(), format!("{base}/oauth/authorize"));
    assert_eq!(mock.token_url(), format!("{base}/oauth/token"));
    assert_eq!(mock.revoke_url(), format!("{base}/oauth/revoke"));
    assert_eq!(mock.api_url("/me"), format!("{base}/api/me"));
    mock.shutdown().await;
}

#[tokio::test]
async fn start_on_another_loopback_address() {
    let addr: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let mock = MockProvider::start_on(addr, MockConfig::default()).await.unwrap();
    assert!(mock.base_url().starts_with("http://127.0.0.2:"));
    let reply = client().get(mock.api_url("/me")).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    mock.shutdown().await;
}

#[tokio::test]
async fn two_providers_are_independent() {
    let a = Harness::default().await;
    let b = Harness::default().await;
    assert_ne!(a.mock.base_url(), b.mock.base_url());
    let access = a.tokens().await.field("access_token");
    assert_eq!(b.get_api("/me", &access).await.status, 401);
    assert!(b.mock.requests_to(MockProvider::TOKEN_PATH).is_empty());
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    // An address no other test binds, so no other provider can take over the freed port.
    let addr: SocketAddr = "127.0.0.3:0".parse().unwrap();
    let mock = MockProvider::start_on(addr, MockConfig::default()).await.unwrap();
    let url = mock.api_url("/me");
    assert_eq!(client().get(&url).send().await.unwrap().status().as_u16(), 401);
    mock.shutdown().await;
    // A fresh client, so no pooled connection hides the closed listener.
    assert!(client().get(&url).send().await.is_err(), "the server still answers after shutdown");
}
