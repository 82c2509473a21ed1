//! TikTok API for Business, the accounts API (https://business-api.tiktok.com/portal/docs, "TikTok account
//! holders": "Authorization", "Get an access token", "Refresh an access token", "Revoke an access token",
//! "Get profile data").
//!
//! - `GET /v2/auth/authorize/` (on `www.tiktok.com`): `client_key` (the app id, where others say `client_id`),
//!   `scope` comma-separated, `response_type=code`, `redirect_uri`, `state`. The redirect back carries `code`,
//!   `scopes` and `state`.
//! - `POST /open_api/v1.3/tt_user/oauth2/token/`: JSON `{client_id, client_secret, grant_type:
//!   "authorization_code", auth_code, redirect_uri}`; note `auth_code`, not `code`.
//! - `POST /open_api/v1.3/tt_user/oauth2/refresh_token/`, a path of its own: JSON `{client_id, client_secret,
//!   grant_type: "refresh_token", refresh_token}`.
//! - `POST /open_api/v1.3/tt_user/oauth2/revoke/`: JSON `{client_id, client_secret, access_token}`.
//! - `GET /open_api/v1.3/business/get/?business_id=<open_id>`: the token in an `Access-Token` header.
//!
//! Every answer is HTTP 200 in an envelope `{"code", "message", "request_id", "data"}`: `code` 0 with the result in
//! `data` (the tokens: `access_token`, `expires_in`, `refresh_token`, `refresh_token_expires_in`, `open_id`,
//! `scope` comma-separated, `token_type`), or a non-zero `code` and a `message` saying what is wrong. The documented
//! rule is only that a non-zero `code` is an error; the numbers below are this mock's.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{begin_authorize, json_answer, json_params, mint_code, queued_answer};
use crate::endpoints::revoke::revoke_in_store;
use crate::endpoints::token::{redeem_code, refresh};
use crate::params::Params;
use crate::store::{Issued, Shared, lock, random_token};
use crate::{MockConfig, TokenError};

/// The authorization page, on `https://www.tiktok.com`.
pub const AUTHORIZE_PATH: &str = "/v2/auth/authorize/";
/// The code exchange, on `https://business-api.tiktok.com`.
pub const TOKEN_PATH: &str = "/open_api/v1.3/tt_user/oauth2/token/";
/// The refresh, a path of its own.
pub const REFRESH_PATH: &str = "/open_api/v1.3/tt_user/oauth2/refresh_token/";
/// The revocation.
pub const REVOKE_PATH: &str = "/open_api/v1.3/tt_user/oauth2/revoke/";
/// "Get profile data of a TikTok account".
pub const BUSINESS_PATH: &str = "/open_api/v1.3/business/get/";
/// The authorizing TikTok account: the tokens' `open_id`, the API's `business_id`.
pub const OPEN_ID: &str = "-000zKa7rZbkHhHgdQiOTf7Q8rLZOmSlUkR9";
/// A request the endpoint cannot take: a missing or malformed parameter, or a body that is not JSON.
pub const PARAM_ERROR: u32 = 40001;
/// The client credentials, `auth_code` or `refresh_token` are wrong, expired or used.
pub const AUTH_ERROR: u32 = 40002;
/// An API call without an `Access-Token` header.
pub const TOKEN_MISSING: u32 = 40104;
/// An API call whose `Access-Token` is unknown, expired or revoked.
pub const TOKEN_INVALID: u32 = 40105;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(REFRESH_PATH, post(refresh_token))
        .route(REVOKE_PATH, post(revoke))
        .route(BUSINESS_PATH, get(business))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_key") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("response_type") != Some("code") {
        return redirect.error("invalid_request", "send `response_type=code`");
    }
    let Some(scope) = params.get("scope") else {
        return redirect.error("invalid_scope", "`scope` is missing: list the scopes, separated by commas");
    };
    let scopes: Vec<String> = scope.split(',').map(str::to_owned).collect();
    if scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return redirect.error("invalid_scope", &format!("scope `{scope}`: separate scopes with commas, not spaces"));
    }
    match mint_code(&shared, &config, &redirect, scopes, None) {
        Ok(code) => redirect.answer(&[("code", &code), ("scopes", scope)]),
        Err(denied) => *denied,
    }
}

/// The envelope every answer comes in, with HTTP 200.
fn envelope(code: u32, message: &str, data: Value) -> Response {
    let body = json!({"code": code, "message": message, "request_id": random_token(""), "data": data});
    json_answer(StatusCode::OK, &body)
}

/// A refusal: a non-zero code and what is wrong.
fn refused(code: u32, message: &str) -> Response {
    envelope(code, message, json!({}))
}

