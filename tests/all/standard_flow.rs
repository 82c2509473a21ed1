//! The standard component sends exactly the help article's two requests, plus refresh and
//! revoke, and the provider's errors come back typed.

use base64::Engine as _;
use keyway::connection::ConnectionState;
use keyway::flows::{ApiCall, FlowError};
use keyway::integration::ClientAuth;
use keyway_mock_provider::{ClientAuthRule, MockConfig, MockProvider, TokenError};
use sha2::{Digest, Sha256};

use crate::{Fixture, REDIRECT_URI, param, query_of};

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn authorize_url_carries_exactly_the_articles_parameters() {
    let fx = Fixture::new(MockConfig::default()).await;
    let conn = ConnectionState::default();
    let pending = fx.flows.begin(&fx.plugin, &fx.integration, &conn).await.unwrap();

    let url = url::Url::parse(&pending.authorize_url).unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    assert!(url.query().unwrap().starts_with("scope=read+write&"), "{url}");
    let params = query_of(&pending.authorize_url);
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["scope", "response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"]
    );
    assert_eq!(param(&params, "scope"), Some("read write"));
    assert_eq!(param(&params, "response_type"), Some("code"));
    assert_eq!(param(&params, "client_id"), Some(fx.integration.client_id.as_str()));
    assert_eq!(param(&params, "redirect_uri"), Some(REDIRECT_URI));
    assert_eq!(param(&params, "state"), Some(pending.state.secret()));
    let verifier = pending.verifier.as_ref().expect("PKCE is on by default");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret()));
    assert_eq!(param(&params, "code_challenge"), Some(challenge.as_str()));
    assert_eq!(param(&params, "code_challenge_method"), Some("S256"));
}

#[tokio::test]
async fn state_is_fresh_for_every_authorization() {
    let fx = Fixture::new(MockConfig::default()).await;
    let conn = ConnectionState::default();
    let a = fx.flows.begin(&fx.plugin, &fx.integration, &conn).await.unwrap();
    let b = fx.flows.begin(&fx.plugin, &fx.integration, &conn).await.unwrap();
    assert_ne!(a.state, b.state);
    assert!(a.state.secret().len() >= 22, "state must be high-entropy");
}

#[tokio::test]
async fn token_request_uses_the_basic_header_with_form_encoded_credentials() {
    let fx = Fixture::new(MockConfig::default()).await;
    let (_, tokens) = fx.connect().await.expect("connect");
    assert!(tokens.refresh_token.is_some());

    let sent = fx.provider.requests_to(MockProvider::TOKEN_PATH);
    assert_eq!(sent.len(), 1);
    let req = &sent[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(req.header("content-type"), Some("application/x-www-form-urlencoded"));
    let config = MockConfig::default();
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        form_encode(&config.client_id),
        form_encode(&config.client_secret)
    ));
    assert_eq!(req.header("authorization"), Some(format!("Basic {expected}").as_str()));
    let form = req.form();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["code", "redirect_uri", "grant_type", "code_verifier"]);
    assert_eq!(
        param(&form, "redirect_uri"),
        Some(REDIRECT_URI),
        "the token request repeats the authorize redirect_uri"
    );
    assert_eq!(param(&form, "grant_type"), Some("authorization_code"));
}

#[tokio::test]
async fn body_authentication_appends_client_credentials_to_the_header_auth() {
    let config = MockConfig { client_auth: ClientAuthRule::BasicAndPost, ..MockConfig::default() };
    let mut fx = Fixture::new(config.clone()).await;
    fx.integration.client_auth = ClientAuth::BasicAndPost;
    fx.connect().await.expect("connect");

    let req = &fx.provider.requests_to(MockProvider::TOKEN_PATH)[0];
    assert!(req.header("authorization").unwrap().starts_with("Basic "));
    let form = req.form();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["code", "redirect_uri", "grant_type", "code_verifier", "client_id", "client_secret"]);
    assert_eq!(param(&form, "client_id"), Some(config.client_id.as_str()));
    assert_eq!(param(&form, "client_secret"), Some(config.client_secret.as_str()));
}

#[tokio::test]
async fn post_authentication_sends_no_basic_header_to_a_strict_server() {
    let config = MockConfig { client_auth: ClientAuthRule::Post, ..MockConfig::default() };
    let mut fx = Fixture::new(config).await;
    fx.integration.client_auth = ClientAuth::Post;
    fx.connect().await.expect("a strict server accepts body-only credentials");
    let req = &fx.provider.requests_to(MockProvider::TOKEN_PATH)[0];
    assert_eq!(req.header("authorization"), None);
    assert!(req.form_param("client_secret").is_some());

    // The article's only options (header, or header plus body) fail against that server.
    fx.integration.client_auth = ClientAuth::BasicAndPost;
    let err = fx.connect().await.unwrap_err();
    assert!(matches!(err, FlowError::Provider { ref code, .. } if code == "invalid_request"), "{err}");
}

