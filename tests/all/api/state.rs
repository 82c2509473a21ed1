//! The redirect URI refuses what it cannot match: a replayed, unknown, missing or expired
//! `state`; and a provider's `access_denied` fails the connection with its description,
//! HTML-escaped, on the page.

use std::time::Duration;

use keyway_mock_provider::{Consent, MockConfig, MockProvider};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Api, Backend, Options, Reply, assert_no_secrets, both_backends, secrets};

both_backends!(
    a_replayed_callback_is_refused_and_the_connection_stays_active,
    an_unknown_or_missing_state_is_refused,
    an_expired_state_is_refused_and_fails_the_connection,
    access_denied_fails_the_connection_and_the_page_escapes_the_description,
    a_callback_from_another_issuer_is_refused,
    a_declined_reauthorization_leaves_a_working_connection_working,
    provider_errors_that_echo_secrets_are_scrubbed,
    the_error_page_hint_follows_what_failed_at_the_token_endpoint,
);

/// An error page: 400, HTML, the security headers, and the given text.
#[track_caller]
fn assert_error_page(page: &Reply, says: &str) {
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{:?}", page.headers);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.text.contains("could not be completed"), "{}", page.text);
    assert!(page.text.contains(says), "the page should say `{says}`: {}", page.text);
}

async fn connection(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

async fn a_replayed_callback_is_refused_and_the_connection_stays_active(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let callback = api.authorize(&authorize_url).await;
    assert_eq!(api.callback(&callback).await.status, 200);
    let tokens_issued = api.mock.token_requests_by_grant("authorization_code");

    let replay = api.callback(&callback).await;
    assert_error_page(&replay, "unknown or was already used");
    assert_eq!(api.mock.token_requests_by_grant("authorization_code"), tokens_issued, "no second code exchange");
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "active", "{view}");
    assert!(view["last_error"].is_null(), "{view}");
    api.me(&id).await;
}

async fn an_unknown_or_missing_state_is_refused(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let callback = api.authorize(&authorize_url).await;
    let code = url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();

    // A forged state, with a real code.
    let forged = api.request(Method::GET, &format!("/oauth?code={code}&state=forged-state-value"), None, None).await;
    assert_error_page(&forged, "unknown or was already used");
    // No state at all.
    let missing = api.request(Method::GET, &format!("/oauth?code={code}"), None, None).await;
    assert_error_page(&missing, "no `state`");
    let empty = api.request(Method::GET, "/oauth", None, None).await;
    assert_eq!(empty.status, 400, "{}", empty.text);
    assert_eq!(api.mock.token_requests_by_grant("authorization_code"), 0, "no code was exchanged");

    // The genuine callback still completes: the refusals did not consume the state.
    assert_eq!(connection(&api, &id).await["status"], "pending");
    assert_eq!(api.callback(&callback).await.status, 200);
    assert_eq!(connection(&api, &id).await["status"], "active");
}

async fn an_expired_state_is_refused_and_fails_the_connection(backend: Backend) {
    // Long enough for the reconnect below to finish on a loaded machine.
    let options = Options { state_ttl: Duration::from_secs(3), ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({})).await;
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let callback = api.authorize(&authorize_url).await;
    // Expiry is stored in whole seconds, rounded up: a 3 s state is surely past after 4 s.
    tokio::time::sleep(Duration::from_millis(4100)).await;

    let page = api.callback(&callback).await;
    assert_error_page(&page, "expired");
    assert_eq!(api.mock.token_requests_by_grant("authorization_code"), 0, "an expired state exchanges nothing");
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains("expired")), "{view}");

    // Reconnecting starts a new authorization that works.
    let again = api.admin(Method::POST, &format!("/api/v1/connections/{id}/reconnect"), None).await.expect(200);
    assert_eq!(again["status"], "pending", "{again}");
    let callback = api.authorize(again["authorize_url"].as_str().unwrap()).await;
    assert_eq!(api.callback(&callback).await.status, 200);
    assert_eq!(connection(&api, &id).await["status"], "active");
}

async fn access_denied_fails_the_connection_and_the_page_escapes_the_description(backend: Backend) {
    let options =
        Options { mock: MockConfig { consent: Consent::Deny, ..MockConfig::default() }, ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({})).await;

    // The provider's own denial.
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let callback = api.authorize(&authorize_url).await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let page = api.callback(&callback).await;
    assert_error_page(&page, "The user denied the authorization request");
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "failed", "{view}");
    let last_error = view["last_error"].as_str().expect("last_error is set");
    assert!(last_error.contains("access_denied"), "{last_error}");
    assert_eq!(api.mock.token_requests_by_grant("authorization_code"), 0);

    // A description with markup, on a valid state: shown as text, never as HTML.
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let authorize_url = url::Url::parse(&authorize_url).unwrap();
    let state = authorize_url.query_pairs().find(|(k, _)| k == "state").unwrap().1;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", "access_denied")
        .append_pair("error_description", "<script>alert('pwned')</script> & <b>bold</b>")
        .append_pair("state", &state)
        .finish();
    let page = api.request(Method::GET, &format!("/oauth?{query}"), None, None).await;
    assert_error_page(&page, "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;");
    assert!(!page.text.contains("<script>") && !page.text.contains("<b>bold"), "{}", page.text);
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains("<script>alert('pwned')</script>")), "{view}");
}

