//! POST /oauth/token: the code exchange, client authentication and request format.

use keyway_mock_provider::{ClientAuthRule, MockConfig, MockProvider};

use crate::support::{Harness, REDIRECT_URI, Reply, VERIFIER, basic, raw_basic, raw_http};

fn assert_tokens(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let json = reply.json();
    assert!(json["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")));
    assert_eq!(json["token_type"], "Bearer");
}

fn assert_invalid_client(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(reply.error(), "invalid_client");
    assert_eq!(reply.header("www-authenticate"), Some("Basic realm=\"mock\""));
}

fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

async fn harness(client_auth: ClientAuthRule) -> Harness {
    Harness::start(MockConfig { client_auth, ..MockConfig::default() }).await
}

#[tokio::test]
async fn the_token_endpoint_answers_after_the_configured_latency() {
    let latency = std::time::Duration::from_millis(300);
    let h = Harness::start(MockConfig { token_latency: latency, ..MockConfig::default() }).await;
    let code = h.code().await;
    let started = std::time::Instant::now();
    assert_tokens(&h.exchange(&code).send(&h).await);
    assert!(started.elapsed() >= latency, "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn basic_exchange_returns_a_full_token_set() {
    let h = Harness::default().await;
    let code = h.code_with(&[("scope", Some("read write"))]).await;
    let reply = h.exchange(&code).send(&h).await;
    assert_tokens(&reply);
    let json = reply.json();
    assert_eq!(json["expires_in"], 3600);
    assert!(json["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")));
    assert_eq!(json["scope"], "read write");
}

#[tokio::test]
async fn the_help_articles_request_shape_is_accepted() {
    // Accept, Basic with the demo secret (needs §2.3.1 encoding), form body: code, redirect_uri, grant_type.
    let h = Harness::start(MockConfig { require_pkce: false, ..MockConfig::default() }).await;
    let code = h.code_with(&[("code_challenge", None), ("code_challenge_method", None)]).await;
    let reply = h.exchange(&code).without_param("code_verifier").send(&h).await;
    assert_tokens(&reply);
    let sent = &h.mock.requests_to(MockProvider::TOKEN_PATH)[0];
    assert_eq!(sent.header("authorization"), Some(basic("demo-client", "demo-secret with:odd+chars").as_str()));
    assert_eq!(sent.form_param("grant_type").as_deref(), Some("authorization_code"));
}

#[tokio::test]
async fn post_exchange_returns_tokens() {
    let h = harness(ClientAuthRule::Post).await;
    let code = h.code().await;
    assert_tokens(&h.exchange(&code).send(&h).await);
}

#[tokio::test]
async fn basic_and_post_exchange_returns_tokens() {
    let h = harness(ClientAuthRule::BasicAndPost).await;
    let code = h.code().await;
    assert_tokens(&h.exchange(&code).send(&h).await);
}

#[tokio::test]
async fn accept_with_several_media_ranges_including_json_is_fine() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).header("accept", "text/plain;q=0.5, application/json").send(&h).await;
    assert_tokens(&reply);
}

#[tokio::test]
async fn missing_accept_header_gets_406() {
    let h = Harness::default().await;
    let code = h.code().await;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("code_verifier", VERIFIER)
        .finish();
    let head = format!(
        "POST {} HTTP/1.1\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded",
        MockProvider::TOKEN_PATH,
        basic("demo-client", "demo-secret with:odd+chars")
    );
    let (status, text) = raw_http(&h, &head, &body).await;
    assert_eq!(status, 406, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["error"], "invalid_request");
    assert!(json["error_description"].as_str().unwrap().contains("Accept: application/json"));
    assert_eq!(h.mock.requests_to(MockProvider::TOKEN_PATH)[0].header("accept"), None);
    // The refused request did not use up the code.
    assert_tokens(&h.exchange(&code).send(&h).await);
}

#[tokio::test]
async fn wildcard_accept_gets_406() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).header("accept", "*/*").send(&h).await;
    assert_refused(&reply, 406, "invalid_request");
    assert!(reply.description().contains("Accept: application/json"));
    assert_eq!(h.exchange(&code).header("accept", "text/html").send(&h).await.status, 406);
    assert_eq!(h.exchange(&code).header("accept", "application/json;q=0").send(&h).await.status, 406);
}

