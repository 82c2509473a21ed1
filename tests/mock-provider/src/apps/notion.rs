//! Notion, as a public integration sees it (https://developers.notion.com/docs/authorization).
//!
//! - `GET /v1/oauth/authorize`: `client_id`, `redirect_uri`, `response_type=code` and `owner=user` ("always
//!   `user`"). `state` is optional and echoed. There are no scopes (capabilities are set on the integration's
//!   page) and no PKCE.
//! - `POST /v1/oauth/token` (https://developers.notion.com/reference/create-a-token): HTTP Basic client
//!   authentication and a JSON body `{"grant_type": "authorization_code", "code", "redirect_uri"}`; or, to refresh
//!   (https://developers.notion.com/reference/refresh-a-token), `{"grant_type": "refresh_token", "refresh_token"}`.
//!   The answer has no `expires_in`, since access tokens do not expire, and carries `bot_id`, `workspace_id`,
//!   `workspace_name`, `workspace_icon`, `owner` and `duplicated_template_id`. Errors are RFC 6749 §5.2 JSON.
//! - `POST /v1/oauth/revoke` (https://developers.notion.com/reference/revoke-token): Basic, JSON `{"token"}`.
//! - `GET /v1/users/me` (https://developers.notion.com/reference/get-self): `Authorization: Bearer` and a
//!   `Notion-Version` header (https://developers.notion.com/reference/versioning); refusals are Notion error
//!   objects (https://developers.notion.com/reference/status-codes).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    authenticate_as, authorization_token, begin_authorize, check_access_token, json_answer, json_params, mint_code,
    never_expire, queued_answer,
};
use crate::endpoints::revoke::revoke_in_store;
use crate::endpoints::token::{redeem_code, refresh};
use crate::params::Params;
use crate::server::Refusal;
use crate::store::{Issued, Shared, lock, random_token};
use crate::{ClientAuthRule, TokenError};

/// The authorization endpoint, on `https://api.notion.com`.
pub const AUTHORIZE_PATH: &str = "/v1/oauth/authorize";
/// The token endpoint: code exchange and refresh.
pub const TOKEN_PATH: &str = "/v1/oauth/token";
/// The revocation endpoint.
pub const REVOKE_PATH: &str = "/v1/oauth/revoke";
/// "Retrieve your token's bot user".
pub const ME_PATH: &str = "/v1/users/me";
/// The published `Notion-Version` values (https://developers.notion.com/reference/versioning).
pub const VERSIONS: &[&str] = &["2021-05-13", "2021-08-16", "2022-02-22", "2022-06-28", "2025-09-03"];
/// The workspace every grant is for; the token answer's `workspace_id`.
pub const WORKSPACE_ID: &str = "8fe1c8c7-1b5c-4e8a-9e71-6b5a0c0f2d11";
/// The integration's bot in that workspace; the token answer's `bot_id`.
pub const BOT_ID: &str = "b3414d65-9224-4c5c-8e5b-3b5e4a1e2f1a";
/// The user who installed the integration (`owner=user`).
const USER_ID: &str = "5a6b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
/// The workspace's name in the token answer and the bot user.
const WORKSPACE_NAME: &str = "Ada's Notion Workspace";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(REVOKE_PATH, post(revoke))
        .route(ME_PATH, get(me))
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    match params.get("response_type") {
        Some("code") => {}
        None => return redirect.error("invalid_request", "`response_type` is missing: send `response_type=code`"),
        Some(other) => {
            return redirect.error(
                "unsupported_response_type",
                &format!("response_type `{other}` is not supported: send `response_type=code`"),
            );
        }
    }
    match params.get("owner") {
        Some("user") => {}
        None => return redirect.error("invalid_request", "`owner` is missing: Notion requires `owner=user`"),
        Some(other) => {
            return redirect
                .error("invalid_request", &format!("owner `{other}` is not accepted: Notion requires `owner=user`"));
        }
    }
    match mint_code(&shared, &config, &redirect, Vec::new(), None) {
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
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, TokenError> {
    let config = lock(shared).config.clone();
    let params = json_params(headers, body)?;
    let client_id = authenticate_as(ClientAuthRule::Basic, &config, headers, &params)?;
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    let mut issued = match params.get("grant_type") {
        Some("authorization_code") => redeem_code(&mut store, &config, &client_id, &params, &no_query)?,
        Some("refresh_token") => refresh(&mut store, &config, &client_id, &params, &no_query)?,
        None => {
            return Err(TokenError::invalid_request(
                "`grant_type` is missing: send `authorization_code` or `refresh_token`",
            ));
        }
        Some(other) => {
            return Err(TokenError::unsupported_grant_type(format!(
                "grant_type `{other}` is not supported: use `authorization_code` or `refresh_token`"
            )));
        }
    };
    never_expire(&mut store, &mut issued);
    Ok(token_answer(&issued))
}

/// The example answer of https://developers.notion.com/reference/create-a-token, with this mock's tokens.
fn token_answer(issued: &Issued) -> Value {
    let mut answer = json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "bot_id": BOT_ID,
        "workspace_name": WORKSPACE_NAME,
        "workspace_icon": "https://www.notion.so/images/favicon.ico",
        "workspace_id": WORKSPACE_ID,
        "owner": {"type": "user", "user": {"object": "user", "id": USER_ID}},
        "duplicated_template_id": null,
        "request_id": request_id(),
    });
    if let Some(refresh_token) = &issued.refresh_token {
        answer["refresh_token"] = json!(refresh_token);
    }
    answer
}

