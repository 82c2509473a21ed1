//! The console's protections, over plain HTTP against `keyway serve` and the strict mock
//! provider: the session cookie, CSRF, expiry, sign-out, revocation, what a member may see,
//! and a failed exchange shown with no secret on the page.

use std::time::Duration;

use keyway_mock_provider::TokenError;
use keyway_tests::components::{GUEST_RENAME, GUEST_WRONG_WORLD};
use reqwest::Method;
use serde_json::json;

use super::{ConsoleClient, csrf, set_cookie};
use crate::api::{Api, Backend, Options, assert_no_secrets, both_backends, secrets};

both_backends!(
    sessions_and_forms_are_protected,
    members_see_only_their_connections,
    a_failed_exchange_is_shown,
    plugins_are_uploaded_with_errors_in_words,
);

async fn sessions_and_forms_are_protected(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let mut console = ConsoleClient::new(&api.base);

    // Signed out: every page sends the browser to sign in.
    let page = console.get("/ui/integrations").await;
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(page.header("location"), Some("/ui/sign-in"));

    let wrong = console.sign_in("kw_not-a-key").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(wrong.text.contains("API key"), "{}", wrong.text);
    assert!(console.session.is_none(), "a failed sign-in sets no cookie");

    // A sign-in from another site is refused by its origin (there is no session token yet).
    let foreign = console.post_raw("/ui/sign-in", &[("key", &api.admin_key)], Some("http://127.0.0.9:1")).await;
    assert_eq!(foreign.status, 403, "{}", foreign.text);

    let signed_in = console.sign_in(&api.admin_key).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let cookie = set_cookie(&signed_in).expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "the public URL is http, so not Secure: {cookie}");
    let session = console.session.clone().expect("signed in");
    assert!(!cookie.contains(&api.admin_key) && session != api.admin_key, "the cookie holds a session id, not the key");

    let list = console.get("/ui/integrations").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.text.contains("No integrations yet"), "the empty state says what to do: {}", list.text);
    for header in ["content-security-policy", "x-content-type-options"] {
        assert!(list.header(header).is_some(), "{header} missing");
    }
    assert_eq!(list.header("cache-control"), Some("no-store"));

    // A form without its token, with another session's, or from another site is refused, and
    // changes nothing.
    let fields = [("name", "refused"), ("auth_method", "oauth2"), ("client_id", "c")];
    let missing = console.post_raw("/ui/integrations/new", &fields, None).await;
    assert_eq!(missing.status, 403, "{}", missing.text);
    assert!(missing.text.contains("security token"), "{}", missing.text);
    let mut other = ConsoleClient::new(&api.base);
    other.sign_in(&api.admin_key).await;
    let other_token = csrf(&other.get("/ui/integrations").await.text);
    assert_ne!(other_token, csrf(&list.text), "each session has its own token");
    let mut forged = vec![("_csrf", other_token.as_str())];
    forged.extend_from_slice(&fields);
    assert_eq!(console.post_raw("/ui/integrations/new", &forged, None).await.status, 403);
    let token = csrf(&list.text);
    let mut cross_site = vec![("_csrf", token.as_str())];
    cross_site.extend_from_slice(&fields);
    assert_eq!(console.post_raw("/ui/integrations/new", &cross_site, Some("http://127.0.0.9:1")).await.status, 403);
    let listed = api.get("/api/v1/integrations").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "nothing was created: {listed}");

    // A token path that includes the domain: the API's fix-it message, beside its field.
    let mock = &api.mock;
    let (site, authorization_url) = (mock.base_url(), mock.authorization_url());
    let full_token_url = format!("{site}/oauth/token");
    let config = mock.config();
    let form = [
        ("name", "Mock app"),
        ("auth_method", "oauth2"),
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.as_str()),
        ("site", site.as_str()),
        ("authorization_url", authorization_url.as_str()),
        ("token_path", full_token_url.as_str()),
        ("client_auth", "basic"),
        ("scopes", "read\nwrite"),
    ];
    let invalid = console.submit("/ui/integrations/new", "/ui/integrations/new", &form).await;
    assert_eq!(invalid.status, 400, "{}", invalid.text);
    let token_field = invalid.text.find(r#"id="f-token_path""#).expect("the token path field");
    let error = invalid.text.find(r#"id="f-token_path-error""#).expect("an error beside the token path");
    assert!(error > token_field && error - token_field < 2000, "the error sits beside its field");
    assert!(invalid.text.contains("use <code>/oauth/token</code>, not"), "the fix-it message: {}", invalid.text);
    assert!(!invalid.text.contains(&mock.config().client_secret), "the secret is not echoed back");

    // Signing out ends the session on the server, not only in this browser.
    let token = csrf(&console.get("/ui/integrations").await.text);
    let out = console.post_raw("/ui/sign-out", &[("_csrf", &token)], None).await;
    assert_eq!(out.status, 303, "{}", out.text);
    assert!(set_cookie(&out).is_some_and(|c| c.contains("Max-Age=0")), "the cookie is cleared");
    assert_eq!(console.get("/ui/integrations").await.status, 401, "the old cookie no longer works");

    // A session dies with its key.
    let (member_id, member_key) = api.member_key("temp").await;
    let mut member = ConsoleClient::new(&api.base);
    assert_eq!(member.sign_in(&member_key).await.status, 303);
    assert_eq!(member.get("/ui/connections").await.status, 200);
    api.admin(Method::DELETE, &format!("/api/v1/keys/{member_id}"), None).await.expect(204);
    let dead = member.get("/ui/connections").await;
    assert_eq!(dead.status, 401, "{}", dead.text);
    assert!(dead.text.contains("revoked"), "says why: {}", dead.text);

    // A member cannot reach the admin pages.
    let (_, member_key) = api.member_key("member").await;
    let mut member = ConsoleClient::new(&api.base);
    member.sign_in(&member_key).await;
    let keys = member.get("/ui/keys").await;
    assert_eq!(keys.status, 403, "{}", keys.text);
    assert!(!member.get("/ui/integrations").await.text.contains("/ui/keys"), "no Keys link for a member");

    // And a session expires.
    drop(api);
    // Sessions expire on whole seconds: with a 1 s lifetime, a sign-in that straddled a second's
    // end made a session already expired (a flake seen once in CI). 2 s cannot, and 3.1 s later
    // it has surely expired.
    let options = Options { console_session_ttl: Duration::from_secs(2), ..Options::default() };
    let Some(api) = Api::with(backend, options).await else { return };
    let mut console = ConsoleClient::new(&api.base);
    let signed_in = console.sign_in(&api.admin_key).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert_eq!(console.get("/ui/integrations").await.status, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let expired = console.get("/ui/integrations").await;
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert!(expired.text.contains("expired"), "says why: {}", expired.text);
}

async fn members_see_only_their_connections(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let (alice_id, alice_key) = api.member_key("alice").await;
    let (_, bob_key) = api.member_key("bob").await;
    let body = json!({"name": "alice-crm"});
    let (connection, _) = api.start_connection(&alice_key, &integration, body).await;

    let mut alice = ConsoleClient::new(&api.base);
    alice.sign_in(&alice_key).await;
    let list = alice.get("/ui/connections").await;
    assert!(list.text.contains(&connection) && list.text.contains("alice-crm"), "{}", list.text);
    let page = alice.get(&format!("/ui/connections/{connection}")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&alice_id), "the owner key is shown: {}", page.text);

    let mut bob = ConsoleClient::new(&api.base);
    bob.sign_in(&bob_key).await;
    let list = bob.get("/ui/connections").await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&connection) && !list.text.contains("alice-crm"), "{}", list.text);
    let integration_page = bob.get(&format!("/ui/integrations/{integration}")).await;
    assert_eq!(integration_page.status, 200, "{}", integration_page.text);
    assert!(!integration_page.text.contains("alice-crm"), "{}", integration_page.text);
    let page = bob.get(&format!("/ui/connections/{connection}")).await;
    assert!(matches!(page.status, 403 | 404), "bob opens alice's connection: {} {}", page.status, page.text);
    assert!(!page.text.contains("alice-crm"), "{}", page.text);
    // Posting to it is refused the same way, CSRF token and all.
    let token = csrf(&list.text);
    let delete = bob.post_raw(&format!("/ui/connections/{connection}/delete"), &[("_csrf", &token)], None).await;
    assert!(matches!(delete.status, 403 | 404), "{} {}", delete.status, delete.text);
    let view = api.get(&format!("/api/v1/connections/{connection}")).await;
    assert_eq!(view["name"], "alice-crm", "still there: {view}");
}

