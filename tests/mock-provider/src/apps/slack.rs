//! Slack's OAuth v2 (https://api.slack.com/authentication/oauth-v2).
//!
//! - `GET /oauth/v2/authorize`: `client_id`, `redirect_uri`, `state`, and the scopes comma-separated: `scope` for
//!   the bot, `user_scope` for the installing user; at least one of the two.
//! - `POST /api/oauth.v2.access` (https://api.slack.com/methods/oauth.v2.access): a form with `client_id`,
//!   `client_secret`, `code` and `redirect_uri` (optional; when sent it must match). Every answer is HTTP 200 with
//!   `ok`: errors are `{"ok": false, "error": "invalid_code"}` (or `invalid_client_id`, `bad_client_secret`,
//!   `bad_redirect_uri`, `invalid_form_data`, `invalid_grant_type`, `invalid_refresh_token`). The bot token is at the
//!   top level (`access_token`, `token_type: "bot"`, `scope` comma-separated, `bot_user_id`, `team`), the user's
//!   under `authed_user`; an install with only user scopes has no top-level `access_token`. Tokens do not expire
//!   unless the app opts into token rotation (https://api.slack.com/authentication/rotation), which
//!   `MockConfig::issue_refresh_tokens` turns on: `expires_in` and a `refresh_token` that rotates on each
//!   `grant_type=refresh_token`.
//! - `POST /api/auth.test` (https://api.slack.com/methods/auth.test) and `POST /api/auth.revoke`
//!   (https://api.slack.com/methods/auth.revoke): the token in `Authorization: Bearer`; HTTP 200 with
//!   `{"ok": false, "error": "not_authed" | "invalid_auth" | "token_revoked" | "token_expired"}` when it does not do.

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{authorization_token, begin_authorize, json_answer, mint_code, never_expire, queued_answer};
use crate::MockConfig;
use crate::endpoints::token::{redeem_code, refresh};
use crate::params::{Params, require_form_body};
use crate::store::{Issued, Shared, Store, lock};

/// The authorization endpoint, on `https://slack.com`.
pub const AUTHORIZE_PATH: &str = "/oauth/v2/authorize";
/// `oauth.v2.access`: code exchange, and refresh under token rotation.
pub const TOKEN_PATH: &str = "/api/oauth.v2.access";
/// `auth.test`: who a token belongs to.
pub const AUTH_TEST_PATH: &str = "/api/auth.test";
/// `auth.revoke`: revokes the token it is called with.
pub const REVOKE_PATH: &str = "/api/auth.revoke";
/// The workspace every install is in.
pub const TEAM_ID: &str = "T9TK3CUKW";
/// The installing user.
pub const USER_ID: &str = "U1234";
/// The app's bot user.
pub const BOT_USER_ID: &str = "U0KRQLJ9H";

/// What Slack mode remembers beyond the standard codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// The `user_scope` of each authorization code (the bot's are the code's own scopes).
    user_scopes: HashMap<String, Vec<String>>,
    /// User tokens, access and refresh; every other token is a bot's.
    user_tokens: HashSet<String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token))
        .route(AUTH_TEST_PATH, get(auth_test).post(auth_test))
        .route(REVOKE_PATH, get(auth_revoke).post(auth_revoke))
}

/// A comma-separated scope list, refusing spaces and empty entries.
fn comma_scopes(name: &str, list: Option<&str>) -> Result<Vec<String>, String> {
    let Some(list) = list else { return Ok(Vec::new()) };
    let scopes: Vec<String> = list.split(',').map(str::to_owned).collect();
    if scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(format!("`{name}` is `{list}`: separate scopes with commas, without spaces"));
    }
    Ok(scopes)
}

async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let config = lock(&shared).config.clone();
    let redirect = match begin_authorize(&params, &config, "client_id") {
        Ok(redirect) => redirect,
        Err(refused) => return *refused,
    };
    let scopes = comma_scopes("scope", params.get("scope"))
        .and_then(|bot| Ok((bot, comma_scopes("user_scope", params.get("user_scope"))?)));
    let (bot, user) = match scopes {
        Ok((bot, user)) if bot.is_empty() && user.is_empty() => {
            return redirect.error("invalid_scope", "ask for `scope` (the bot's), `user_scope` (the user's), or both");
        }
        Ok(scopes) => scopes,
        Err(message) => return redirect.error("invalid_scope", &message),
    };
    match mint_code(&shared, &config, &redirect, bot, None) {
        Ok(code) => {
            lock(&shared).app.slack.user_scopes.insert(code.clone(), user);
            redirect.answer(&[("code", &code)])
        }
        Err(denied) => *denied,
    }
}

