//! Slack through the service (https://api.slack.com/authentication/oauth-v2).

use keyway_mock_provider::apps::slack::{
    AUTH_TEST_PATH, AUTHORIZE_PATH, BOT_USER_ID, REVOKE_PATH, TEAM_ID, TOKEN_PATH, USER_ID,
};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::SLACK;
use reqwest::Method;
use serde_json::{Value, json};

use super::{authorize, failed_callback, install, start, with_param};
use crate::api::Api;

/// No token rotation: tokens that do not expire.
fn plain() -> MockConfig {
    MockConfig { issue_refresh_tokens: false, ..MockConfig::default() }
}

/// A server with the Slack plugin and an integration asking for `scopes` (the bot's) and `settings` (the user's):
/// client credentials in the body, as `oauth.v2.access` documents them.
async fn slack(config: MockConfig, scopes: Value, settings: Value) -> (Api, String) {
    let api = start(App::Slack, config).await;
    assert_eq!(install(&api, SLACK).await["name"], "slack");
    let integration = api
        .integration(json!({
            "name": "slack",
            "plugin": "slack",
            "authorization_url": format!("{}{AUTHORIZE_PATH}", api.mock.base_url()),
            "token_path": TOKEN_PATH,
            "revoke_path": REVOKE_PATH,
            "client_auth": "post",
            "pkce": false,
            "scopes": scopes,
            "settings": settings,
        }))
        .await;
    (api, integration)
}

/// `auth.test` through the connection: Slack's answer.
async fn auth_test(api: &Api, id: &str) -> Value {
    let key = api.admin_key.clone();
    let answer = api.web(&key, id, json!({"method": "POST", "path": AUTH_TEST_PATH})).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    answer["body"].clone()
}

async fn view(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/connections/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_installs_the_bot_keeps_the_team_and_calls_auth_test() {
    let (api, integration) =
        slack(plain(), json!(["commands", "chat:write"]), json!({"user_scopes": ["search:read"]})).await;
    let key = api.admin_key.clone();
    let (id, authorize_url) = api.start_connection(&key, &integration, json!({"name": "workspace"})).await;
    let query: Vec<(String, String)> = url::Url::parse(&authorize_url).unwrap().query_pairs().into_owned().collect();
    assert!(query.contains(&("scope".into(), "commands,chat:write".into())), "{authorize_url}");
    assert!(query.contains(&("user_scope".into(), "search:read".into())), "{authorize_url}");
    let page = api.callback(&api.authorize(&authorize_url).await).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let connection = view(&api, &id).await;
    assert_eq!(connection["status"], "active", "{connection}");
    assert_eq!(connection["scopes"], json!(["commands", "chat:write"]), "{connection}");
    assert_eq!(connection["metadata"]["team.id"], TEAM_ID, "{connection}");
    assert_eq!(connection["metadata"]["bot_user_id"], BOT_USER_ID, "{connection}");
    assert_eq!(connection["metadata"]["authed_user.id"], USER_ID, "{connection}");
    assert!(connection["expires_at"].is_null(), "{connection}");
    let exchange = &api.mock.requests_to(TOKEN_PATH)[0];
    assert!(exchange.form_param("client_secret").is_some() && exchange.header("authorization").is_none());

    // The bot token answers for the bot.
    let me = auth_test(&api, &id).await;
    assert_eq!((me["ok"].as_bool(), me["user_id"].as_str()), (Some(true), Some(BOT_USER_ID)), "{me}");
    let call = api.mock.requests_to(AUTH_TEST_PATH).pop().unwrap();
    assert!(call.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")), "{call:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_only_install_uses_the_user_token() {
    let (api, integration) = slack(plain(), json!([]), json!({"user_scopes": "search:read,identify"})).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    let connection = view(&api, &id).await;
    assert_eq!(connection["scopes"], json!(["search:read", "identify"]), "{connection}");
    let me = auth_test(&api, &id).await;
    assert_eq!((me["ok"].as_bool(), me["user_id"].as_str()), (Some(true), Some(USER_ID)), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_refreshes_under_token_rotation() {
    let rotation = MockConfig { access_token_ttl: Some(43_200), ..MockConfig::default() };
    let (api, integration) = slack(rotation, json!(["commands"]), json!({})).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    assert!(view(&api, &id).await["expires_at"].is_string());
    for round in 1..=2 {
        let refreshed = api.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);
        assert_eq!(refreshed["status"], "active", "{refreshed}");
        let sent = &api.mock.requests_to(TOKEN_PATH)[round];
        assert_eq!(sent.form_param("grant_type").as_deref(), Some("refresh_token"));
    }
    // Each refresh spent the previous refresh token: the second could only work with the rotated one.
    let tokens = api.mock.requests_to(TOKEN_PATH);
    assert_ne!(tokens[1].form_param("refresh_token"), tokens[2].form_param("refresh_token"));
    assert_eq!(auth_test(&api, &id).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_code_with_http_200_fails_the_connection() {
    let (api, integration) = slack(plain(), json!(["commands"]), json!({})).await;
    let (id, callback) = authorize(&api, &integration).await;
    let connection = failed_callback(&api, &id, &with_param(&callback, "code", "mock-code-forged")).await;
    assert!(connection["last_error"].as_str().unwrap_or_default().contains("invalid_code"), "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_calls_auth_revoke_with_the_token() {
    let (api, integration) = slack(plain(), json!(["commands"]), json!({})).await;
    let id = api.connect(&api.admin_key.clone(), &integration).await;
    api.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
    let sent = api.mock.requests_to(REVOKE_PATH).pop().expect("auth.revoke was called");
    let token = sent.header("authorization").and_then(|a| a.strip_prefix("Bearer ")).expect("the token");
    assert!(api.mock.is_revoked(token));
}
