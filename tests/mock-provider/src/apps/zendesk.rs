//! Zendesk (https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-authentication-with-your-application/):
//! every account has a host of its own, `https://{subdomain}.zendesk.com`, and codes and tokens work only on the
//! account that issued them. Here the accounts are `{subdomain}.zendesk.test` (see [`DOMAIN`]), told apart by the
//! `Host` header: point those names at the mock (curl's `--resolve`, Keyway's `resolve` setting).
//!
//! - `GET /oauth/authorizations/new`: `response_type=code`, `client_id`, `redirect_uri`, `scope` (space-separated,
//!   `read write`), `state`, and a PKCE S256 challenge when the client uses one.
//! - `POST /oauth/tokens` (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/): a form
//!   or JSON with `grant_type`, `code` (or `refresh_token`), `client_id`, `client_secret`, `redirect_uri`,
//!   `code_verifier`, and `expires_in` (300 to 172,800 seconds) with an optional `refresh_token_expires_in`
//!   (604,800 to 7,776,000). Without `expires_in` the token never expires and the answer has neither
//!   `expires_in` nor a refresh token; with it, the answer has both, and each refresh replaces the refresh token.
//! - `GET /api/v2/users/me.json` (https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self):
//!   `Authorization: Bearer`.
//! - `DELETE /api/v2/oauth/tokens/current.json`
//!   (https://developer.zendesk.com/api-reference/ticketing/oauth/oauth_tokens/#revoke-token): revokes the bearer
//!   token itself; 204.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::{authenticate_as, authorization_token, begin_authorize, json_answer, json_params, mint_code, set_lifetime};
use crate::endpoints::authorize::pkce_challenge;
use crate::endpoints::token::{redeem_code, refresh, token_response};
use crate::params::{Params, media_type, parse_scopes};
use crate::server::Refusal;
use crate::store::{Issued, Shared, lock};
use crate::{ClientAuthRule, MockConfig, TokenError};

/// The domain whose subdomains are the accounts: `acme.zendesk.test` is the account `acme`.
pub const DOMAIN: &str = "zendesk.test";
/// The authorization page, on the account's host.
pub const AUTHORIZE_PATH: &str = "/oauth/authorizations/new";
/// The token endpoint: code exchange and refresh.
pub const TOKEN_PATH: &str = "/oauth/tokens";
/// "Show the currently authenticated user".
pub const ME_PATH: &str = "/api/v2/users/me.json";
/// "Revoke token": the one the request is made with.
pub const REVOKE_PATH: &str = "/api/v2/oauth/tokens/current.json";
/// The longest access token lifetime a client may ask for: two days.
pub const MAX_EXPIRES_IN: u64 = 172_800;

/// What Zendesk mode remembers beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// The account each code and token (access and refresh) was issued on.
    account_of: HashMap<String, String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(ME_PATH, get(me))
        .route(REVOKE_PATH, delete(revoke))
}

/// The account the request's `Host` names, or the 404 an unknown host gets.
fn account(headers: &HeaderMap) -> Result<String, String> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    match name.strip_suffix(DOMAIN).and_then(|rest| rest.strip_suffix('.')) {
        Some(subdomain) if !subdomain.is_empty() && !subdomain.contains('.') => Ok(subdomain.to_owned()),
        _ => Err(format!("there is no Zendesk account at `{host}`: call https://{{subdomain}}.{DOMAIN}")),
    }
}

fn no_account(message: String) -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

async fn authorize(State(shared): State<Shared>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let account = match account(&headers) {
        Ok(account) => account,
        Err(message) => return no_account(message),
    };
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("response_type") != Some("code") {
        return redirect.error("invalid_request", "send `response_type=code`");
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        Ok(_) => return redirect.error("invalid_scope", "`scope` is missing: ask for `read`, `write`, or both"),
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    let challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, challenge) {
        Ok(code) => {
            lock(&shared).app.zendesk.account_of.insert(code.clone(), account);
            redirect.answer(&[("code", &code)])
        }
        Err(denied) => *denied,
    }
}