/// The JSON body, with the client's credentials checked: `client_id` and `client_secret` in it. The error is the
/// code and message to refuse with.
fn client_request(config: &MockConfig, headers: &HeaderMap, body: &[u8]) -> Result<Params, (u32, String)> {
    let params = json_params(headers, body).map_err(|e| (PARAM_ERROR, description(e)))?;
    if params.get("client_id") != Some(config.client_id.as_str()) {
        return Err((AUTH_ERROR, "`client_id` is missing or not this app's id".into()));
    }
    if params.get("client_secret") != Some(config.client_secret.as_str()) {
        return Err((AUTH_ERROR, "`client_secret` is missing or wrong".into()));
    }
    Ok(params)
}

fn description(error: TokenError) -> String {
    error.description.unwrap_or(error.error)
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    let config = lock(&shared).config.clone();
    let params = match client_request(&config, &headers, &body) {
        Ok(params) => params,
        Err((code, message)) => return refused(code, &message),
    };
    match params.get("grant_type") {
        Some("authorization_code") => {}
        Some("refresh_token") => return refused(PARAM_ERROR, &format!("refresh at {REFRESH_PATH}, not here")),
        _ => return refused(PARAM_ERROR, "`grant_type` must be `authorization_code`"),
    }
    let Some(auth_code) = params.get("auth_code") else {
        let hint = if params.get("code").is_some() { " (not `code`)" } else { "" };
        return refused(PARAM_ERROR, &format!("`auth_code`{hint} is missing: send the code from the redirect"));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return refused(PARAM_ERROR, "`redirect_uri` is missing: send the authorization request's");
    };
    let standard = Params::from_pairs(vec![
        ("code".into(), auth_code.to_owned()),
        ("redirect_uri".into(), redirect_uri.to_owned()),
    ]);
    let issued = redeem_code(&mut lock(&shared), &config, &config.client_id, &standard, &Params::from_pairs(vec![]));
    match issued {
        Ok(issued) => envelope(0, "OK", token_data(&issued, None)),
        Err(error) => refused(AUTH_ERROR, &description(error)),
    }
}

async fn refresh_token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    let config = lock(&shared).config.clone();
    let params = match client_request(&config, &headers, &body) {
        Ok(params) => params,
        Err((code, message)) => return refused(code, &message),
    };
    if params.get("grant_type") != Some("refresh_token") {
        return refused(PARAM_ERROR, "`grant_type` must be `refresh_token`");
    }
    let Some(presented) = params.get("refresh_token") else {
        return refused(PARAM_ERROR, "`refresh_token` is missing");
    };
    let issued = refresh(&mut lock(&shared), &config, &config.client_id, &params, &Params::from_pairs(vec![]));
    match issued {
        // Without rotation the same refresh token comes back.
        Ok(issued) => envelope(0, "OK", token_data(&issued, Some(presented))),
        Err(error) => refused(AUTH_ERROR, &description(error)),
    }
}

/// The tokens, as `data`.
fn token_data(issued: &Issued, kept_refresh_token: Option<&str>) -> Value {
    let mut data = json!({
        "open_id": OPEN_ID,
        "scope": issued.scopes.join(","),
        "access_token": issued.access_token,
        "token_type": "Bearer",
    });
    if let Some(expires_in) = issued.expires_in {
        data["expires_in"] = json!(expires_in);
    }
    if let Some(refresh_token) = issued.refresh_token.as_deref().or(kept_refresh_token) {
        data["refresh_token"] = json!(refresh_token);
        data["refresh_token_expires_in"] = json!(31_536_000);
    }
    data
}

async fn revoke(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let config = lock(&shared).config.clone();
    let params = match client_request(&config, &headers, &body) {
        Ok(params) => params,
        Err((code, message)) => return refused(code, &message),
    };
    let Some(token) = params.get("access_token") else {
        return refused(PARAM_ERROR, "`access_token` is missing: send the access token to revoke");
    };
    match revoke_in_store(&mut lock(&shared), &config.client_id, token) {
        Ok(()) => envelope(0, "OK", json!({})),
        Err(error) => refused(AUTH_ERROR, &description(error)),
    }
}

async fn business(State(shared): State<Shared>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let Some(token) = headers.get("access-token").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()) else {
        return refused(TOKEN_MISSING, "The `Access-Token` header is missing (an Authorization header is not read)");
    };
    if let Err(why) = super::check_access_token(&shared, &token) {
        return refused(TOKEN_INVALID, &format!("The access token is invalid: {why}"));
    }
    let params = Params::from_query(query.as_deref());
    if params.get("business_id") != Some(OPEN_ID) {
        return refused(PARAM_ERROR, "`business_id` must be the account's `open_id`");
    }
    envelope(0, "OK", json!({"username": "keyway.test", "display_name": "Keyway Test", "followers_count": 42}))
}