/// Every Web API answer: HTTP 200, `ok` saying whether it worked.
fn slack_error(error: &str) -> Value {
    json!({"ok": false, "error": error})
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = queued_answer(&shared) {
        return answer;
    }
    let answer = exchange(&shared, &headers, &body).unwrap_or_else(slack_error);
    json_answer(StatusCode::OK, &answer)
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, &'static str> {
    require_form_body(headers).map_err(|_| "invalid_form_data")?;
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let params = Params::from_pairs(pairs.clone());
    let config = lock(shared).config.clone();
    if params.get("client_id") != Some(config.client_id.as_str()) {
        return Err("invalid_client_id");
    }
    if params.get("client_secret") != Some(config.client_secret.as_str()) {
        return Err("bad_client_secret");
    }
    let client_id = config.client_id.clone();
    let no_query = Params::from_pairs(Vec::new());
    let mut store = lock(shared);
    match params.get("grant_type") {
        None | Some("authorization_code") => {
            let code = params.get("code").ok_or("invalid_code")?.to_owned();
            let issued_for = store.codes.get(&code).map(|c| c.redirect_uri.clone()).ok_or("invalid_code")?;
            match params.get("redirect_uri") {
                None => pairs.push(("redirect_uri".into(), issued_for)),
                Some(sent) if sent != issued_for => return Err("bad_redirect_uri"),
                Some(_) => {}
            }
            let params = Params::from_pairs(pairs);
            let bot = redeem_code(&mut store, &config, &client_id, &params, &no_query).map_err(|_| "invalid_code")?;
            let user_scopes = store.app.slack.user_scopes.remove(&code).unwrap_or_default();
            Ok(install_answer(&mut store, &config, bot, user_scopes))
        }
        Some("refresh_token") if config.issue_refresh_tokens => {
            let presented = params.get("refresh_token").unwrap_or_default().to_owned();
            let rotating = MockConfig { rotate_refresh_tokens: true, ..config };
            let issued =
                refresh(&mut store, &rotating, &client_id, &params, &no_query).map_err(|_| "invalid_refresh_token")?;
            let kind = if store.app.slack.user_tokens.contains(&presented) { "user" } else { "bot" };
            if kind == "user" {
                store.app.slack.user_tokens.insert(issued.access_token.clone());
                store.app.slack.user_tokens.extend(issued.refresh_token.clone());
            }
            let mut answer = token_fields(&issued, kind);
            answer["ok"] = json!(true);
            answer["team"] = json!({"id": TEAM_ID, "name": "Slack Softball Team"});
            Ok(answer)
        }
        Some(_) => Err("invalid_grant_type"),
    }
}

/// The tokens of one kind (`bot` or `user`): `access_token`, `token_type`, `scope`, and under rotation
/// `expires_in` (Slack's is twelve hours; here `MockConfig::access_token_ttl`) and `refresh_token`.
fn token_fields(issued: &Issued, kind: &str) -> Value {
    let mut fields = json!({
        "access_token": issued.access_token,
        "token_type": kind,
        "scope": issued.scopes.join(","),
    });
    if let Some(refresh_token) = &issued.refresh_token {
        fields["refresh_token"] = json!(refresh_token);
    }
    if let Some(expires_in) = issued.expires_in {
        fields["expires_in"] = json!(expires_in);
    }
    fields
}

/// The documented `oauth.v2.access` answer (https://api.slack.com/methods/oauth.v2.access): the bot token at the
/// top level when bot scopes were granted, the user token under `authed_user` when user scopes were.
fn install_answer(store: &mut Store, config: &MockConfig, mut bot: Issued, user_scopes: Vec<String>) -> Value {
    let rotating = config.issue_refresh_tokens;
    let grant = store.access_tokens.get(&bot.access_token).map(|t| t.grant).unwrap_or_default();
    let mut answer = json!({
        "ok": true,
        "app_id": "A0KRD7HC3",
        "team": {"name": "Slack Softball Team", "id": TEAM_ID},
        "enterprise": null,
        "is_enterprise_install": false,
        "authed_user": {"id": USER_ID},
    });
    if bot.scopes.is_empty() {
        // A user-only install: no bot token at all.
        store.access_tokens.remove(&bot.access_token);
        if let Some(refresh_token) = &bot.refresh_token {
            store.refresh_tokens.remove(refresh_token);
        }
    } else {
        if !rotating {
            never_expire(store, &mut bot);
        }
        for (name, value) in token_fields(&bot, "bot").as_object().into_iter().flatten() {
            answer[name] = value.clone();
        }
        answer["bot_user_id"] = json!(BOT_USER_ID);
    }
    if !user_scopes.is_empty() {
        let mut user = store.issue(&config.client_id, grant, user_scopes, rotating);
        if !rotating {
            never_expire(store, &mut user);
        }
        store.app.slack.user_tokens.insert(user.access_token.clone());
        store.app.slack.user_tokens.extend(user.refresh_token.clone());
        let mut authed_user = token_fields(&user, "user");
        authed_user["id"] = json!(USER_ID);
        answer["authed_user"] = authed_user;
    }
    answer
}

/// The bearer token's state, in Slack's words.
fn token_problem(store: &Store, headers: &HeaderMap) -> Result<String, &'static str> {
    let token = authorization_token(headers, &["Bearer"]).map_err(|_| "not_authed")?;
    let access = store.access_tokens.get(&token).ok_or("invalid_auth")?;
    if access.revoked {
        return Err("token_revoked");
    }
    if access.is_expired() {
        return Err("token_expired");
    }
    Ok(token)
}

async fn auth_test(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let store = lock(&shared);
    let answer = match token_problem(&store, &headers) {
        Err(error) => slack_error(error),
        Ok(token) => {
            // https://api.slack.com/methods/auth.test
            let mut answer = json!({
                "ok": true,
                "url": "https://slacksoftballteam.slack.com/",
                "team": "Slack Softball Team",
                "team_id": TEAM_ID,
            });
            if store.app.slack.user_tokens.contains(&token) {
                answer["user"] = json!("grace");
                answer["user_id"] = json!(USER_ID);
            } else {
                answer["user"] = json!("keyway");
                answer["user_id"] = json!(BOT_USER_ID);
                answer["bot_id"] = json!("B0KRQLJ9H");
            }
            answer
        }
    };
    json_answer(StatusCode::OK, &answer)
}

async fn auth_revoke(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut store = lock(&shared);
    let answer = match token_problem(&store, &headers) {
        Err(error) => slack_error(error),
        Ok(token) => {
            if let Some(access) = store.access_tokens.get_mut(&token) {
                access.revoked = true;
            }
            json!({"ok": true, "revoked": true})
        }
    };
    json_answer(StatusCode::OK, &answer)
}