#[tokio::test]
async fn json_body_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h
        .exchange(&code)
        .header("content-type", "application/json")
        .raw_body(&format!(r#"{{"grant_type":"authorization_code","code":"{code}"}}"#))
        .send(&h)
        .await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("application/x-www-form-urlencoded"));
}

#[tokio::test]
async fn missing_content_type_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_header("content-type").send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn no_client_authentication_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_header("authorization").send(&h).await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("Authorization: Basic"));
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).header("authorization", &basic("demo-client", "guess")).send(&h).await;
    assert_invalid_client(&reply);
    assert_eq!(reply.description(), "wrong client secret");
}

#[tokio::test]
async fn unknown_client_id_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply =
        h.exchange(&code).header("authorization", &basic("other-client", "demo-secret with:odd+chars")).send(&h).await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("other-client"));
}

#[tokio::test]
async fn unencoded_basic_credentials_are_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h
        .exchange(&code)
        .header("authorization", &raw_basic("demo-client", "demo-secret with:odd+chars"))
        .send(&h)
        .await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("§2.3.1"), "{}", reply.description());
}

#[tokio::test]
async fn unencoded_plus_in_the_secret_is_refused() {
    // A `+` left raw decodes to a space, so the secret no longer matches.
    let h = Harness::start(MockConfig { client_secret: "s3cr3t+x".into(), ..MockConfig::default() }).await;
    let code = h.code().await;
    let reply = h.exchange(&code).header("authorization", &raw_basic("demo-client", "s3cr3t+x")).send(&h).await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("without form-urlencoding"), "{}", reply.description());
    assert_tokens(&h.exchange(&code).send(&h).await);
}

#[tokio::test]
async fn malformed_basic_credentials_are_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    for value in ["Basic not-base64!", "Basic ZGVtby1jbGllbnQ=", "Bearer abc"] {
        let reply = h.exchange(&code).header("authorization", value).send(&h).await;
        assert_invalid_client(&reply);
    }
}

#[tokio::test]
async fn body_secret_next_to_basic_is_refused_under_basic() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h
        .exchange(&code)
        .param("client_id", "demo-client")
        .param("client_secret", "demo-secret with:odd+chars")
        .send(&h)
        .await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("use one client authentication method"));
}

#[tokio::test]
async fn body_credentials_alone_are_refused_under_basic() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_header("authorization").param("client_id", "demo-client").send(&h).await;
    assert_invalid_client(&reply);
}

#[tokio::test]
async fn basic_header_is_refused_under_post() {
    let h = harness(ClientAuthRule::Post).await;
    let code = h.code().await;
    let reply =
        h.exchange(&code).header("authorization", &basic("demo-client", "demo-secret with:odd+chars")).send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("use one client authentication method"));
}

#[tokio::test]
async fn missing_body_secret_is_refused_under_post() {
    let h = harness(ClientAuthRule::Post).await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_param("client_secret").send(&h).await;
    assert_invalid_client(&reply);
}

#[tokio::test]
async fn wrong_body_secret_is_refused_under_post() {
    let h = harness(ClientAuthRule::Post).await;
    let code = h.code().await;
    let reply = h.exchange(&code).param("client_secret", "guess").send(&h).await;
    assert_invalid_client(&reply);
}

#[tokio::test]
async fn basic_and_post_needs_both() {
    let h = harness(ClientAuthRule::BasicAndPost).await;
    let code = h.code().await;
    assert_invalid_client(&h.exchange(&code).without_header("authorization").send(&h).await);
    assert_invalid_client(&h.exchange(&code).without_param("client_secret").send(&h).await);
    assert_tokens(&h.exchange(&code).send(&h).await);
}

#[tokio::test]
async fn basic_and_post_must_agree() {
    let h = harness(ClientAuthRule::BasicAndPost).await;
    let code = h.code().await;
    let reply = h.exchange(&code).param("client_secret", "something else").send(&h).await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("disagree"));
}