#[tokio::test]
async fn without_pkce_no_challenge_or_verifier_is_sent() {
    let config = MockConfig { require_pkce: false, ..MockConfig::default() };
    let mut fx = Fixture::new(config).await;
    fx.integration.pkce = false;
    let conn = ConnectionState::default();
    let pending = fx.flows.begin(&fx.plugin, &fx.integration, &conn).await.unwrap();
    assert!(param(&query_of(&pending.authorize_url), "code_challenge").is_none());
    fx.connect().await.expect("connect");
    let req = &fx.provider.requests_to(MockProvider::TOKEN_PATH)[0];
    assert_eq!(req.form_param("code_verifier"), None);
}

#[tokio::test]
async fn refresh_then_revoke() {
    let fx = Fixture::new(MockConfig::default()).await;
    let (mut conn, first) = fx.connect().await.unwrap();
    let trace = keyway::trace::Recorder::new();
    let refreshed = fx.flows.refresh(&fx.plugin, &fx.integration, &mut conn, &trace).await.unwrap();
    assert_ne!(refreshed.access_token, first.access_token);
    assert_eq!(refreshed.refresh_token, first.refresh_token, "no new refresh token: the old one is kept");

    let req = fx.provider.requests_to(MockProvider::TOKEN_PATH).pop().unwrap();
    assert_eq!(req.form_param("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(req.form_param("refresh_token").as_deref(), first.refresh_token.as_ref().map(|r| r.secret()));
    assert!(req.header("authorization").unwrap().starts_with("Basic "));

    let me = ApiCall { method: "GET".into(), path: "/api/me".into(), ..Default::default() };
    let ok = fx.flows.api_request(&fx.plugin, &fx.integration, &conn, me.clone(), &trace).await.unwrap();
    assert_eq!(ok.status, 200);

    assert!(fx.flows.revoke(&fx.plugin, &fx.integration, &conn, &trace).await.unwrap());
    let req = fx.provider.requests_to(MockProvider::REVOKE_PATH).pop().unwrap();
    assert_eq!(req.form_param("token_type_hint").as_deref(), Some("refresh_token"));
    assert_eq!(req.form_param("token").as_deref(), first.refresh_token.as_ref().map(|r| r.secret()));
    assert!(fx.provider.is_revoked(first.refresh_token.as_ref().unwrap().secret()));
    let after = fx.flows.api_request(&fx.plugin, &fx.integration, &conn, me, &trace).await.unwrap();
    assert_eq!(after.status, 401, "revoking the refresh token revokes its access tokens");
}

#[tokio::test]
async fn api_requests_carry_the_bearer_token_and_never_the_callers_authorization() {
    let fx = Fixture::new(MockConfig::default()).await;
    let (conn, tokens) = fx.connect().await.unwrap();
    let call = ApiCall {
        method: "GET".into(),
        path: "/api/items".into(),
        query: vec![("page".into(), "2".into())],
        headers: vec![("Authorization".into(), "Bearer forged".into())],
        body: None,
    };
    let trace = keyway::trace::Recorder::new();
    let response = fx.flows.api_request(&fx.plugin, &fx.integration, &conn, call, &trace).await.unwrap();
    assert_eq!(response.status, 200);
    let req = fx.provider.requests_to("/api/items").pop().unwrap();
    assert_eq!(req.header("authorization"), Some(format!("Bearer {}", tokens.access_token.secret()).as_str()));
    assert_eq!(req.query_param("page"), Some("2"));
    let printed = format!("{:?}", trace.entries());
    assert_eq!(trace.entries().len(), 1, "the one API call is recorded");
    assert!(!printed.contains(tokens.access_token.secret()), "the trace must not show the token: {printed}");
}

#[tokio::test]
async fn provider_errors_become_typed_errors() {
    let fx = Fixture::new(MockConfig::default()).await;
    fx.provider.fail_next_token_request(TokenError::invalid_grant("the code has expired"));
    let err = fx.connect().await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert!(
        matches!(err, FlowError::Provider { ref description, .. } if description.as_deref() == Some("the code has expired"))
    );

    // A hostile answer: 200 with a body that is neither JSON nor a form.
    fx.provider.respond_next_token_request(200, "text/html", "<html>gateway</html>");
    let err = fx.connect().await.unwrap_err();
    assert!(matches!(err, FlowError::InvalidResponse(_)), "{err}");
}

#[tokio::test]
async fn the_issuer_must_match_when_the_integration_names_one() {
    let config = MockConfig { issuer: Some("https://issuer.mock.test".into()), ..MockConfig::default() };
    let mut fx = Fixture::new(config).await;
    fx.integration.issuer = Some("https://issuer.mock.test".into());
    fx.connect().await.expect("matching issuer");

    fx.integration.issuer = Some("https://another.test".into());
    let err = fx.connect().await.unwrap_err();
    assert!(matches!(err, FlowError::Callback(ref m) if m.contains("RFC 9207")), "{err}");
}
