//! Atlassian (Jira Cloud) OAuth 2.0 (3LO) apps (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/).
//! The mock plays `auth.atlassian.com` and `api.atlassian.com` at one address.
//!
//! - `GET /authorize` (on `auth.atlassian.com`): `audience=api.atlassian.com`, `client_id`, `scope`
//!   (space-separated, e.g. `read:jira-work read:jira-user offline_access`), `redirect_uri`, `state`,
//!   `response_type=code` and `prompt=consent`, each documented as required. The page lists no PKCE parameters.
//! - `POST /oauth/token`: a JSON body, `{"grant_type": "authorization_code", "client_id", "client_secret", "code",
//!   "redirect_uri"}`, or for a refresh `{"grant_type": "refresh_token", "client_id", "client_secret",
//!   "refresh_token"}`. A refresh token is issued only when `offline_access` was granted; refresh tokens rotate, a
//!   new one on every refresh (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/#use-a-refresh-token-to-get-another-access-token-and-refresh-token-pair).
//!   Atlassian tolerates reuse for a short interval; this mock retires the old one at once. A refused grant is
//!   `403 {"error": "invalid_grant", "error_description"}`.
//! - `GET /oauth/token/accessible-resources` (on `api.atlassian.com`), `Authorization: Bearer`: the sites the token
//!   may reach, `[{"id": <cloud id>, "name", "url", "scopes", "avatarUrl"}]`.
//! - `GET /ex/jira/{cloudid}/rest/api/3/myself`: the Jira REST API through `api.atlassian.com`, under a cloud id
//!   from `accessible-resources` (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/);
//!   another cloud id is a 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    authenticate_as, authorization_token, begin_authorize, json_answer, json_params, mint_code, queued_answer,
};
use crate::endpoints::token::{redeem_code, refresh, token_response};
use crate::params::{Params, parse_scopes};
use crate::server::Refusal;
use crate::store::{Shared, lock};
use crate::{ClientAuthRule, MockConfig, TokenError};

/// The authorization page, on `https://auth.atlassian.com`.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// The token endpoint: code exchange and refresh.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The sites a token may reach, on `https://api.atlassian.com`.
pub const RESOURCES_PATH: &str = "/oauth/token/accessible-resources";
/// The only audience a Jira app's authorization may name.
pub const AUDIENCE: &str = "api.atlassian.com";
/// The cloud id of the one Jira site the mock's user grants.
pub const CLOUD_ID: &str = "1324a887-45db-1bf4-1e99-ef0ff456d421";
/// That site's URL.
pub const SITE_URL: &str = "https://your-domain.atlassian.net";
/// "Get current user", below the site's API base `/ex/jira/{cloudid}`.
pub const MYSELF_PATH: &str = "/rest/api/3/myself";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(RESOURCES_PATH, get(resources))
        .route(&format!("/ex/jira/{{cloudid}}{MYSELF_PATH}"), get(myself))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    if params.get("audience") != Some(AUDIENCE) {
        return redirect.error("invalid_request", &format!("send `audience={AUDIENCE}`: the API the token is for"));
    }
    if params.get("prompt") != Some("consent") {
        return redirect.error("invalid_request", "send `prompt=consent`, so the user sees what the app asks for");
    }
    if params.get("response_type") != Some("code") {
        return redirect.error("unsupported_response_type", "send `response_type=code`");
    }
    if redirect.state.is_none() {
        return redirect.error("invalid_request", "`state` is missing: 3LO apps must send one");
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) if !scopes.is_empty() => scopes,
        Ok(_) => return redirect.error("invalid_scope", "`scope` is missing: list the scopes, separated by spaces"),
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, None) {
        Ok(code) => redirect.answer(&[("code", &code)]),
        Err(denied) => *denied,
    }
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    match exchange(&shared, &headers, &body) {
        Ok(answer) => json_answer(StatusCode::OK, &answer),
        // Atlassian answers a refused grant with 403.
        Err(error) if error.error == "invalid_grant" => Refusal::OAuth(error.with_status(403)).into_response(),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    let params = json_params(headers, body)?;
    params.refuse_repeated()?;
    let config = lock(shared).config.clone();
    let client_id = authenticate_as(ClientAuthRule::Post, &config, headers, &params)?;
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let issued = match params.get("grant_type") {
        Some("authorization_code") => {
            let mut issued = redeem_code(&mut store, &config, &client_id, &params, &no_query)?;
            if !issued.scopes.iter().any(|s| s == "offline_access") {
                issued.refresh_token = None;
            }
            issued
        }
        Some("refresh_token") => {
            let rotating = MockConfig { rotate_refresh_tokens: true, ..config };
            refresh(&mut store, &rotating, &client_id, &params, &no_query)?
        }
        None => return Err(TokenError::invalid_request("`grant_type` is missing")),
        Some(other) => {
            return Err(TokenError::unsupported_grant_type(format!("grant_type `{other}` is not supported")));
        }
    };
    Ok(token_response(&issued))
}

/// The scopes of the request's bearer token, or the 401 to answer.
fn bearer(shared: &Shared, headers: &HeaderMap) -> Result<Vec<String>, Box<Response>> {
    let unauthorized =
        |message: String| Box::new(json_answer(StatusCode::UNAUTHORIZED, &json!({"code": 401, "message": message})));
    let token = authorization_token(headers, &["Bearer"]).map_err(unauthorized)?;
    super::check_access_token(shared, &token).map_err(unauthorized)
}

async fn resources(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let scopes = match bearer(&shared, &headers) {
        Ok(scopes) => scopes,
        Err(refused) => return *refused,
    };
    let scopes: Vec<String> = scopes.into_iter().filter(|s| s != "offline_access").collect();
    let site = json!({
        "id": CLOUD_ID,
        "name": "your-domain",
        "url": SITE_URL,
        "scopes": scopes,
        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png",
    });
    json_answer(StatusCode::OK, &json!([site]))
}

async fn myself(State(shared): State<Shared>, Path(cloud_id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(refused) = bearer(&shared, &headers) {
        return *refused;
    }
    if cloud_id != CLOUD_ID {
        let message = format!("no site with cloud id `{cloud_id}` is accessible: take one from accessible-resources");
        return json_answer(StatusCode::NOT_FOUND, &json!({"code": 404, "message": message}));
    }
    let me = json!({
        "accountId": "5b10a2844c20165700ede21g",
        "accountType": "atlassian",
        "displayName": "Mia Krystof",
        "active": true,
    });
    json_answer(StatusCode::OK, &me)
}
