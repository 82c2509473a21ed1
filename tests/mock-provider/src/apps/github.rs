//! GitHub, as an OAuth app (or a GitHub App with expiring user tokens) sees it, on a GitHub Enterprise Server
//! layout: the OAuth endpoints on the site, the REST API below `/api/v3`
//! (https://docs.github.com/en/enterprise-server@latest/rest/quickstart).
//!
//! - `GET /login/oauth/authorize` (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
//!   `client_id`, `redirect_uri`, a space-separated `scope`, `state`, and optionally a PKCE S256 challenge.
//! - `POST /login/oauth/access_token`: `client_id`, `client_secret`, `code`, `redirect_uri` (optional; when sent it
//!   must match) and `code_verifier` as parameters. The answer is form-encoded,
//!   `access_token=...&scope=repo%2Cgist&token_type=bearer`, unless the request sends `Accept: application/json`.
//!   The granted `scope` is comma-separated. Errors come with HTTP 200: `incorrect_client_credentials`,
//!   `redirect_uri_mismatch`, `bad_verification_code`
//!   (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
//!   An OAuth app's token has no `expires_in` and no refresh token. With `MockConfig::issue_refresh_tokens`, the
//!   provider plays a GitHub App with expiring user tokens instead
//!   (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens):
//!   `expires_in`, a `refresh_token` that rotates on each `grant_type=refresh_token`, and `bad_refresh_token`.
//! - `GET /api/v3/user` (https://docs.github.com/en/rest/users/users#get-the-authenticated-user): `Authorization:
//!   Bearer` (or `token`) and a `User-Agent`
//!   (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
//! - `DELETE /api/v3/applications/{client_id}/grant`
//!   (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization): Basic client
//!   credentials and JSON `{"access_token"}`; revokes the grant and every token of it; 204.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

use super::{
    authenticate_as, authorization_token, begin_authorize, check_access_token, json_answer, json_params, mint_code,
    never_expire, queued_answer,
};
use crate::endpoints::authorize::pkce_challenge;
use crate::endpoints::token::{redeem_code, refresh, require_json_accepted};
use crate::params::{Params, media_type, parse_scopes};
use crate::store::{Issued, Shared, lock};
use crate::{ClientAuthRule, MockConfig};

/// The authorization endpoint, on the site (`https://github.com`, or a GitHub Enterprise Server).
pub const AUTHORIZE_PATH: &str = "/login/oauth/authorize";
/// The token endpoint: code exchange, and refresh for GitHub Apps.
pub const TOKEN_PATH: &str = "/login/oauth/access_token";
/// Where a GitHub Enterprise Server serves the REST API (`https://api.github.com` on github.com).
pub const API_PREFIX: &str = "/api/v3";
/// "Get the authenticated user", below [`API_PREFIX`].
pub const USER_PATH: &str = "/api/v3/user";
/// The authenticated user's login.
pub const LOGIN: &str = "octocat";
/// How long a GitHub App's refresh token lives, in seconds: six months.
const REFRESH_TOKEN_EXPIRES_IN: u64 = 15_897_600;
/// Where GitHub documents its token errors.
const ERRORS_DOC: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(USER_PATH, get(user))
        .route("/api/v3/applications/{client_id}/grant", delete(delete_grant))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(scopes) => scopes,
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    let challenge = match pkce_challenge(&params, config.require_pkce) {
        Ok(challenge) => challenge,
        Err(message) => return redirect.error("invalid_request", &message),
    };
    match mint_code(&shared, &config, &redirect, scopes, challenge) {
        Ok(code) => redirect.answer(&[("code", &code)]),
        Err(denied) => *denied,
    }
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    // Success or error, the status is 200; the format follows `Accept`.
    let answer = exchange(&shared, &headers, &body).unwrap_or_else(|error| error);
    if require_json_accepted(&headers).is_ok() { json_answer(StatusCode::OK, &answer) } else { form_answer(&answer) }
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, Value> {
    let config = lock(shared).config.clone();
    let mut pairs = read_params(headers, body);
    let params = Params::from_pairs(pairs.clone());
    authenticate_as(ClientAuthRule::Post, &config, headers, &params).map_err(|e| {
        error(
            "incorrect_client_credentials",
            e.description.as_deref().unwrap_or_default(),
            "#incorrect-client-credentials",
        )
    })?;
    let client_id = config.client_id.clone();
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let mut issued = match params.get("grant_type") {
        None | Some("authorization_code") => {
            let bad_code = |why: &str| error("bad_verification_code", why, "#bad-verification-code");
            let code = params.get("code").ok_or_else(|| bad_code("The code passed is incorrect or expired."))?;
            let issued_for = store.codes.get(code).map(|c| c.redirect_uri.clone());
            let Some(issued_for) = issued_for else {
                return Err(bad_code("The code passed is incorrect or expired."));
            };
            match params.get("redirect_uri") {
                // Optional here; when left out, the authorization request's is meant.
                None => pairs.push(("redirect_uri".into(), issued_for)),
                Some(sent) if sent != issued_for => {
                    return Err(error(
                        "redirect_uri_mismatch",
                        "The redirect_uri MUST match the registered callback URL for this application.",
                        "#redirect-uri-mismatch",
                    ));
                }
                Some(_) => {}
            }
            let params = Params::from_pairs(pairs);
            redeem_code(&mut store, &config, &client_id, &params, &no_query)
                .map_err(|e| bad_code(e.description.as_deref().unwrap_or("The code passed is incorrect or expired.")))?
        }
        Some("refresh_token") if config.issue_refresh_tokens => {
            // A GitHub App's refresh token is single-use: each refresh returns a new one.
            let rotating = MockConfig { rotate_refresh_tokens: true, ..config.clone() };
            refresh(&mut store, &rotating, &client_id, &params, &no_query).map_err(|e| {
                let why = e.description.unwrap_or_default();
                error("bad_refresh_token", &format!("The refresh token passed is incorrect or expired: {why}"), "")
            })?
        }
        Some(other) => {
            let why = format!("grant_type `{other}` is not supported by this app");
            return Err(error("unsupported_grant_type", &why, ""));
        }
    };
    if !config.issue_refresh_tokens {
        // An OAuth app's tokens do not expire.
        never_expire(&mut store, &mut issued);
    }
    Ok(token_answer(&issued))
}

