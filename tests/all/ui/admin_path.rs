//! The help article's whole admin path, in a real headless Chromium, against a real and strict
//! OAuth server (npm's oidc-provider: PKCE required, refresh tokens rotated, its own login and
//! consent pages): sign in, create an integration (a token path with the domain first, to see
//! the fix-it message), connect, try a request, run an action, refresh, delete; then break the
//! client secret, reconnect, and read the failed exchange. Every page's HTML is checked for
//! secrets, and every page is photographed into `target/ui-screenshots/`.

use std::time::{Duration, Instant};

use keyway_tests::browser::Browser;
use keyway_tests::oidc::{OidcClient, OidcProvider};
use reqwest::Method;
use serde_json::json;

use crate::api::{Api, Backend, Options, assert_no_secrets};

/// A `client_secret_basic` secret with every character the form encoding must escape.
const BASIC_SECRET: &str = "b&sic: +secret with space";
const POST_SECRET: &str = "p0st&: +secret with space";

/// The pages seen so far, for the secret check at the end.
struct Tour {
    browser: Browser,
    base: String,
    pages: Vec<(String, String)>,
}

impl Tour {
    /// Photographs the page and keeps its HTML.
    async fn look(&mut self, name: &str) {
        self.browser.screenshot(name).await;
        self.pages.push((name.to_string(), self.browser.source().await));
    }

    async fn url(&self) -> String {
        self.browser.current_url().await
    }

