//! Plugin actions through the service with the `guest-token-hunt` test plugin: action code
//! never receives a credential, and the host's cap and allowlist bind plugin code as they bind
//! declarative steps.

use keyway::actions::ActionLimits;
use keyway_mock_provider::MockProvider;
use reqwest::Method;
use serde_json::{Value, json};

use super::{run, save};
use crate::api::{Api, Backend, Options, assert_no_secrets, both_backends, secrets};
use crate::apps::install;

both_backends!(
    action_code_never_receives_the_token,
    a_declarative_action_may_not_take_a_plugin_actions_name,
    plugin_code_is_held_to_the_call_cap,
    plugin_code_cannot_reach_a_host_outside_the_allowlist,
);

/// The hunter plugin installed, an integration of it on the API's mock, and a connection:
/// `(integration id, connection id)`.
async fn hunter(api: &Api) -> (String, String) {
    install(api, keyway_tests::components::GUEST_TOKEN_HUNT).await;
    let integration = api.integration(json!({"name": "hunted", "plugin": "guest-token-hunt"})).await;
    let key = api.admin_key.clone();
    let connection = api.connect(&key, &integration).await;
    (integration, connection)
}

/// The access and refresh tokens the mock issued, read from its token responses' effects: each
/// API request it received carries the access token, and the refresh is forced to learn both.
fn issued_tokens(mock: &MockProvider) -> Vec<String> {
    let mut tokens: Vec<String> = mock
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string))
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

async fn action_code_never_receives_the_token(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (_, connection) = hunter(&api).await;

    // The echo endpoint reflects every request header, the token included; `/api/me` is the
    // plain answer. The action returns everything it was given.
    let outcome = run(&api, &connection, "hunt", json!({"paths": ["/api/echo", "/api/me"]})).await.expect(200);
    let output = &outcome["output"];
    assert_eq!(output["name"], "hunt");
    assert_eq!(output["context"]["connection_id"], connection.as_str());
    assert_eq!(output["responses"][0]["status"], 200, "{output}");
    assert_eq!(output["responses"][1]["status"], 200, "{output}");

    // The host did attach the token: the provider saw it...
    let tokens = issued_tokens(&api.mock);
    assert!(!tokens.is_empty() && tokens.iter().all(|t| t.starts_with("mock-at-")), "{tokens:?}");
    // ...and the echo came back with its authorization header masked.
    let echoed: Value = serde_json::from_str(output["responses"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["headers"]["authorization"], "Bearer [redacted]", "{echoed}");

    let text = outcome.to_string();
    let mut forbidden = secrets(&api.mock, &[&api.admin_key]);
    forbidden.extend(tokens);
    assert_no_secrets([("the action's output and call summary", text.as_str())], &forbidden);

    // A refresh changes the token; the new one stays hidden as well.
    api.admin(Method::POST, &format!("/api/v1/connections/{connection}/refresh"), None).await.expect(200);
    let outcome = run(&api, &connection, "hunt", json!({"paths": ["/api/echo"]})).await.expect(200);
    let mut forbidden = secrets(&api.mock, &[&api.admin_key]);
    forbidden.extend(issued_tokens(&api.mock));
    assert_no_secrets([("the output after a refresh", outcome.to_string().as_str())], &forbidden);
}

async fn a_declarative_action_may_not_take_a_plugin_actions_name(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, _) = hunter(&api).await;
    let clash = json!({"name": "hunt", "steps": [{"name": "a", "method": "GET", "path": "/api/me"}]});
    let (error, _, message) = save(&api, &integration, clash).await.error(409);
    assert_eq!(error, "conflict");
    assert!(message.contains("plugin `guest-token-hunt` already has an action named `hunt`"), "{message}");

    save(&api, &integration, json!({"name": "me", "steps": [{"name": "a", "method": "GET", "path": "/api/me"}]}))
        .await
        .expect(201);
    let listed = api.admin(Method::GET, &format!("/api/v1/integrations/{integration}/actions"), None).await.expect(200);
    let kinds: Vec<(Value, Value)> =
        listed["items"].as_array().unwrap().iter().map(|a| (a["name"].clone(), a["kind"].clone())).collect();
    assert_eq!(
        kinds,
        [
            (json!("hunt"), json!("plugin")),
            (json!("spin-calls"), json!("plugin")),
            (json!("call-url"), json!("plugin")),
            (json!("me"), json!("declarative")),
        ]
    );
    assert!(listed["items"][0]["input_schema"]["required"] == json!(["paths"]), "{listed}");
}

async fn plugin_code_is_held_to_the_call_cap(backend: Backend) {
    let actions = ActionLimits { max_calls: 4, ..ActionLimits::default() };
    let Some(api) = Api::with(backend, Options { actions, ..Options::default() }).await else { return };
    let (_, connection) = hunter(&api).await;
    api.mock.clear_requests();

    // The plugin carries on after the refusal and reports success; the run still fails.
    let (error, _, message) =
        run(&api, &connection, "spin-calls", json!({"path": "/api/spin", "count": 10})).await.error(422);
    assert_eq!(error, "limit_exceeded");
    assert!(message.contains("cap of 4 API calls"), "{message}");
    assert_eq!(api.mock.requests_to("/api/spin").len(), 4);

    let outcome = run(&api, &connection, "spin-calls", json!({"path": "/api/spin", "count": 2})).await.expect(200);
    assert_eq!(outcome["output"]["succeeded"], 2, "{outcome}");
}

async fn plugin_code_cannot_reach_a_host_outside_the_allowlist(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (_, connection) = hunter(&api).await;
    let outcome = run(&api, &connection, "call-url", json!({"url": "http://127.0.0.2:9/collect"})).await.expect(200);
    assert_eq!(outcome["output"]["kind"], "denied", "{outcome}");
    let error = outcome["output"]["error"].as_str().unwrap();
    assert!(error.contains("127.0.0.2") && error.contains("allowlist"), "{error}");
    let call = &outcome["calls"][0];
    assert_eq!((call["path"].clone(), call["status"].clone()), (json!("/collect"), Value::Null), "{outcome}");
    assert!(call["note"].as_str().unwrap().starts_with("refused"), "{outcome}");

    // An absolute URL on the integration's own host is inside the allowlist.
    let echo = run(&api, &connection, "call-url", json!({"url": format!("{}/api/me", api.mock.base_url())})).await;
    assert_eq!(echo.expect(200)["output"]["status"], 200, "the integration's own host is allowed");
}
