//! Shopify's authorization code grant
//! (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant): every
//! shop has a host of its own, `https://{shop}.myshopify.com`, and codes and tokens work only on the shop that
//! issued them. Here the shops are `{shop}.myshopify.test` (see [`DOMAIN`]), told apart by the `Host` header.
//!
//! - `GET /admin/oauth/authorize`: `client_id`, `scope` (comma-separated, `read_products,write_orders`),
//!   `redirect_uri`, `state` (the nonce), and optionally `grant_options[]=per-user` for an online token, which this
//!   mock does not issue. There is no `response_type`, and no PKCE.
//! - The redirect back ("Step 3: Validate authorization code") carries `code`, `hmac`, `host` (base64 of the
//!   shop's admin host), `shop` (`{shop}.myshopify.com`), `state` and `timestamp`. `hmac` is the hex HMAC-SHA256,
//!   keyed with the app's client secret, of the other parameters sorted by name and joined as a query string
//!   (`code=…&host=…&shop=…&state=…&timestamp=…`, each value query-encoded as Shopify's libraries do): see
//!   [`callback_hmac`]. The app must verify it, and check that `shop` is the shop it sent the user to.
//! - `POST /admin/oauth/access_token` ("Step 4: Get an access token"): `client_id`, `client_secret` and `code`, as
//!   JSON (or a form). No `grant_type`, no `redirect_uri`. The answer is `{"access_token", "scope"}` with the scopes
//!   comma-separated: an offline token, which neither expires nor refreshes.
//! - `GET /admin/api/{version}/shop.json` (https://shopify.dev/docs/api/admin-rest/latest/resources/shop), with the
//!   token in `X-Shopify-Access-Token` (https://shopify.dev/docs/api/usage/authentication); `Authorization: Bearer`
//!   is not read. Refusals are `401 {"errors": "[API] Invalid API key or access token (…)"}`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

use super::{hmac_sha256_hex, json_answer, json_params, mint_code, never_expire, queued_answer};
use crate::endpoints::authorize::{Redirect, verified_redirect_uri};
use crate::endpoints::token::redeem_code;
use crate::params::{Params, media_type};
use crate::server::Refusal;
use crate::store::{Shared, lock};
use crate::{Consent, TokenError};

/// The domain whose subdomains are the shops: `acme.myshopify.test` is the shop `acme`.
pub const DOMAIN: &str = "myshopify.test";
/// The authorization page, on the shop's host.
pub const AUTHORIZE_PATH: &str = "/admin/oauth/authorize";
/// The token endpoint, on the shop's host.
pub const TOKEN_PATH: &str = "/admin/oauth/access_token";
/// The Admin API version the tests call.
pub const API_VERSION: &str = "2025-01";

/// What Shopify mode remembers beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// The shop each code and token was issued on.
    shop_of: HashMap<String, String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route("/admin/api/{version}/shop.json", get(shop))
}

/// The callback's `hmac`: hex HMAC-SHA256 under the client secret of `params` (without `hmac`), sorted by name and
/// query-encoded.
pub fn callback_hmac(client_secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(name, _)| name != "hmac").collect();
    sorted.sort();
    let message = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(sorted).finish();
    hmac_sha256_hex(client_secret, &message)
}

/// The shop the request's `Host` names, or the 404 an unknown host gets.
fn shop_of_host(headers: &HeaderMap) -> Result<String, Box<Response>> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    match name.strip_suffix(DOMAIN).and_then(|rest| rest.strip_suffix('.')) {
        Some(shop) if !shop.is_empty() && !shop.contains('.') => Ok(shop.to_owned()),
        _ => {
            let message = format!("there is no Shopify shop at `{host}`: call https://{{shop}}.{DOMAIN}");
            let page = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message);
            Err(Box::new(page.into_response()))
        }
    }
}