    /// Signs in at the provider's login page and consents, as far as the provider asks, until
    /// the browser is back at Keyway.
    async fn through_the_provider(&mut self, shots: bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.url().await.starts_with(&self.base) {
            assert!(Instant::now() < deadline, "still at the provider: {}", self.url().await);
            if self.browser.exists("input[name=login]").await {
                if shots {
                    self.look("06-provider-login").await;
                }
                self.browser.fill("input[name=login]", "ada").await;
                self.browser.fill("input[name=password]", "any password").await;
                self.browser.submit_form("button[type=submit]").await;
            } else if self.browser.exists("button[type=submit]").await {
                if shots {
                    self.look("06-provider-consent").await;
                }
                self.browser.submit_form("button[type=submit]").await;
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Fills in "New custom integration" (or its settings) for the `client_secret_basic` client.
async fn fill_integration(browser: &Browser, oidc: &OidcProvider, token_path: &str) {
    browser.fill("#f-name", "Ada's app").await;
    browser.select("#f-auth_method", "oauth2").await;
    browser.fill("#f-client_id", "keyway-basic").await;
    browser.fill("#f-client_secret", BASIC_SECRET).await;
    browser.fill("#f-site", oidc.issuer()).await;
    browser.fill("#f-authorization_url", &oidc.url(OidcProvider::AUTHORIZATION_PATH)).await;
    browser.fill("#f-token_path", token_path).await;
    browser.fill("#f-revoke_path", OidcProvider::REVOCATION_PATH).await;
    browser.click("input[name=client_auth][value=basic]").await;
    browser.fill("#f-scopes", "openid\nprofile").await;
    browser.set_checked("input[name=pkce]", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_path_in_a_browser() {
    let Some(browser) = Browser::start().await else { return };
    let options = Options {
        allowed_networks: keyway_tests::allow_network_args(&[keyway_tests::MOCK_IP, OidcProvider::IP]),
        ..Options::default()
    };
    let Some(api) = Api::with(Backend::Sqlite, options).await else { return };
    let redirect_uri = format!("{}/oauth", api.base);
    let clients = [
        OidcClient::basic("keyway-basic", BASIC_SECRET, &redirect_uri),
        OidcClient::post("keyway-post", POST_SECRET, &redirect_uri),
    ];
    let Some(oidc) = OidcProvider::start(&clients).await else { return };
    let mut tour = Tour { browser, base: api.base.clone(), pages: Vec::new() };
    tour.browser.set_window_size(1280, 1400).await;

    // 1. Sign in.
    tour.browser.goto(&format!("{}/ui", api.base)).await;
    assert!(tour.url().await.ends_with("/ui/sign-in"), "{}", tour.url().await);
    tour.look("01-sign-in").await;
    tour.browser.fill("#key", &api.admin_key).await;
    tour.browser.submit_form("form[action='/ui/sign-in'] button[type=submit]").await;
    assert!(tour.url().await.ends_with("/ui/integrations"), "{}", tour.url().await);
    assert!(tour.browser.text("main").await.contains("No integrations yet"));
    tour.look("02-integrations-empty").await;

    // 2. A new custom integration, with the token path first written as the whole URL.
    tour.browser.click("a[href='/ui/integrations/new']").await;
    tour.browser.wait_for("#f-token_path", Duration::from_secs(10)).await;
    tour.look("03-new-integration").await;
    let create = "form[action='/ui/integrations/new'][method=post] button[type=submit]";
    fill_integration(&tour.browser, &oidc, &oidc.url(OidcProvider::TOKEN_PATH)).await;
    tour.browser.submit_form(create).await;
    let error = tour.browser.text("#f-token_path-error").await;
    assert!(error.contains("use /token, not"), "the fix-it message beside the field: {error}");
    tour.browser.execute("document.getElementById('f-token_path').scrollIntoView({block: 'center'})").await;
    tour.look("04-new-integration-error").await;
    fill_integration(&tour.browser, &oidc, OidcProvider::TOKEN_PATH).await;
    tour.browser.submit_form(create).await;
    let url = tour.url().await;
    assert!(url.contains("?created=1"), "{url}: {}", tour.browser.text("main").await);
    let integration = url.split("/ui/integrations/").nth(1).unwrap().split('?').next().unwrap().to_string();
    assert_eq!(tour.browser.text("#redirect-uri").await, redirect_uri, "the redirect URI to register");

    // A declarative action that reads the signed-in user, for "Run an action".
    let action = json!({
        "name": "whoami",
        "description": "Reads the signed-in account and echoes a label",
        "input_schema": {"type": "object", "required": ["label"], "additionalProperties": false,
                         "properties": {"label": {"type": "string", "description": "Any text, echoed back"}}},
        "steps": [{"name": "me", "method": "GET", "path": OidcProvider::USERINFO_PATH}],
        "output": {"sub": "{{ steps.me.body.sub }}", "label": "{{ input.label }}"}
    });
    api.admin(Method::POST, &format!("/api/v1/integrations/{integration}/actions"), Some(action)).await.expect(201);
    tour.browser.goto(&format!("{}/ui/integrations/{integration}", api.base)).await;
    tour.look("05-integration").await;

    // 3. Add a connection; log in and consent at the provider; back on the success page.
    tour.browser.fill("#f-connection_name", "Ada at work").await;
    tour.browser.submit_form("form[action$='/connections'] button[type=submit]").await;
    tour.through_the_provider(true).await;
    let url = tour.url().await;
    assert!(url.contains("/ui/connections/") && url.ends_with("?connected=1"), "{url}");
    let connection = url.split("/ui/connections/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let notice = tour.browser.text(".notice.good").await;
    assert!(notice.contains("active"), "{notice}");
    let details = tour.browser.text("#facts-heading + dl").await;
    assert!(details.contains("openid"), "the granted scopes: {details}");
    tour.look("07-connection-active").await;

    // 4. Try a request, run an action, refresh.
    tour.browser.select("#f-method", "GET").await;
    tour.browser.fill("#f-path", OidcProvider::USERINFO_PATH).await;
    tour.browser.submit_form("#request button[type=submit]").await;
    let result = tour.browser.text("#request-result").await;
    assert!(result.contains("Status 200") && result.contains("\"sub\": \"ada\""), "{result}");
    tour.look("08-try-request").await;

    tour.browser.fill("#f-input-label", "from the console").await;
    tour.browser.submit_form("#action-whoami button[type=submit]").await;
    let ran = tour.browser.text("#action-whoami .result").await;
    assert!(ran.contains("\"sub\": \"ada\"") && ran.contains("from the console"), "the output: {ran}");
    assert!(ran.contains(OidcProvider::USERINFO_PATH) && ran.contains("200"), "its calls: {ran}");
    tour.browser.execute("document.getElementById('action-whoami').scrollIntoView()").await;
    tour.look("09-run-action").await;

    let before = api.get(&format!("/api/v1/connections/{connection}")).await;
    // Times are in whole seconds: wait one, so the new token's expiry shows it is new.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    tour.browser.submit_form("form[action$='/refresh'] button[type=submit]").await;
    assert!(tour.url().await.ends_with("?refreshed=1"), "{}", tour.url().await);
    let after = api.get(&format!("/api/v1/connections/{connection}")).await;
    assert!(after["expires_at"].as_str() > before["expires_at"].as_str(), "a new access token: {before} then {after}");
    assert!(tour.browser.text("#activity-heading + ol").await.contains("Connected"), "the timeline");
    tour.look("10-refreshed").await;

    // The same pages at a phone's width.
    tour.browser.set_window_size(390, 1400).await;
    tour.look("11-connection-phone").await;
    tour.browser.goto(&format!("{}/ui/integrations", api.base)).await;
    tour.look("12-integrations-phone").await;
    tour.browser.set_window_size(1280, 1400).await;

    // Delete (which revokes at the provider).
    tour.browser.goto(&format!("{}/ui/connections/{connection}", api.base)).await;
    tour.browser.submit_form("form[action$='/delete'] button[type=submit]").await;
    assert!(tour.url().await.ends_with("/ui/connections"), "{}", tour.url().await);
    assert!(tour.browser.text("main").await.contains("No connections yet"));
    api.admin(Method::GET, &format!("/api/v1/connections/{connection}"), None).await.error(404);
    tour.look("13-connections-empty").await;

    // 5. Break the integration (a wrong secret), reconnect, and read the failed exchange.
    tour.browser.goto(&format!("{}/ui/integrations/{integration}", api.base)).await;
    tour.browser.fill("#f-client_secret", "wrong secret").await;
    tour.browser.submit_form(&format!("form[action='/ui/integrations/{integration}'] button[type=submit]")).await;
    assert!(tour.url().await.ends_with("?updated=1"), "{}", tour.browser.text("main").await);
    tour.browser.fill("#f-connection_name", "Ada again").await;
    tour.browser.submit_form("form[action$='/connections'] button[type=submit]").await;
    tour.through_the_provider(false).await;
    assert!(tour.url().await.ends_with("?failed=1"), "{}", tour.url().await);
    let failed = tour.browser.text("main").await;
    for expected in ["could not be completed", "The last failed code exchange", "invalid_client", "POST "] {
        assert!(failed.to_lowercase().contains(&expected.to_lowercase()), "{expected:?} missing:\n{failed}");
    }
    tour.browser.execute("document.getElementById('failed-heading').scrollIntoView()").await;
    tour.look("14-failed-exchange").await;

    // A `client_secret_post` client connects too.
    let post = api
        .admin(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({
                "name": "Ada's app (post)", "client_id": "keyway-post", "client_secret": POST_SECRET,
                "site": oidc.issuer(), "authorization_url": oidc.url(OidcProvider::AUTHORIZATION_PATH),
                "token_path": OidcProvider::TOKEN_PATH, "client_auth": "post", "scopes": ["openid"], "pkce": true
            })),
        )
        .await
        .expect(201);
    tour.browser.goto(&format!("{}/ui/integrations/{}", api.base, post["id"].as_str().unwrap())).await;
    tour.browser.fill("#f-connection_name", "Ada by post").await;
    tour.browser.submit_form("form[action$='/connections'] button[type=submit]").await;
    tour.through_the_provider(false).await;
    assert!(tour.url().await.ends_with("?connected=1"), "{}: {}", tour.url().await, tour.browser.text("main").await);

    // The other pages.
    tour.browser.goto(&format!("{}/ui/connections", api.base)).await;
    tour.look("15-connections").await;
    tour.browser.goto(&format!("{}/ui/integrations", api.base)).await;
    tour.look("16-integrations").await;
    tour.browser.goto(&format!("{}/ui/plugins", api.base)).await;
    tour.look("17-plugins").await;
    tour.browser.click("main table a").await;
    tour.browser.wait_for("#inputs-heading", Duration::from_secs(10)).await;
    tour.look("18-plugin").await;
    tour.browser.goto(&format!("{}/ui/keys", api.base)).await;
    tour.look("19-keys").await;
    tour.browser.fill("#f-name", "billing workflow").await;
    tour.browser.submit_form("form[action='/ui/keys'] button[type=submit]").await;
    let new_key = tour.browser.text("#new-key").await;
    assert!(new_key.starts_with("kw_"), "shown once: {new_key}");
    tour.browser.screenshot("20-key-created").await;

    // No page carried a secret: the client secrets in every form they travel in, the API key,
    // or anything the provider issued (its codes and tokens never reach a page).
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut secrets = vec![BASIC_SECRET.to_string(), POST_SECRET.to_string(), "wrong secret".to_string()];
    secrets.extend([encode(BASIC_SECRET), encode(POST_SECRET), encode("wrong secret"), api.admin_key.clone()]);
    let pages: Vec<(&str, &str)> = tour.pages.iter().map(|(n, h)| (n.as_str(), h.as_str())).collect();
    assert_no_secrets(pages.iter().copied(), &secrets);
    // What the failed exchange shows of the code, the verifier and any token is the mask.
    for (name, html) in &pages {
        for field in ["code=", "code_verifier=", "\"access_token\":", "\"refresh_token\":"] {
            for (at, _) in html.match_indices(field) {
                let shown = html[at + field.len()..].trim_start_matches([' ', '"']);
                assert!(
                    shown.starts_with("[redacted]"),
                    "{field} unmasked on page {name}: {}",
                    &shown[..shown.len().min(40)]
                );
            }
        }
    }
    let stderr = oidc.stderr();
    assert!(!stderr.contains("server_error"), "the provider hit an error:\n{stderr}");
    tour.browser.close().await;
}