async fn a_failed_exchange_is_shown(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let wrong_secret = "not-the-secret & : + space";
    let integration = api.integration(json!({"client_secret": wrong_secret})).await;
    let mut console = ConsoleClient::new(&api.base);
    console.sign_in(&api.admin_key).await;

    // "Add connection" in the console sends the browser to the app's login page.
    let page = format!("/ui/integrations/{integration}");
    let started = console.submit(&page, &format!("{page}/connections"), &[("connection_name", "broken")]).await;
    assert_eq!(started.status, 303, "{}", started.text);
    let authorize_url = started.header("location").expect("to the app").to_string();
    assert!(authorize_url.starts_with(&api.mock.authorization_url()), "{authorize_url}");

    // The app sends the browser back; the exchange fails; the console's page says why.
    let callback = api.authorize(&authorize_url).await;
    let url = url::Url::parse(&callback).unwrap();
    let back = console.get(&format!("{}?{}", url.path(), url.query().unwrap())).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let location = back.header("location").expect("to the connection's page").to_string();
    assert!(location.starts_with("/ui/connections/") && location.ends_with("?failed=1"), "{location}");
    let shown = console.get(&location).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    for expected in ["The last failed code exchange", "invalid_client", "POST ", "/oauth/token", "Client Secret"] {
        assert!(shown.text.contains(expected), "{expected:?} missing from the page:\n{}", shown.text);
    }
    let mut secrets = secrets(&api.mock, &[&api.admin_key]);
    secrets.push(wrong_secret.into());
    secrets.push(url::form_urlencoded::byte_serialize(wrong_secret.as_bytes()).collect());
    secrets.extend(url.query_pairs().filter(|(k, _)| k == "code" || k == "state").map(|(_, v)| v.into_owned()));
    assert_no_secrets([("the failed exchange's page", shown.text.as_str())], &secrets);

    // The same page on "another replica": it is in the database, not this process's memory.
    let id = location.trim_start_matches("/ui/connections/").trim_end_matches("?failed=1");
    let stored = api.service.last_failed_exchange(&admin(&api).await, id).await.unwrap().expect("stored");
    assert_eq!(stored.kind, "code exchange");

    // A refused refresh: "Refresh now" says so, and the page shows that attempt instead.
    let working = api.integration(json!({"name": "working"})).await;
    let connection = api.connect(&api.admin_key, &working).await;
    api.mock.fail_next_token_request(TokenError::invalid_grant("the refresh token was revoked"));
    let page = format!("/ui/connections/{connection}");
    let refused = console.submit(&page, &format!("{page}/refresh"), &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("The refresh failed"), "{}", refused.text);
    let shown = console.get(&page).await;
    for expected in
        ["The last failed refresh", "invalid_grant", "grant_type=refresh_token", "Needs someone to sign in again"]
    {
        assert!(shown.text.contains(expected), "{expected:?} missing from the page:\n{}", shown.text);
    }
    // The mock's refresh tokens and the secret, at the least (`secrets` gathered them above).
    assert_no_secrets([("the failed refresh's page", shown.text.as_str())], &secrets);
}