/// The token request's parameters: a form body (what the docs show), or a JSON one.
fn read_params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| media_type(&String::from_utf8_lossy(v.as_bytes())).0);
    if content_type.as_deref() == Some("application/json") {
        let Ok(params) = json_params(headers, body) else { return Vec::new() };
        return ["client_id", "client_secret", "code", "redirect_uri", "code_verifier", "grant_type", "refresh_token"]
            .iter()
            .filter_map(|name| params.get(name).map(|v| (name.to_string(), v.to_string())))
            .collect();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The documented answers: `access_token`, `scope` (comma-separated), `token_type`; a GitHub App adds
/// `expires_in`, `refresh_token` and `refresh_token_expires_in`.
fn token_answer(issued: &Issued) -> Value {
    let mut answer = json!({
        "access_token": issued.access_token,
        "scope": issued.scopes.join(","),
        "token_type": "bearer",
    });
    if let Some(expires_in) = issued.expires_in {
        answer["expires_in"] = json!(expires_in);
    }
    if let Some(refresh_token) = &issued.refresh_token {
        answer["refresh_token"] = json!(refresh_token);
        answer["refresh_token_expires_in"] = json!(REFRESH_TOKEN_EXPIRES_IN);
    }
    answer
}

/// A documented token error, answered with HTTP 200.
fn error(code: &str, description: &str, anchor: &str) -> Value {
    json!({"error": code, "error_description": description, "error_uri": format!("{ERRORS_DOC}/{anchor}")})
}

/// GitHub's default answer format: the fields form-encoded.
fn form_answer(answer: &Value) -> Response {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in answer.as_object().into_iter().flat_map(Map::iter) {
        match value {
            Value::String(text) => form.append_pair(name, text),
            other => form.append_pair(name, &other.to_string()),
        };
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")], form.finish())
        .into_response()
}

/// The REST API's refusal when there is no `User-Agent`, if there is none.
fn missing_user_agent(headers: &HeaderMap) -> Option<Response> {
    if headers.contains_key(header::USER_AGENT) {
        return None;
    }
    let message = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header \
                   (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).";
    Some((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain")], message).into_response())
}

/// A REST API error: `{"message", "documentation_url", "status"}`.
fn api_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    json_answer(status, &body)
}

async fn user(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = missing_user_agent(&headers) {
        return refused;
    }
    let token = match authorization_token(&headers, &["Bearer", "token"]) {
        Ok(token) => token,
        Err(_) if !headers.contains_key(header::AUTHORIZATION) => {
            return api_error(StatusCode::UNAUTHORIZED, "Requires authentication");
        }
        Err(why) => return api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}")),
    };
    let scopes = match check_access_token(&shared, &token) {
        Ok(scopes) => scopes,
        Err(why) => return api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}")),
    };
    // https://docs.github.com/en/rest/users/users#get-the-authenticated-user
    let body = json!({"login": LOGIN, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "monalisa octocat"});
    let mut response = json_answer(StatusCode::OK, &body);
    if let Ok(value) = HeaderValue::from_str(&scopes.join(", ")) {
        response.headers_mut().insert("x-oauth-scopes", value);
    }
    response
}

async fn delete_grant(
    State(shared): State<Shared>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = missing_user_agent(&headers) {
        return refused;
    }
    let config = lock(&shared).config.clone();
    let none = Params::from_pairs(Vec::new());
    match authenticate_as(ClientAuthRule::Basic, &config, &headers, &none) {
        Ok(id) if id == client_id => {}
        Ok(_) => return api_error(StatusCode::NOT_FOUND, "Not Found"),
        Err(e) => {
            let why = e.description.unwrap_or_default();
            return api_error(StatusCode::UNAUTHORIZED, &format!("Bad credentials: {why}"));
        }
    }
    let token = json_params(&headers, &body).ok().and_then(|p| p.get("access_token").map(str::to_owned));
    let Some(token) = token else {
        return api_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request.\n\n\"access_token\" wasn't supplied.");
    };
    let mut store = lock(&shared);
    let Some(grant) = store.access_tokens.get(&token).filter(|t| t.client_id == client_id).map(|t| t.grant) else {
        return api_error(StatusCode::NOT_FOUND, "Not Found");
    };
    store.revoke_grant(grant);
    StatusCode::NO_CONTENT.into_response()
}