async fn authorize(State(shared): State<Shared>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let shop = match shop_of_host(&headers) {
        Ok(shop) => shop,
        Err(refused) => return *refused,
    };
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let to = match verified_redirect_uri(&params, &config, "client_id") {
        Ok(to) => to,
        Err(message) => return Refusal::Page(message).into_response(),
    };
    let refuse = |message: &str| Refusal::Page(message.to_owned()).into_response();
    let Some(state) = params.get("state") else {
        return refuse("`state` is missing: send a nonce, and check it comes back");
    };
    let Some(scope) = params.get("scope") else {
        return refuse("`scope` is missing: list the access scopes, separated by commas");
    };
    let scopes: Vec<String> = scope.split(',').map(str::to_owned).collect();
    if scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return refuse(&format!("scope `{scope}`: separate access scopes with commas, not spaces"));
    }
    if params.get("grant_options[]").is_some() {
        return refuse("this mock issues offline tokens only: leave out `grant_options[]`");
    }
    if config.consent == Consent::Deny {
        // The merchant closes the install screen: Shopify sends nobody back.
        return refuse("the merchant declined to install the app");
    }
    let redirect = Redirect { to: to.clone(), state: None, issuer: None };
    let code = match mint_code(&shared, &config, &redirect, scopes, None) {
        Ok(code) => code,
        Err(denied) => return *denied,
    };
    lock(&shared).app.shopify.shop_of.insert(code.clone(), shop.clone());
    let shop_host = format!("{shop}.{DOMAIN}");
    let admin = base64::engine::general_purpose::STANDARD.encode(format!("admin.shopify.com/store/{shop}"));
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut pairs: Vec<(String, String)> = [
        ("code", code.as_str()),
        ("host", admin.as_str()),
        ("shop", shop_host.as_str()),
        ("state", state),
        ("timestamp", &timestamp.to_string()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    pairs.insert(1, ("hmac".to_owned(), callback_hmac(&config.client_secret, &pairs)));
    let mut url = url::Url::parse(&to).expect("redirect_uri was verified to be an absolute URL");
    url.query_pairs_mut().extend_pairs(&pairs);
    let mut response = StatusCode::FOUND.into_response();
    let location = HeaderValue::from_str(url.as_str()).expect("a serialized URL is a valid header value");
    response.headers_mut().insert(header::LOCATION, location);
    response
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    let shop = match shop_of_host(&headers) {
        Ok(shop) => shop,
        Err(refused) => return *refused,
    };
    match exchange(&shared, &shop, &headers, &body) {
        Ok(answer) => json_answer(StatusCode::OK, &answer),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn exchange(shared: &Shared, shop: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| media_type(&String::from_utf8_lossy(v.as_bytes())).0);
    let params = if content_type.as_deref() == Some("application/json") {
        json_params(headers, body)?
    } else {
        crate::params::require_form_body(headers)?;
        Params::parse(body)
    };
    params.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let (Some(client_id), Some(secret)) = (params.get("client_id"), params.get("client_secret")) else {
        return Err(TokenError::invalid_request("send `client_id` and `client_secret` with the code"));
    };
    if client_id != config.client_id || secret != config.client_secret {
        return Err(TokenError::invalid_client("the client_id or client_secret is wrong"));
    }
    let Some(code) = params.get("code") else {
        return Err(TokenError::invalid_request("`code` is missing: send the code from the redirect"));
    };
    let mut store = lock(shared);
    if store.app.shopify.shop_of.get(code).is_some_and(|issuer| issuer != shop) {
        return Err(TokenError::invalid_grant("this code was issued by another shop"));
    }
    // The exchange names no redirect_uri: the code's own is supplied, so the standard redemption checks the rest
    // (single use, expiry, client).
    let Some(redirect_uri) = store.codes.get(code).map(|c| c.redirect_uri.clone()) else {
        return Err(TokenError::invalid_grant("the authorization code was not found or was already used"));
    };
    let presented = Params::from_pairs(vec![("code".into(), code.into()), ("redirect_uri".into(), redirect_uri)]);
    let mut issued = redeem_code(&mut store, &config, client_id, &presented, &Params::from_pairs(Vec::new()))?;
    never_expire(&mut store, &mut issued);
    store.app.shopify.shop_of.insert(issued.access_token.clone(), shop.to_owned());
    Ok(json!({"access_token": issued.access_token, "scope": issued.scopes.join(",")}))
}

async fn shop(State(shared): State<Shared>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let shop = match shop_of_host(&headers) {
        Ok(shop) => shop,
        Err(refused) => return *refused,
    };
    let invalid = |why: &str| {
        let errors = format!("[API] Invalid API key or access token (unrecognized login or wrong password): {why}");
        json_answer(StatusCode::UNAUTHORIZED, &json!({"errors": errors}))
    };
    let Some(token) = headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok()) else {
        return invalid("send the token in `X-Shopify-Access-Token`");
    };
    if let Err(why) = super::check_access_token(&shared, token) {
        return invalid(&why);
    }
    if lock(&shared).app.shopify.shop_of.get(token) != Some(&shop) {
        return invalid("the token belongs to another shop");
    }
    let well_formed =
        version.len() == 7 && version.as_bytes()[4] == b'-' && version.replace('-', "").parse::<u32>().is_ok();
    if !well_formed {
        return json_answer(StatusCode::NOT_FOUND, &json!({"errors": "Not Found"}));
    }
    let shop =
        json!({"id": 548380009, "name": "John Smith Test Store", "myshopify_domain": format!("{shop}.{DOMAIN}")});
    json_answer(StatusCode::OK, &json!({"shop": shop}))
}
