//! Slack mode: https://api.slack.com/authentication/oauth-v2

use keyway_mock_provider::apps::slack::{
    AUTH_TEST_PATH, AUTHORIZE_PATH, BOT_USER_ID, REVOKE_PATH, TEAM_ID, TOKEN_PATH, USER_ID,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Call, Harness, REDIRECT_URI, Reply, STATE};
use crate::{changed, code_of, get, post_json, redirect_error};

/// An app without token rotation: tokens that do not expire.
async fn slack() -> Harness {
    slack_with(MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }).await
}

async fn slack_with(config: MockConfig) -> Harness {
    Harness::start(MockConfig { app: App::Slack, ..config }).await
}

/// The documented authorize request: comma-separated bot and user scopes; changed by `set`.
async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    let params = [
        ("client_id", client_id.as_str()),
        ("scope", "commands,chat:write"),
        ("user_scope", "search:read"),
        ("redirect_uri", REDIRECT_URI),
        ("state", STATE),
    ];
    get(h, AUTHORIZE_PATH, &changed(&params, set)).await
}

/// The documented exchange: a form with the client credentials in it.
fn exchange(h: &Harness, code: &str) -> Call {
    let config = h.mock.config();
    h.call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("code", code)
        .param("redirect_uri", REDIRECT_URI)
}

/// An install with `set` applied to the authorize request: the `oauth.v2.access` answer.
async fn install(h: &Harness, set: &[(&str, Option<&str>)]) -> Value {
    let code = code_of(&authorize(h, set).await);
    let reply = exchange(h, &code).send(h).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answer = reply.json();
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

fn auth_test(h: &Harness, token: &str) -> Call {
    h.call(Method::POST, AUTH_TEST_PATH).header("authorization", &format!("Bearer {token}"))
}

/// Slack's answer to everything: HTTP 200, and `ok`.
#[track_caller]
fn assert_slack_error(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({"ok": false, "error": error}));
}

#[tokio::test]
async fn authorize_takes_comma_separated_bot_and_user_scopes() {
    let h = slack().await;
    let reply = authorize(&h, &[]).await;
    code_of(&reply);
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    code_of(&authorize(&h, &[("user_scope", None)]).await);
    code_of(&authorize(&h, &[("scope", None)]).await);
}

#[tokio::test]
async fn authorize_refuses_missing_or_space_separated_scopes() {
    let h = slack().await;
    let (error, description) = redirect_error(&authorize(&h, &[("scope", None), ("user_scope", None)]).await);
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("user_scope"), "{description}");
    for bad in ["commands chat:write", "commands,,chat:write", "commands,"] {
        let (error, description) = redirect_error(&authorize(&h, &[("scope", Some(bad))]).await);
        assert_eq!(error, "invalid_scope", "{bad}");
        assert!(description.contains("commas"), "{description}");
    }
    let (error, _) = redirect_error(&authorize(&h, &[("user_scope", Some("search:read identify"))]).await);
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn authorize_checks_the_client_and_the_users_answer() {
    let h = slack().await;
    assert_eq!(authorize(&h, &[("client_id", Some("other"))]).await.status, 400);
    let denied = slack_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(redirect_error(&authorize(&denied, &[]).await).0, "access_denied");
}

#[tokio::test]
async fn an_install_returns_the_bot_token_at_the_top_and_the_users_under_authed_user() {
    let h = slack().await;
    let answer = install(&h, &[]).await;
    assert_eq!(answer["token_type"], "bot");
    assert_eq!(answer["scope"], "commands,chat:write");
    assert_eq!(answer["bot_user_id"], BOT_USER_ID);
    assert_eq!(answer["team"]["id"], TEAM_ID);
    assert_eq!(answer["authed_user"]["id"], USER_ID);
    assert_eq!(answer["authed_user"]["token_type"], "user");
    assert_eq!(answer["authed_user"]["scope"], "search:read");
    assert!(answer.get("expires_in").is_none() && answer.get("refresh_token").is_none(), "{answer}");

    let bot = auth_test(&h, answer["access_token"].as_str().unwrap()).send(&h).await.json();
    assert_eq!((bot["ok"].as_bool(), bot["user_id"].as_str()), (Some(true), Some(BOT_USER_ID)), "{bot}");
    assert!(bot["bot_id"].is_string(), "{bot}");
    let user = auth_test(&h, answer["authed_user"]["access_token"].as_str().unwrap()).send(&h).await.json();
    assert_eq!((user["ok"].as_bool(), user["user_id"].as_str()), (Some(true), Some(USER_ID)), "{user}");
    assert!(user.get("bot_id").is_none(), "{user}");
}

#[tokio::test]
async fn a_user_only_install_has_no_top_level_token() {
    let h = slack().await;
    let answer = install(&h, &[("scope", None)]).await;
    assert!(answer.get("access_token").is_none(), "{answer}");
    let token = answer["authed_user"]["access_token"].as_str().expect("the user token");
    assert_eq!(auth_test(&h, token).send(&h).await.json()["user_id"], USER_ID);
}