#[tokio::test]
async fn reused_code_is_refused_and_revokes_its_tokens() {
    let h = Harness::default().await;
    let code = h.code().await;
    let first = h.exchange(&code).send(&h).await;
    assert_tokens(&first);
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(h.get_api("/me", &access).await.status, 200);

    let second = h.exchange(&code).send(&h).await;
    assert_refused(&second, 400, "invalid_grant");
    assert!(second.description().contains("already used"));
    assert!(h.mock.is_revoked(&access) && h.mock.is_revoked(&refresh));
    assert_eq!(h.get_api("/me", &access).await.status, 401);
    assert_refused(&h.refresh(&refresh).send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn unknown_code_is_refused() {
    let h = Harness::default().await;
    assert_refused(&h.exchange("mock-code-made-up").send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    h.mock.expire_authorization_codes();
    let reply = h.exchange(&code).send(&h).await;
    assert_refused(&reply, 400, "invalid_grant");
    assert!(reply.description().contains("expired"));
}

#[tokio::test]
async fn different_redirect_uri_is_refused() {
    // The help article's second request has this typo; the token request must repeat the first exactly.
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).param("redirect_uri", "https://security.pusbot.com/oauth").send(&h).await;
    assert_refused(&reply, 400, "invalid_grant");
    assert!(reply.description().contains("identical"));
}

#[tokio::test]
async fn missing_redirect_uri_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_param("redirect_uri").send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("redirect_uri"));
}

#[tokio::test]
async fn pkce_mismatch_is_refused_and_burns_the_code() {
    let h = Harness::default().await;
    let code = h.code().await;
    let wrong = "x".repeat(43);
    let reply = h.exchange(&code).param("code_verifier", &wrong).send(&h).await;
    assert_refused(&reply, 400, "invalid_grant");
    assert!(reply.description().contains("does not match"));
    // A code gets one attempt.
    assert_refused(&h.exchange(&code).send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn missing_code_verifier_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).without_param("code_verifier").send(&h).await;
    assert_refused(&reply, 400, "invalid_grant");
    assert!(reply.description().contains("code_verifier"));
}

#[tokio::test]
async fn malformed_code_verifier_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).param("code_verifier", "too-short").send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn code_verifier_without_a_challenge_is_refused() {
    let h = Harness::start(MockConfig { require_pkce: false, ..MockConfig::default() }).await;
    let code = h.code_with(&[("code_challenge", None), ("code_challenge_method", None)]).await;
    let reply = h.exchange(&code).param("code_verifier", VERIFIER).send(&h).await;
    assert_refused(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn missing_or_unknown_grant_type_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    assert_refused(&h.exchange(&code).without_param("grant_type").send(&h).await, 400, "invalid_request");
    let reply = h.exchange(&code).param("grant_type", "password").send(&h).await;
    assert_refused(&reply, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn repeated_parameter_is_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).extra_param("code", "mock-code-other").send(&h).await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("`code`"));
}

#[tokio::test]
async fn parameters_in_the_query_instead_of_the_body_are_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let url = format!("{}?code={code}", MockProvider::TOKEN_PATH);
    let reply = h
        .post(&url)
        .param("grant_type", "authorization_code")
        .param("redirect_uri", REDIRECT_URI)
        .param("code_verifier", VERIFIER)
        .send(&h)
        .await;
    assert_refused(&reply, 400, "invalid_request");
    assert!(reply.description().contains("URL query"));
}

#[tokio::test]
async fn get_on_the_token_endpoint_is_refused() {
    let h = Harness::default().await;
    let reply = crate::support::client().get(h.mock.token_url()).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 405);
}

#[tokio::test]
async fn no_ttl_means_no_expires_in() {
    let h = Harness::start(MockConfig { access_token_ttl: None, ..MockConfig::default() }).await;
    let reply = h.tokens().await;
    assert!(reply.json().get("expires_in").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn refresh_tokens_can_be_switched_off() {
    let h = Harness::start(MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }).await;
    let reply = h.tokens().await;
    assert!(reply.json().get("refresh_token").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn a_grant_without_scopes_omits_scope() {
    let h = Harness::default().await;
    assert!(h.tokens().await.json().get("scope").is_none());
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h
        .exchange(&code)
        .extra_header("authorization", &basic("demo-client", "demo-secret with:odd+chars"))
        .send(&h)
        .await;
    assert_refused(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn a_body_client_id_next_to_basic_must_match_it() {
    // RFC 6749 allows client_id in the body alongside Basic; it must name the same client.
    let h = Harness::default().await;
    let code = h.code().await;
    let reply = h.exchange(&code).param("client_id", "someone-else").send(&h).await;
    assert_invalid_client(&reply);
    assert!(reply.description().contains("disagrees"));
    let code = h.code().await;
    assert_tokens(&h.exchange(&code).param("client_id", "demo-client").send(&h).await);
}
