//! TikTok Shop's Open API (https://partner.tiktokshop.com/docv2/, the pages "Authorization overview", "Get access
//! token", "Refresh access token", "Sign your API request" and "Get Authorized Shops"). The mock plays
//! `auth.tiktok-shops.com` and `open-api.tiktokglobalshop.com` at one address.
//!
//! - `GET /oauth/authorize`: `app_key` (the app's id) and `state`. There is no `redirect_uri`: the seller goes back
//!   to the redirect URL registered for the app in Partner Center (here the first of `MockConfig::redirect_uris`),
//!   with `code` and `state`.
//! - `GET /api/v2/token/get?app_key=…&app_secret=…&auth_code=…&grant_type=authorized_code`: note `auth_code` and
//!   `authorized_code`. `GET /api/v2/token/refresh?app_key=…&app_secret=…&refresh_token=…&grant_type=refresh_token`.
//!   Both answer `{"code": 0, "message": "success", "data": {"access_token", "access_token_expire_in",
//!   "refresh_token", "refresh_token_expire_in", "open_id", "seller_name", "seller_base_region", "user_type",
//!   "granted_scopes"}, "request_id"}`, where the two `*_expire_in` are **Unix times**, not durations; or a non-zero
//!   `code` with a `message`, still HTTP 200. A refresh answers the same refresh token with its own expiry.
//! - Every API call (`GET /authorization/202309/shops` here) carries `app_key`, `timestamp` (Unix seconds, within
//!   five minutes of the server's clock) and `sign` in the query, and the token in `x-tts-access-token`. `sign` is
//!   the hex HMAC-SHA256, keyed with the app secret, of `app_secret + path + {key}{value}… + body + app_secret`,
//!   the query parameters other than `sign` and `access_token` sorted by name, the body left out for
//!   `multipart/form-data`: see [`sign`].
//!
//! The documented rule is that a non-zero `code` is an error; the numbers below, and the API's HTTP statuses (401 for
//! a bad token, 400 for a bad signature), are this mock's.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{hmac_sha256_hex, json_answer, mint_code};
use crate::endpoints::authorize::Redirect;
use crate::endpoints::token::{redeem_code, refresh};
use crate::params::Params;
use crate::server::Refusal;
use crate::store::{Issued, Shared, lock, random_token};
use crate::{Consent, MockConfig, TokenError};

/// The seller's authorization page, on `https://auth.tiktok-shops.com`.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// The code exchange, on `https://auth.tiktok-shops.com`.
pub const TOKEN_PATH: &str = "/api/v2/token/get";
/// The refresh, a path of its own.
pub const REFRESH_PATH: &str = "/api/v2/token/refresh";
/// "Get Authorized Shops", on `https://open-api.tiktokglobalshop.com`.
pub const SHOPS_PATH: &str = "/authorization/202309/shops";
/// The seller the tokens belong to.
pub const OPEN_ID: &str = "7010736057180325637";
/// How far `timestamp` may be from the server's clock.
pub const TIMESTAMP_WINDOW: u64 = 300;
/// A missing or malformed parameter.
pub const PARAM_ERROR: u32 = 36004001;
/// The app key or secret, `auth_code` or `refresh_token` is wrong, expired or used.
pub const AUTH_ERROR: u32 = 36004004;
/// An API call without `app_key`, `timestamp` or `sign`, or with a stale `timestamp`.
pub const MISSING_SIGNATURE: u32 = 106001;
/// An API call whose `sign` is not the signature of the request.
pub const INVALID_SIGNATURE: u32 = 106002;
/// An API call without a valid `x-tts-access-token`.
pub const INVALID_TOKEN: u32 = 105002;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, get(token))
        .route(REFRESH_PATH, get(refresh_token))
        .route(SHOPS_PATH, get(shops).post(shops))
}

