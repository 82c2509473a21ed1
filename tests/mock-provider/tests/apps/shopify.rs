//! Shopify mode: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant

use keyway_mock_provider::apps::shopify::{API_VERSION, AUTHORIZE_PATH, DOMAIN, TOKEN_PATH, callback_hmac};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Call, Harness, REDIRECT_URI, Reply, STATE};
use crate::{changed, post_json};

async fn shopify() -> Harness {
    shopify_with(MockConfig::default()).await
}

async fn shopify_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Shopify, ..config }).await
}

/// A request to `path` on the shop `shop`'s host, which the mock reads from `Host`.
fn at(h: &Harness, shop: &str, method: Method, path: &str) -> Call {
    h.call(method, path).header("host", &format!("{shop}.{DOMAIN}:{}", h.mock.local_addr().port()))
}

async fn authorize_at(h: &Harness, shop: &str, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("scope", "read_products,write_orders"),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(changed(&params, set)).finish();
    at(h, shop, Method::GET, &format!("{AUTHORIZE_PATH}?{query}")).send(h).await
}

/// The redirect's query, after checking it is one.
#[track_caller]
fn callback(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(reply.status, 302, "{}", reply.text);
    reply.location().query_pairs().into_owned().collect()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> &'a str {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no `{name}`"))
}

fn exchange_at(h: &Harness, shop: &str, code: &str) -> Call {
    let config = h.mock.config();
    let body = json!({"client_id": config.client_id, "client_secret": config.client_secret, "code": code});
    post_json(h, TOKEN_PATH, &body).header("host", &format!("{shop}.{DOMAIN}:{}", h.mock.local_addr().port()))
}

async fn token(h: &Harness) -> String {
    let query = callback(&authorize_at(h, "acme", &[]).await);
    let reply = exchange_at(h, "acme", param(&query, "code")).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.field("access_token")
}

fn shop_json(h: &Harness, shop: &str, token: &str) -> Call {
    at(h, shop, Method::GET, &format!("/admin/api/{API_VERSION}/shop.json")).header("x-shopify-access-token", token)
}

#[track_caller]
fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.error(), error, "{}", reply.text);
}

#[test]
fn the_callback_hmac_is_over_the_sorted_query_encoded_parameters() {
    // Shopify's documented example parameters, plus a `host` whose `=` must be encoded; the expected value was
    // computed independently (Python's hmac over urlencode(sorted(params))).
    let params: Vec<(String, String)> = [
        ("shop", "some-shop.myshopify.com"),
        ("code", "0907a61c0c8d55e99db179b68161bc00"),
        ("hmac", "ignored"),
        ("timestamp", "1337178173"),
        ("state", "0.6784241404160823"),
        ("host", "YWRtaW4="),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        callback_hmac("demo-secret with:odd+chars", &params),
        "49ec7f2286d812014f103e962d040440d1ccac523267c51d4cf4fc206c7a20fc"
    );
}

#[tokio::test]
async fn the_redirect_back_carries_a_signed_code_shop_host_state_and_timestamp() {
    let h = shopify().await;
    let query = callback(&authorize_at(&h, "acme", &[]).await);
    let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["code", "hmac", "host", "shop", "state", "timestamp"]);
    assert_eq!(param(&query, "shop"), format!("acme.{DOMAIN}"));
    assert_eq!(param(&query, "state"), STATE);
    assert_eq!(param(&query, "hmac"), callback_hmac(&h.mock.config().client_secret, &query));
    assert_ne!(param(&query, "hmac"), callback_hmac("another secret", &query), "keyed with the client secret");
}

#[tokio::test]
async fn each_shop_is_a_subdomain() {
    let h = shopify().await;
    for shop in ["", "a.b"] {
        assert_eq!(authorize_at(&h, shop, &[]).await.status, 404, "{shop}");
    }
    assert_eq!(h.call(Method::GET, AUTHORIZE_PATH).send(&h).await.status, 404);
}

#[tokio::test]
async fn authorize_needs_the_client_comma_separated_scopes_and_a_state() {
    let h = shopify().await;
    for set in [
        [("client_id", Some("other"))],
        [("redirect_uri", None)],
        [("state", None)],
        [("scope", None)],
        [("scope", Some("read_products write_orders"))],
        [("grant_options[]", Some("per-user"))],
    ] {
        let reply = authorize_at(&h, "acme", &set).await;
        assert_eq!(reply.status, 400, "{set:?}: {}", reply.text);
    }
    let declined = shopify_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(authorize_at(&declined, "acme", &[]).await.status, 400);
}

#[tokio::test]
async fn the_exchange_takes_the_client_and_the_code_and_answers_an_offline_token() {
    let h = shopify().await;
    let query = callback(&authorize_at(&h, "acme", &[]).await);
    let reply = exchange_at(&h, "acme", param(&query, "code")).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body: Value = reply.json();
    assert_eq!(body["scope"], "read_products,write_orders");
    assert!(body.get("expires_in").is_none() && body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn the_exchange_refuses_a_wrong_client_another_shop_and_a_used_code() {
    let h = shopify().await;
    let config = h.mock.config();
    let query = callback(&authorize_at(&h, "acme", &[]).await);
    let code = param(&query, "code");
    let wrong = json!({"client_id": config.client_id, "client_secret": "x", "code": code});
    let host = format!("acme.{DOMAIN}:{}", h.mock.local_addr().port());
    assert_refused(&post_json(&h, TOKEN_PATH, &wrong).header("host", &host).send(&h).await, 401, "invalid_client");
    let no_secret = json!({"client_id": config.client_id, "code": code});
    assert_refused(&post_json(&h, TOKEN_PATH, &no_secret).header("host", &host).send(&h).await, 400, "invalid_request");
    let no_code = json!({"client_id": config.client_id, "client_secret": config.client_secret});
    assert_refused(&post_json(&h, TOKEN_PATH, &no_code).header("host", &host).send(&h).await, 400, "invalid_request");
    assert_refused(&exchange_at(&h, "globex", code).send(&h).await, 400, "invalid_grant");
    assert_refused(&exchange_at(&h, "acme", "mock-code-forged").send(&h).await, 400, "invalid_grant");
    let text = exchange_at(&h, "acme", code).header("content-type", "text/plain").send(&h).await;
    assert_refused(&text, 400, "invalid_request");
    assert_eq!(exchange_at(&h, "acme", code).send(&h).await.status, 200, "the refusals burned nothing");
    assert_refused(&exchange_at(&h, "acme", code).send(&h).await, 400, "invalid_grant");
}

#[tokio::test]
async fn the_admin_api_takes_the_token_in_x_shopify_access_token_on_its_shop() {
    let h = shopify().await;
    let token = token(&h).await;
    let reply = shop_json(&h, "acme", &token).send(&h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["shop"]["myshopify_domain"], format!("acme.{DOMAIN}"));
    let bearer = at(&h, "acme", Method::GET, &format!("/admin/api/{API_VERSION}/shop.json"))
        .header("authorization", &format!("Bearer {token}"));
    for reply in [
        bearer.send(&h).await,
        shop_json(&h, "globex", &token).send(&h).await,
        shop_json(&h, "acme", "mock-at-unknown").send(&h).await,
    ] {
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert!(reply.json()["errors"].as_str().unwrap().starts_with("[API] Invalid API key or access token"));
    }
    let unversioned =
        at(&h, "acme", Method::GET, "/admin/api/latest/shop.json").header("x-shopify-access-token", &token);
    assert_eq!(unversioned.send(&h).await.status, 404);
}