async fn plugins_are_uploaded_with_errors_in_words(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let mut console = ConsoleClient::new(&api.base);
    console.sign_in(&api.admin_key).await;
    let list = console.get("/ui/plugins").await;
    assert!(list.text.contains("standard-oauth2") && list.text.contains("Install a plugin"), "{}", list.text);
    let token = csrf(&list.text);

    let unsigned = console.post_multipart("/ui/plugins", &[("component", GUEST_RENAME)]).await;
    assert_eq!(unsigned.status, 403, "no CSRF token: {}", unsigned.text);
    let not_wasm =
        console.post_multipart("/ui/plugins", &[("_csrf", token.as_bytes()), ("component", b"MZ not wasm")]).await;
    assert_eq!(not_wasm.status, 400, "{}", not_wasm.text);
    assert!(not_wasm.text.contains("The plugin was not installed"), "{}", not_wasm.text);
    let wrong_world =
        console.post_multipart("/ui/plugins", &[("_csrf", token.as_bytes()), ("component", GUEST_WRONG_WORLD)]).await;
    assert_eq!(wrong_world.status, 400, "{}", wrong_world.text);
    assert!(wrong_world.text.contains("keyway:plugin"), "the install error names the interface: {}", wrong_world.text);
    let listed = api.get("/api/v1/plugins").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "nothing was installed: {listed}");

    let installed =
        console.post_multipart("/ui/plugins", &[("_csrf", token.as_bytes()), ("component", GUEST_RENAME)]).await;
    assert_eq!(installed.status, 303, "{}", installed.text);
    let location = installed.header("location").expect("to its page").to_string();
    assert!(location.starts_with("/ui/plugins/") && location.ends_with("?installed=1"), "{location}");
    let page = console.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for expected in ["guest-rename", "Installed.", "Hosts it may call", "Connection inputs", "Settings", "Actions"] {
        assert!(page.text.contains(expected), "{expected:?} missing from the plugin's page:\n{}", page.text);
    }

    // A member sees the plugins, and cannot install one.
    let (_, member_key) = api.member_key("member").await;
    let mut member = ConsoleClient::new(&api.base);
    member.sign_in(&member_key).await;
    let list = member.get("/ui/plugins").await;
    assert!(list.text.contains("guest-rename") && !list.text.contains("Install a plugin"), "{}", list.text);
    let token = csrf(&list.text);
    let refused =
        member.post_multipart("/ui/plugins", &[("_csrf", token.as_bytes()), ("component", GUEST_RENAME)]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

async fn admin(api: &Api) -> keyway::keys::Principal {
    api.service.authenticate(&keyway::keys::ApiKey::new(&api.admin_key)).await.expect("the admin key")
}