async fn revoke(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let revoked = (|| {
        let config = lock(&shared).config.clone();
        let params = json_params(&headers, &body)?;
        let client_id = authenticate_as(ClientAuthRule::Basic, &config, &headers, &params)?;
        let token = params.require("token", &Params::from_pairs(Vec::new()), "send the token to revoke")?;
        revoke_in_store(&mut lock(&shared), &client_id, token)
    })();
    match revoked {
        Ok(()) => json_answer(StatusCode::OK, &json!({})),
        Err(error) => Refusal::OAuth(error).into_response(),
    }
}

async fn me(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let valid = authorization_token(&headers, &["Bearer"]).and_then(|token| check_access_token(&shared, &token));
    if let Err(why) = valid {
        return notion_error(StatusCode::UNAUTHORIZED, "unauthorized", &format!("API token is invalid: {why}."));
    }
    let version = headers.get("notion-version").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match version.as_deref() {
        Some(version) if VERSIONS.contains(&version) => {}
        None => {
            return notion_error(
                StatusCode::BAD_REQUEST,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be defined, instead was \
                 `undefined`.",
            );
        }
        Some(other) => {
            return notion_error(
                StatusCode::BAD_REQUEST,
                "validation_error",
                &format!(
                    "Notion-Version header failed validation: `{other}` is not an API version (use one of {}).",
                    VERSIONS.join(", ")
                ),
            );
        }
    }
    // https://developers.notion.com/reference/get-self
    let bot = json!({
        "object": "user",
        "id": BOT_ID,
        "name": "Keyway",
        "avatar_url": null,
        "type": "bot",
        "bot": {
            "owner": {"type": "user", "user": {"object": "user", "id": USER_ID}},
            "workspace_name": WORKSPACE_NAME
        },
        "request_id": request_id(),
    });
    json_answer(StatusCode::OK, &bot)
}

/// A Notion error object (https://developers.notion.com/reference/status-codes).
fn notion_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "object": "error",
        "status": status.as_u16(),
        "code": code,
        "message": message,
        "request_id": request_id(),
    });
    json_answer(status, &body)
}

/// A fresh UUID-shaped request id, as Notion puts on every answer.
fn request_id() -> String {
    let hex = random_token("");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
