//! GET /oauth/authorize.

use keyway_mock_provider::{Consent, MockConfig};

use crate::support::{CHALLENGE, Harness, REDIRECT_URI, STATE};

#[tokio::test]
async fn approval_redirects_back_with_a_fresh_code_and_the_state() {
    let h = Harness::default().await;
    let reply = h.authorize(&[]).await;
    assert_eq!(reply.status, 302);
    let location = reply.location();
    assert_eq!(location.as_str().split('?').next(), Some(REDIRECT_URI));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    assert!(reply.location_param("code").is_some_and(|c| c.starts_with("mock-code-") && c.len() > 40));
    assert_eq!(reply.location_param("iss"), None);
    assert_ne!(h.code().await, h.code().await, "codes are random");
}

#[tokio::test]
async fn the_help_articles_plus_joined_scopes_are_accepted() {
    let h =
        Harness::start(MockConfig { scopes_supported: vec!["repo".into(), "user".into()], ..MockConfig::default() })
            .await;
    let query = format!(
        "scope=repo+user&response_type=code&client_id=demo-client&redirect_uri={}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let reply = h.authorize_raw(&query).await;
    assert_eq!(reply.status, 302);
    assert!(reply.location_param("code").is_some(), "{}", reply.location());
}

#[tokio::test]
async fn a_redirect_uri_with_its_own_query_keeps_it() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("redirect_uri", Some("http://127.0.0.1:9/oauth?tenant=acme"))]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location_param("tenant").as_deref(), Some("acme"));
    assert!(reply.location_param("code").is_some());
}

#[tokio::test]
async fn issuer_adds_iss_to_successes_and_errors() {
    let h = Harness::start(MockConfig { issuer: Some("https://mock.example".into()), ..MockConfig::default() }).await;
    let approved = h.authorize(&[]).await;
    assert_eq!(approved.location_param("iss").as_deref(), Some("https://mock.example"));
    let refused = h.authorize(&[("response_type", Some("token"))]).await;
    assert_eq!(refused.location_param("iss").as_deref(), Some("https://mock.example"));
}

#[tokio::test]
async fn consent_denied_redirects_access_denied_with_state() {
    let h = Harness::start(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    let reply = h.authorize(&[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location_param("error").as_deref(), Some("access_denied"));
    assert!(reply.location_param("error_description").is_some_and(|d| d.contains("denied")));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    assert_eq!(reply.location_param("code"), None);
}

#[tokio::test]
async fn unknown_client_id_gets_a_page_not_a_redirect() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("client_id", Some("someone-else"))]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
    assert!(reply.text.contains("unknown client_id `someone-else`"), "{}", reply.text);
    assert!(reply.header("content-type").is_some_and(|c| c.starts_with("text/plain")));
}

#[tokio::test]
async fn missing_client_id_gets_a_page() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("client_id", None)]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
    assert!(reply.text.contains("`client_id` is missing"));
}

#[tokio::test]
async fn missing_redirect_uri_gets_a_page() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("redirect_uri", None)]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
    assert!(reply.text.contains("`redirect_uri` is missing"));
}

#[tokio::test]
async fn relative_redirect_uri_gets_a_page() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("redirect_uri", Some("/oauth"))]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
    assert!(reply.text.contains("not an absolute URL"), "{}", reply.text);
}

#[tokio::test]
async fn redirect_uri_with_a_fragment_gets_a_page() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("redirect_uri", Some("https://app.example/cb#frag"))]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("fragment"));
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_a_page() {
    let h = Harness::start(MockConfig {
        redirect_uris: vec!["https://security.pushbot.com/oauth".into()],
        ..MockConfig::default()
    })
    .await;
    assert_eq!(h.authorize(&[]).await.status, 302);
    let reply = h.authorize(&[("redirect_uri", Some("https://security.pusbot.com/oauth"))]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
    assert!(reply.text.contains("not registered"));
}

#[tokio::test]
async fn repeated_redirect_uri_gets_a_page() {
    let h = Harness::default().await;
    let reply = h
        .authorize_raw("client_id=demo-client&redirect_uri=https%3A%2F%2Fa.example%2Fcb&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&state=s")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("location"), None);
}