/// The signature of a call: `params` are the decoded query parameters, `path` the URL's path as sent, `body` the
/// body (empty for `multipart/form-data`).
pub fn sign(app_secret: &str, path: &str, params: &[(String, String)], body: &str) -> String {
    let mut signed: Vec<&(String, String)> =
        params.iter().filter(|(name, _)| name != "sign" && name != "access_token").collect();
    signed.sort();
    let joined: String = signed.iter().map(|(name, value)| format!("{name}{value}")).collect();
    hmac_sha256_hex(app_secret, &format!("{app_secret}{path}{joined}{body}{app_secret}"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn envelope(status: StatusCode, code: u32, message: &str, data: Value) -> Response {
    let body = json!({"code": code, "message": message, "data": data, "request_id": random_token("req-")});
    json_answer(status, &body)
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let page = |message: String| Refusal::Page(message).into_response();
    if let Some(name) = params.repeated() {
        return page(format!("`{name}` is sent more than once"));
    }
    match params.get("app_key") {
        None => return page("`app_key` is missing".into()),
        Some(key) if key != config.client_id => return page(format!("unknown app_key `{key}`")),
        Some(_) => {}
    }
    let Some(to) = config.redirect_uris.first().cloned() else {
        return page("the app has no redirect URL registered in Partner Center".into());
    };
    let Some(state) = params.get("state") else {
        return page("`state` is missing".into());
    };
    let redirect = Redirect { to: to.clone(), state: Some(state.to_owned()), issuer: None };
    if config.consent == Consent::Deny {
        return redirect.error("access_denied", "the seller did not authorize the app");
    }
    match mint_code(&shared, &config, &redirect, Vec::new(), None) {
        Ok(code) => {
            let mut url = url::Url::parse(&to).expect("a registered redirect URL is absolute");
            url.query_pairs_mut().append_pair("code", &code).append_pair("state", state);
            let mut response = StatusCode::FOUND.into_response();
            let location = HeaderValue::from_str(url.as_str()).expect("a serialized URL is a valid header value");
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(denied) => *denied,
    }
}

/// The app's credentials from the query, checked.
fn app_credentials(config: &MockConfig, params: &Params) -> Result<(), (u32, String)> {
    params.refuse_repeated().map_err(|e| (PARAM_ERROR, e.description.unwrap_or_default()))?;
    match (params.get("app_key"), params.get("app_secret")) {
        (Some(key), Some(secret)) if key == config.client_id && secret == config.client_secret => Ok(()),
        (Some(_), Some(_)) => Err((AUTH_ERROR, "the app_key or app_secret is wrong".into())),
        _ => Err((PARAM_ERROR, "send `app_key` and `app_secret` in the query".into())),
    }
}

fn answer(result: Result<Issued, (u32, String)>) -> Response {
    match result {
        Ok(issued) => {
            let now = unix_now();
            let data = json!({
                "access_token": issued.access_token,
                "access_token_expire_in": now + issued.expires_in.unwrap_or(604_800),
                "refresh_token": issued.refresh_token,
                "refresh_token_expire_in": now + 31_536_000,
                "open_id": OPEN_ID,
                "seller_name": "Keyway Test Shop",
                "seller_base_region": "GB",
                "user_type": 0,
                "granted_scopes": ["seller.authorization.info", "seller.shop.info"],
            });
            envelope(StatusCode::OK, 0, "success", data)
        }
        Err((code, message)) => envelope(StatusCode::OK, code, &message, json!({})),
    }
}

fn rejected(error: TokenError) -> (u32, String) {
    (AUTH_ERROR, error.description.unwrap_or(error.error))
}

async fn token(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let result = (|| {
        let config = lock(&shared).config.clone();
        app_credentials(&config, &params)?;
        if params.get("grant_type") != Some("authorized_code") {
            return Err((PARAM_ERROR, "send `grant_type=authorized_code`".into()));
        }
        let Some(code) = params.get("auth_code") else {
            return Err((PARAM_ERROR, "`auth_code` is missing: send the code from the redirect".into()));
        };
        let mut store = lock(&shared);
        // The exchange names no redirect URL: the code's own is supplied, so the standard redemption checks the
        // rest (single use, expiry, client).
        let Some(redirect_uri) = store.codes.get(code).map(|c| c.redirect_uri.clone()) else {
            return Err((AUTH_ERROR, "the auth_code is invalid".into()));
        };
        let presented = Params::from_pairs(vec![("code".into(), code.into()), ("redirect_uri".into(), redirect_uri)]);
        let no_query = Params::from_pairs(Vec::new());
        let config = MockConfig { issue_refresh_tokens: true, ..config };
        redeem_code(&mut store, &config, &config.client_id, &presented, &no_query).map_err(rejected)
    })();
    answer(result)
}

async fn refresh_token(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let result = (|| {
        let config = lock(&shared).config.clone();
        app_credentials(&config, &params)?;
        if params.get("grant_type") != Some("refresh_token") {
            return Err((PARAM_ERROR, "send `grant_type=refresh_token`".into()));
        }
        let no_query = Params::from_pairs(Vec::new());
        let kept = MockConfig { rotate_refresh_tokens: false, ..config };
        let mut issued = refresh(&mut lock(&shared), &kept, &kept.client_id, &params, &no_query).map_err(rejected)?;
        // The refresh token stays the same until its own expiry.
        issued.refresh_token = params.get("refresh_token").map(str::to_owned);
        Ok(issued)
    })();
    answer(result)
}

async fn shops(State(shared): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let config = lock(&shared).config.clone();
    let params: Vec<(String, String)> =
        uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let bad = |code: u32, message: String| envelope(StatusCode::BAD_REQUEST, code, &message, Value::Null);
    let (Some(key), Some(timestamp), Some(given)) = (get("app_key"), get("timestamp"), get("sign")) else {
        return bad(MISSING_SIGNATURE, "every call carries `app_key`, `timestamp` and `sign` in the query".into());
    };
    if key != config.client_id {
        return bad(MISSING_SIGNATURE, format!("unknown app_key `{key}`"));
    }
    match timestamp.parse::<u64>() {
        Ok(at) if at.abs_diff(unix_now()) <= TIMESTAMP_WINDOW => {}
        _ => return bad(MISSING_SIGNATURE, format!("timestamp `{timestamp}` is not within five minutes of now")),
    }
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("multipart/form-data"));
    let body = if multipart { String::new() } else { String::from_utf8_lossy(&body).into_owned() };
    if given != sign(&config.client_secret, uri.path(), &params, &body) {
        return bad(INVALID_SIGNATURE, "`sign` is not the signature of this request".into());
    }
    let Some(token) = headers.get("x-tts-access-token").and_then(|v| v.to_str().ok()) else {
        return envelope(StatusCode::UNAUTHORIZED, INVALID_TOKEN, "send `x-tts-access-token`", Value::Null);
    };
    if let Err(why) = super::check_access_token(&shared, token) {
        return envelope(StatusCode::UNAUTHORIZED, INVALID_TOKEN, &why, Value::Null);
    }
    let shop = json!({"cipher": "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3", "code": "CNGBCBA4LLU8", "id": OPEN_ID,
        "name": "Keyway Test Shop", "region": "GB", "seller_type": "CROSS_BORDER"});
    envelope(StatusCode::OK, 0, "Success", json!({"shops": [shop]}))
}