async fn a_callback_from_another_issuer_is_refused(backend: Backend) {
    let issuer = "https://issuer.mock.test";
    let options =
        Options { mock: MockConfig { issuer: Some(issuer.into()), ..MockConfig::default() }, ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let integration = api.integration(json!({"issuer": issuer})).await;
    let good = api.connect(&api.admin_key, &integration).await;

    for (served, says) in [(Some("https://evil.mock.test"), "evil.mock.test"), (None, "(missing)")] {
        api.mock.set_config(MockConfig { issuer: served.map(String::from), ..MockConfig::default() });
        let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
        let callback = api.authorize(&authorize_url).await;
        let page = api.callback(&callback).await;
        assert_error_page(&page, says);
        assert_eq!(connection(&api, &id).await["status"], "failed");
    }
    assert_eq!(
        api.mock.token_requests_by_grant("authorization_code"),
        1,
        "only the genuine callback exchanged its code"
    );
    assert_eq!(connection(&api, &good).await["status"], "active");
}

async fn a_declined_reauthorization_leaves_a_working_connection_working(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;

    // The user starts a reconnect, then declines at the provider (or closes the tab and comes
    // back later): the tokens the connection has are as good as before.
    let again = api.admin(Method::POST, &format!("/api/v1/connections/{id}/reconnect"), None).await.expect(200);
    api.mock.set_config(MockConfig { consent: Consent::Deny, ..MockConfig::default() });
    let callback = api.authorize(again["authorize_url"].as_str().unwrap()).await;
    assert_error_page(&api.callback(&callback).await, "denied");
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "active", "a declined re-authorization broke a working connection: {view}");
    api.me(&id).await;
}

async fn provider_errors_that_echo_secrets_are_scrubbed(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let client_secret = api.mock.config().client_secret;
    let integration = api.integration(json!({})).await;

    // The token endpoint refuses the code, quoting it and the client secret back.
    let (id, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
    let callback = api.authorize(&authorize_url).await;
    let code = url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let body =
        json!({"error": "invalid_grant", "error_description": format!("code {code} rejected for {client_secret}")});
    api.mock.respond_next_token_request(400, "application/json", &body.to_string());
    let page = api.callback(&callback).await;
    assert_error_page(&page, "invalid_grant");
    let view = connection(&api, &id).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains("rejected for")), "the rest is kept: {view}");

    // The refresh is refused, quoting the refresh token.
    let id = api.connect(&api.admin_key, &integration).await;
    let refresh = format!("/api/v1/connections/{id}/refresh");
    api.admin(Method::POST, &refresh, None).await.expect(200);
    let refresh_token = api.mock.requests_to(MockProvider::TOKEN_PATH).last().unwrap().form_param("refresh_token");
    let refresh_token = refresh_token.expect("a refresh token was sent");
    let body =
        json!({"error": "invalid_grant", "error_description": format!("{refresh_token} revoked ({client_secret})")});
    api.mock.respond_next_token_request(400, "application/json", &body.to_string());
    let (_, _, message) = api.admin(Method::POST, &refresh, None).await.error(409);
    assert!(message.contains("revoked"), "{message}");
    assert_eq!(connection(&api, &id).await["status"], "needs_reauth");

    let exchanges = api.exchanges();
    assert_no_secrets(exchanges.iter().map(|e| (e.request.as_str(), e.body.as_str())), &secrets(&api.mock, &[]));
}

/// The error page's "What to check" follows what failed: a token path that finds nothing, client
/// authentication the app refuses, a body format it refuses, and a site nothing answers at each get their
/// own hint, never the one that blamed the token path for all of them.
async fn the_error_page_hint_follows_what_failed_at_the_token_endpoint(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let closed_port = super::free_port();
    let cases = [
        (
            json!({"name": "wrong-path", "token_path": "/oauth/no-such-endpoint"}),
            "no token endpoint at the Site plus the Token Path",
        ),
        (json!({"name": "wrong-secret", "client_secret": "not the secret"}), "did not accept the client"),
        // The mock demands Basic and refuses a body secret as `invalid_request`: the method, not the secret.
        (json!({"name": "wrong-auth", "client_auth": "post"}), "refused the form of the token request"),
        (json!({"name": "wrong-site", "site": format!("http://127.0.0.1:{closed_port}")}), "could not reach the app"),
    ];
    for (overrides, says) in cases {
        let integration = api.integration(overrides.clone()).await;
        let (_, authorize_url) = api.start_connection(&api.admin_key, &integration, json!({})).await;
        let callback = api.authorize(&authorize_url).await;
        let page = api.callback(&callback).await;
        assert_error_page(&page, says);
        assert!(!page.text.contains("almost always"), "{overrides}: {}", page.text);
    }
}
