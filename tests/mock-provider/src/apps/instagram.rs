//! Instagram API with Instagram Login
//! (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).
//!
//! - `GET /oauth/authorize` (on `www.instagram.com`): `client_id`, `redirect_uri`, `response_type=code`, `scope`
//!   comma-separated, `state`.
//! - `POST /oauth/access_token` (on `api.instagram.com`): a form with `client_id`, `client_secret`,
//!   `grant_type=authorization_code`, `redirect_uri`, `code`. The answer is a short-lived (one hour) token:
//!   `{"data": [{"access_token", "user_id", "permissions"}]}`, permissions comma-separated. Refusals are
//!   `{"error_type": "OAuthException", "code": 400, "error_message"}` with HTTP 400.
//! - `GET /access_token` (on `graph.instagram.com`), `grant_type=ig_exchange_token`, `client_secret`, and the
//!   short-lived `access_token`: a long-lived (60 days) token, `{"access_token", "token_type": "bearer",
//!   "expires_in"}`. There is no refresh token.
//! - `GET /refresh_access_token`, `grant_type=ig_refresh_token` and a long-lived `access_token`: another long-lived
//!   token (https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token). Instagram
//!   refreshes only tokens at least 24 hours old; this mock does not wait that long.
//! - `GET /me` and `GET /{version}/me` (https://developers.facebook.com/docs/instagram-platform/reference/me): the
//!   token as the `access_token` query parameter (or `Authorization: Bearer`). Graph API refusals are
//!   `{"error": {"message", "type": "OAuthException", "code", "fbtrace_id"}}` with HTTP 400.

use std::collections::HashSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{authenticate_as, begin_authorize, json_answer, mint_code, queued_answer, set_lifetime};
use crate::ClientAuthRule;
use crate::endpoints::token::redeem_code;
use crate::params::{Params, require_form_body};
use crate::store::{Shared, lock, random_token};

/// The authorization page, on `https://www.instagram.com`.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// The code exchange for a short-lived token, on `https://api.instagram.com`.
pub const TOKEN_PATH: &str = "/oauth/access_token";
/// The exchange of a short-lived token for a long-lived one, on `https://graph.instagram.com`.
pub const EXCHANGE_PATH: &str = "/access_token";
/// The refresh of a long-lived token, on `https://graph.instagram.com`.
pub const REFRESH_PATH: &str = "/refresh_access_token";
/// The authorizing professional account's Instagram user id.
pub const USER_ID: &str = "17841405793187218";
/// Its username.
pub const USERNAME: &str = "keyway.test";
/// A short-lived token's lifetime: one hour.
pub const SHORT_LIVED: u64 = 3_600;
/// A long-lived token's lifetime as Instagram answers it: about 60 days.
pub const LONG_LIVED: u64 = 5_183_944;

/// What Instagram mode remembers beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// Tokens from the code exchange, which only the exchange accepts in place of a long-lived one.
    short_lived: HashSet<String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(EXCHANGE_PATH, get(exchange))
        .route(REFRESH_PATH, get(refresh))
        .route("/me", get(me))
        .route("/{version}/me", get(versioned_me))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("response_type") != Some("code") {
        return redirect.error("invalid_request", "send `response_type=code`");
    }
    let Some(scope) = params.get("scope") else {
        return redirect.error("invalid_scope", "`scope` is missing: list the permissions, separated by commas");
    };
    let scopes: Vec<String> = scope.split(',').map(str::to_owned).collect();
    if scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return redirect.error("invalid_scope", &format!("scope `{scope}`: separate permissions with commas"));
    }
    match mint_code(&shared, &config, &redirect, scopes, None) {
        Ok(code) => redirect.answer(&[("code", &code)]),
        Err(denied) => *denied,
    }
}

/// The code exchange's refusal: `{"error_type", "code", "error_message"}`, HTTP 400.
fn oauth_exception(message: &str) -> Response {
    let body = json!({"error_type": "OAuthException", "code": 400, "error_message": message});
    json_answer(StatusCode::BAD_REQUEST, &body)
}