#[tokio::test]
async fn errors_are_http_200_with_ok_false() {
    let h = slack().await;
    let code = code_of(&authorize(&h, &[]).await);
    let config = h.mock.config();
    assert_slack_error(&exchange(&h, "mock-code-unknown").send(&h).await, "invalid_code");
    assert_slack_error(&exchange(&h, &code).without_param("code").send(&h).await, "invalid_code");
    assert_slack_error(&exchange(&h, &code).param("client_secret", "wrong").send(&h).await, "bad_client_secret");
    assert_slack_error(&exchange(&h, &code).without_param("client_secret").send(&h).await, "bad_client_secret");
    assert_slack_error(&exchange(&h, &code).param("client_id", "other").send(&h).await, "invalid_client_id");
    assert_slack_error(&exchange(&h, &code).without_param("client_id").send(&h).await, "invalid_client_id");
    let moved = exchange(&h, &code).param("redirect_uri", "https://elsewhere.test/oauth").send(&h).await;
    assert_slack_error(&moved, "bad_redirect_uri");
    let body = json!({"client_id": config.client_id, "client_secret": config.client_secret, "code": code});
    assert_slack_error(&post_json(&h, TOKEN_PATH, &body).send(&h).await, "invalid_form_data");
    assert_slack_error(&exchange(&h, &code).param("grant_type", "password").send(&h).await, "invalid_grant_type");

    // None of that burned the code; it works once, without a redirect_uri too.
    let reply = exchange(&h, &code).without_param("redirect_uri").send(&h).await;
    assert_eq!(reply.json()["ok"], true, "{}", reply.text);
    assert_slack_error(&exchange(&h, &code).send(&h).await, "invalid_code");
}

#[tokio::test]
async fn under_token_rotation_tokens_expire_and_refresh_tokens_are_single_use() {
    let h = slack_with(MockConfig { access_token_ttl: Some(43_200), ..MockConfig::default() }).await;
    let answer = install(&h, &[]).await;
    assert_eq!(answer["expires_in"], 43_200);
    assert_eq!(answer["authed_user"]["expires_in"], 43_200);
    let first = answer["refresh_token"].as_str().expect("a refresh token").to_owned();
    let config = h.mock.config();
    let refresh = |token: &str| {
        h.call(Method::POST, TOKEN_PATH)
            .header("content-type", "application/x-www-form-urlencoded")
            .param("client_id", &config.client_id)
            .param("client_secret", &config.client_secret)
            .param("grant_type", "refresh_token")
            .param("refresh_token", token)
    };
    let refreshed = refresh(&first).send(&h).await.json();
    assert_eq!((refreshed["ok"].as_bool(), refreshed["token_type"].as_str()), (Some(true), Some("bot")), "{refreshed}");
    assert_ne!(refreshed["refresh_token"].as_str(), Some(first.as_str()));
    assert_eq!(auth_test(&h, refreshed["access_token"].as_str().unwrap()).send(&h).await.json()["ok"], true);
    assert_slack_error(&refresh(&first).send(&h).await, "invalid_refresh_token");

    let plain = slack().await;
    let config = plain.mock.config();
    let refused = plain
        .call(Method::POST, TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .param("client_id", &config.client_id)
        .param("client_secret", &config.client_secret)
        .param("grant_type", "refresh_token")
        .param("refresh_token", "mock-rt-any")
        .send(&plain)
        .await;
    assert_slack_error(&refused, "invalid_grant_type");
}

#[tokio::test]
async fn auth_test_names_what_is_wrong_with_the_token() {
    let h = slack_with(MockConfig { access_token_ttl: Some(43_200), ..MockConfig::default() }).await;
    let token = install(&h, &[]).await["access_token"].as_str().unwrap().to_owned();
    assert_slack_error(&auth_test(&h, &token).without_header("authorization").send(&h).await, "not_authed");
    let in_query = h.call(Method::POST, &format!("{AUTH_TEST_PATH}?token={token}")).send(&h).await;
    assert_slack_error(&in_query, "not_authed");
    assert_slack_error(&auth_test(&h, "mock-at-unknown").send(&h).await, "invalid_auth");
    h.mock.expire_access_tokens();
    assert_slack_error(&auth_test(&h, &token).send(&h).await, "token_expired");
}

#[tokio::test]
async fn auth_revoke_revokes_the_token_it_is_called_with() {
    let h = slack().await;
    let answer = install(&h, &[]).await;
    let bot = answer["access_token"].as_str().unwrap();
    let user = answer["authed_user"]["access_token"].as_str().unwrap();
    assert_slack_error(&h.call(Method::POST, REVOKE_PATH).send(&h).await, "not_authed");
    let reply = h.call(Method::POST, REVOKE_PATH).header("authorization", &format!("Bearer {user}")).send(&h).await;
    assert_eq!(reply.json(), json!({"ok": true, "revoked": true}));
    assert_slack_error(&auth_test(&h, user).send(&h).await, "token_revoked");
    assert_eq!(auth_test(&h, bot).send(&h).await.json()["ok"], true);
}