/// A lifetime parameter: absent, or a whole number of seconds within `range`.
fn seconds(params: &Params, name: &str, range: std::ops::RangeInclusive<u64>) -> Result<Option<u64>, TokenError> {
    let Some(value) = params.get(name) else { return Ok(None) };
    match value.parse::<u64>() {
        Ok(seconds) if range.contains(&seconds) => Ok(Some(seconds)),
        _ => Err(TokenError::invalid_request(format!(
            "`{name}` is `{value}`: give a number of seconds from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = super::queued_answer(&shared) {
        return answer;
    }
    let account = match account(&headers) {
        Ok(account) => account,
        Err(message) => return no_account(message),
    };
    match exchange(&shared, &account, &headers, &body) {
        Ok(answer) => json_answer(StatusCode::OK, &answer),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn exchange(shared: &Shared, account: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| media_type(&String::from_utf8_lossy(v.as_bytes())).0);
    let params = if content_type.as_deref() == Some("application/json") {
        json_params(headers, body)?
    } else {
        crate::params::require_form_body(headers)?;
        Params::parse(body)
    };
    params.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let client_id = authenticate_as(ClientAuthRule::Post, &config, headers, &params)?;
    let expires_in = seconds(&params, "expires_in", 300..=MAX_EXPIRES_IN)?;
    seconds(&params, "refresh_token_expires_in", 604_800..=7_776_000)?;
    // Refresh tokens come only with expiring access tokens, and each refresh replaces the one it used.
    let config = MockConfig { issue_refresh_tokens: expires_in.is_some(), rotate_refresh_tokens: true, ..config };
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let presented = match params.get("grant_type") {
        Some("authorization_code") => params.get("code"),
        Some("refresh_token") => params.get("refresh_token"),
        None => return Err(TokenError::invalid_request("`grant_type` is missing")),
        Some(other) => {
            return Err(TokenError::unsupported_grant_type(format!("grant_type `{other}` is not supported")));
        }
    };
    if let Some(presented) = presented
        && store.app.zendesk.account_of.get(presented).is_some_and(|issuer| issuer != account)
    {
        return Err(TokenError::invalid_grant("this grant was issued by another Zendesk account"));
    }
    let mut issued = if params.get("grant_type") == Some("authorization_code") {
        redeem_code(&mut store, &config, &client_id, &params, &no_query)?
    } else {
        let mut issued = refresh(&mut store, &config, &client_id, &params, &no_query)?;
        if expires_in.is_none() {
            issued.refresh_token = None;
        }
        issued
    };
    set_lifetime(&mut store, &mut issued, expires_in);
    remember(&mut store.app.zendesk, account, &issued);
    let mut answer = token_response(&issued);
    answer["token_type"] = json!("bearer");
    if issued.refresh_token.is_some() {
        let lifetime = params.get("refresh_token_expires_in").and_then(|s| s.parse::<u64>().ok()).unwrap_or(2_592_000);
        answer["refresh_token_expires_in"] = json!(lifetime);
    }
    Ok(answer)
}

fn remember(memory: &mut Memory, account: &str, issued: &Issued) {
    for token in std::iter::once(&issued.access_token).chain(&issued.refresh_token) {
        memory.account_of.insert(token.clone(), account.to_owned());
    }
}

/// The bearer token of a request to the account's API, or the 401 (404 for an unknown host) to answer.
fn bearer(shared: &Shared, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let invalid = |why: String| {
        let body = json!({"error": "invalid_token", "error_description": why});
        Box::new(json_answer(StatusCode::UNAUTHORIZED, &body))
    };
    let account = account(headers).map_err(|message| Box::new(no_account(message)))?;
    let token = authorization_token(headers, &["Bearer"]).map_err(invalid)?;
    super::check_access_token(shared, &token).map_err(invalid)?;
    if lock(shared).app.zendesk.account_of.get(&token) != Some(&account) {
        return Err(invalid("the access token belongs to another Zendesk account".into()));
    }
    Ok(token)
}

async fn me(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = bearer(&shared, &headers) {
        return *refused;
    }
    let user = json!({"user": {"id": 35436, "name": "Johnny Agent", "email": "johnny@example.com", "role": "agent"}});
    json_answer(StatusCode::OK, &user)
}

async fn revoke(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    match bearer(&shared, &headers) {
        Ok(token) => {
            if let Some(access) = lock(&shared).access_tokens.get_mut(&token) {
                access.revoked = true;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(refused) => *refused,
    }
}