/// A Graph API refusal, HTTP 400: code 190 for a bad token, 100 for a bad parameter, 2500 for no token.
fn graph_error(code: u32, message: &str) -> Response {
    let body =
        json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": random_token("")}});
    json_answer(StatusCode::BAD_REQUEST, &body)
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    if require_form_body(&headers).is_err() {
        return oauth_exception("the parameters must be a form (application/x-www-form-urlencoded)");
    }
    let params = Params::parse(&body);
    let config = lock(&shared).config.clone();
    let client_id = match authenticate_as(ClientAuthRule::Post, &config, &headers, &params) {
        Ok(client_id) => client_id,
        Err(error) => return oauth_exception(&error.description.unwrap_or(error.error)),
    };
    if params.get("grant_type") != Some("authorization_code") {
        return oauth_exception("`grant_type` must be `authorization_code`");
    }
    let mut store = lock(&shared);
    let mut issued = match redeem_code(&mut store, &config, &client_id, &params, &Params::from_pairs(Vec::new())) {
        Ok(issued) => issued,
        Err(error) => return oauth_exception(&error.description.unwrap_or(error.error)),
    };
    set_lifetime(&mut store, &mut issued, Some(SHORT_LIVED));
    store.app.instagram.short_lived.insert(issued.access_token.clone());
    let body = json!({"data": [{
        "access_token": issued.access_token,
        "user_id": USER_ID,
        "permissions": issued.scopes.join(","),
    }]});
    json_answer(StatusCode::OK, &body)
}

/// The valid token named by `access_token` in the query, or the Graph API's refusal (code and message).
fn query_token(shared: &Shared, params: &Params) -> Result<String, (u32, String)> {
    let Some(token) = params.get("access_token") else {
        return Err((2500, "An active access token must be used to query information about the current user.".into()));
    };
    super::check_access_token(shared, token)
        .map_err(|why| (190, format!("Invalid OAuth access token - Cannot parse access token: {why}")))?;
    Ok(token.to_owned())
}

/// A long-lived token for the grant of `token`, answered as the exchange and refresh answer it.
fn long_lived(shared: &Shared, token: &str) -> Response {
    let mut store = lock(shared);
    let Some(current) = store.access_tokens.get(token) else {
        return graph_error(190, "Invalid OAuth access token");
    };
    let (client_id, grant, scopes) = (current.client_id.clone(), current.grant, current.scopes.clone());
    let mut issued = store.issue(&client_id, grant, scopes, false);
    set_lifetime(&mut store, &mut issued, Some(LONG_LIVED));
    json_answer(
        StatusCode::OK,
        &json!({"access_token": issued.access_token, "token_type": "bearer", "expires_in": LONG_LIVED}),
    )
}

async fn exchange(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    if params.get("grant_type") != Some("ig_exchange_token") {
        return graph_error(100, "`grant_type` must be `ig_exchange_token`");
    }
    let config = lock(&shared).config.clone();
    if params.get("client_secret") != Some(config.client_secret.as_str()) {
        return graph_error(100, "`client_secret` is missing or wrong: send the app's secret");
    }
    let token = match query_token(&shared, &params) {
        Ok(token) => token,
        Err((code, message)) => return graph_error(code, &message),
    };
    if !lock(&shared).app.instagram.short_lived.contains(&token) {
        return graph_error(190, "only a short-lived token can be exchanged for a long-lived one");
    }
    long_lived(&shared, &token)
}

async fn refresh(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    if params.get("grant_type") != Some("ig_refresh_token") {
        return graph_error(100, "`grant_type` must be `ig_refresh_token`");
    }
    let token = match query_token(&shared, &params) {
        Ok(token) => token,
        Err((code, message)) => return graph_error(code, &message),
    };
    if lock(&shared).app.instagram.short_lived.contains(&token) {
        return graph_error(190, "a short-lived token cannot be refreshed: exchange it for a long-lived one first");
    }
    long_lived(&shared, &token)
}

async fn versioned_me(
    State(shared): State<Shared>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let known = version.strip_prefix('v').and_then(|v| v.split_once('.')).is_some_and(|(major, minor)| {
        !major.is_empty() && !minor.is_empty() && (major.to_owned() + minor).bytes().all(|b| b.is_ascii_digit())
    });
    if !known {
        return graph_error(100, &format!("Unknown path components: /{version}/me (a version is written `v22.0`)"));
    }
    me(State(shared), RawQuery(query), headers).await
}

async fn me(State(shared): State<Shared>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let mut params = Params::from_query(query.as_deref());
    if params.get("access_token").is_none()
        && let Some(token) =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        params = Params::from_pairs(vec![("access_token".into(), token.trim().to_owned())]);
    }
    if let Err((code, message)) = query_token(&shared, &params) {
        return graph_error(code, &message);
    }
    let body: Value = json!({"user_id": USER_ID, "username": USERNAME, "id": USER_ID});
    json_answer(StatusCode::OK, &body)
}