/// The error redirect for `set`: status, `error`, and that state came back.
async fn refused_by_redirect(h: &Harness, set: &[(&str, Option<&str>)]) -> (String, String) {
    let reply = h.authorize(set).await;
    assert_eq!(reply.status, 302, "{}", reply.text);
    assert_eq!(reply.location_param("code"), None, "a refused request must not get a code");
    let error = reply.location_param("error").expect("an error parameter");
    let description = reply.location_param("error_description").expect("an error_description");
    (error, description)
}

#[tokio::test]
async fn missing_response_type_is_refused() {
    let h = Harness::default().await;
    let (error, description) = refused_by_redirect(&h, &[("response_type", None)]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("response_type"));
}

#[tokio::test]
async fn implicit_response_type_is_refused() {
    let h = Harness::default().await;
    let reply = h.authorize(&[("response_type", Some("token"))]).await;
    assert_eq!(reply.location_param("error").as_deref(), Some("unsupported_response_type"));
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn missing_state_is_refused() {
    let h = Harness::default().await;
    let (error, description) = refused_by_redirect(&h, &[("state", None)]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("state"));
}

#[tokio::test]
async fn unsupported_scope_is_refused() {
    let h = Harness::start(MockConfig { scopes_supported: vec!["read".into()], ..MockConfig::default() }).await;
    assert_eq!(h.authorize(&[("scope", Some("read"))]).await.status, 302);
    let (error, description) = refused_by_redirect(&h, &[("scope", Some("read admin"))]).await;
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("`admin`"), "{description}");
}

#[tokio::test]
async fn comma_separated_scopes_are_refused() {
    let h =
        Harness::start(MockConfig { scopes_supported: vec!["read".into(), "write".into()], ..MockConfig::default() })
            .await;
    let (error, _) = refused_by_redirect(&h, &[("scope", Some("read,write"))]).await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn doubled_scope_separators_are_refused() {
    let h = Harness::default().await;
    let (error, description) = refused_by_redirect(&h, &[("scope", Some("read  write"))]).await;
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("empty entry"));
}

#[tokio::test]
async fn missing_code_challenge_is_refused_when_pkce_is_required() {
    let h = Harness::default().await;
    let (error, description) =
        refused_by_redirect(&h, &[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("PKCE"));
}

#[tokio::test]
async fn plain_code_challenge_method_is_refused() {
    let h = Harness::default().await;
    let (error, description) = refused_by_redirect(&h, &[("code_challenge_method", Some("plain"))]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("S256"));
}

#[tokio::test]
async fn missing_code_challenge_method_is_refused() {
    let h = Harness::default().await;
    let (error, description) = refused_by_redirect(&h, &[("code_challenge_method", None)]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("plain"));
}

#[tokio::test]
async fn malformed_code_challenge_is_refused() {
    let h = Harness::default().await;
    // A padded, standard-alphabet challenge: the classic encoding mistake.
    let (error, description) =
        refused_by_redirect(&h, &[("code_challenge", Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM="))]).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("base64url"));
}

#[tokio::test]
async fn pkce_is_optional_when_not_required() {
    let h = Harness::start(MockConfig { require_pkce: false, ..MockConfig::default() }).await;
    let reply = h.authorize(&[("code_challenge", None), ("code_challenge_method", None)]).await;
    assert_eq!(reply.status, 302);
    assert!(reply.location_param("code").is_some());
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let h = Harness::default().await;
    let query = format!(
        "response_type=code&client_id=demo-client&redirect_uri={}&state=a&state=b&code_challenge={CHALLENGE}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let reply = h.authorize_raw(&query).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location_param("error").as_deref(), Some("invalid_request"));
    assert!(reply.location_param("error_description").is_some_and(|d| d.contains("`state`")));
}

#[tokio::test]
async fn post_to_authorize_is_refused() {
    let h = Harness::default().await;
    let reply = h.post(keyway_mock_provider::MockProvider::AUTHORIZE_PATH).send(&h).await;
    assert_eq!(reply.status, 405);
}
