//! The log audit: a whole connection's life at TRACE level, with its failures forced, writes
//! no secret to the log in any spelling the host derives from it.

use base64::Engine as _;
use keyway_mock_provider::{MockConfig, MockProvider, TokenError};
use reqwest::Method;
use serde_json::json;

use crate::api::{Backend, Client, Process, ProcessConfig, assert_no_secrets};

/// Connects, calls the API, refreshes, replays the callback, fails a refresh and an API call,
/// then deletes (revokes) the connection.
async fn a_connections_life(client: &Client, mock: &MockProvider) {
    let integration = client.create_integration(mock, json!({})).await["id"].as_str().unwrap().to_string();
    let key = client.admin_key.clone();
    let (id, authorize_url) = client.start_connection(&key, &integration, json!({"name": "audited"})).await;
    let callback = client.authorize(&authorize_url).await;
    assert_eq!(client.callback(&callback).await.status, 200);
    client.me(&id).await;
    client.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await.expect(200);

    // The failures: a replayed state, a refused refresh, an API that fails, a refused code.
    assert_eq!(client.callback(&callback).await.status, 400);
    mock.fail_next_token_request(TokenError::invalid_client("the audit forces this"));
    let refused = client.admin(Method::POST, &format!("/api/v1/connections/{id}/refresh"), None).await;
    assert!(refused.status >= 400, "{}", refused.text);
    mock.fail_next_api_requests(500, None, 3);
    client.web(&key, &id, json!({"method": "GET", "path": "/api/me"})).await;
    let (_, authorize_url) = client.start_connection(&key, &integration, json!({"name": "refused"})).await;
    let callback = client.authorize(&authorize_url).await;
    mock.fail_next_token_request(TokenError::invalid_grant("the audit refuses this code"));
    assert_eq!(client.callback(&callback).await.status, 400);
    client.admin(Method::DELETE, &format!("/api/v1/connections/{id}"), None).await.expect(204);
}

/// The client secret, the codes, verifiers, states and tokens the mock saw, each raw,
/// form-encoded and base64-encoded, and the Basic pair of the client credentials.
fn flow_secrets(mock: &MockProvider, api_keys: &[&str]) -> Vec<String> {
    let config = mock.config();
    let mut values = vec![config.client_secret.clone()];
    values.extend(api_keys.iter().map(|k| k.to_string()));
    for request in mock.requests() {
        values.extend(request.query_param("state").map(str::to_string));
        for field in ["code", "code_verifier", "refresh_token", "token"] {
            values.extend(request.form_param(field));
        }
        values.extend(request.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string));
    }
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut secrets = Vec::new();
    for value in values.iter().filter(|v| v.len() >= 8) {
        secrets.extend([value.clone(), encode(value), b64(value)]);
    }
    secrets.push(b64(&format!("{}:{}", encode(&config.client_id), encode(&config.client_secret))));
    secrets.push(b64(&format!("{}:{}", config.client_id, config.client_secret)));
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Runs a connection's life in a `keyway serve` process writing `log_format`, and returns its log and
/// the secrets the flow used.
async fn audited_run(log_format: Option<&str>) -> Option<(String, Vec<String>)> {
    let db = Backend::Sqlite.database().await?;
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let mut config = ProcessConfig::for_database(&db, Backend::Sqlite);
    config.log_format = log_format.map(str::to_string);
    let log = db.dir.path().join("keyway.log");
    let process = Process::start(&config, log.clone()).await;
    let client = Client::new(&process.url, &config.admin_key);
    a_connections_life(&client, &mock).await;
    drop(process);

    let text = std::fs::read_to_string(&log).expect("the process log");
    let secrets = flow_secrets(&mock, &[&config.admin_key]);
    assert!(secrets.len() > 20, "the flow used its secrets: {secrets:?}");
    Some((text, secrets))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_at_trace_level_logs_no_secret() {
    let Some((text, secrets)) = audited_run(None).await else { return };
    assert!(text.contains("TRACE") && text.contains("keyway::egress"), "not a TRACE log of the flow:\n{text}");
    // At TRACE the egress log shows each request's headers, masked, so the audit below covers them.
    assert!(
        text.lines()
            .any(|l| l.contains("request headers:")
                && l.to_ascii_lowercase().contains("authorization: basic [redacted]")),
        "no masked request headers in the TRACE log:\n{text}"
    );
    assert_no_secrets([("the TRACE log", text.as_str())], &secrets);
}

/// The same audit with `--log-format json`: every line is a JSON object, and none holds a secret,
/// raw or as JSON would escape it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_at_trace_level_logs_no_secret_in_json() {
    let Some((text, secrets)) = audited_run(Some("json")).await else { return };
    let mut events = Vec::new();
    for line in text.lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert!(event.is_object() && event["level"].is_string() && event["target"].is_string(), "{line}");
        events.push(event);
    }
    assert!(
        events.iter().any(|e| e["level"] == "TRACE" && e["target"].as_str().unwrap().starts_with("keyway::egress")),
        "not a TRACE log of the flow:\n{text}"
    );
    assert!(
        events.iter().any(|e| e["message"].as_str().is_some_and(|m| m.starts_with("keyway is serving"))),
        "no start-up line:\n{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("authorization: basic [redacted]"),
        "no masked request headers in the JSON log:\n{text}"
    );
    // JSON escapes `"` and `\`: a secret holding either is looked for in the decoded strings too.
    let decoded: String = events.iter().map(|e| format!("{}\n", strings_of(e).join("\n"))).collect();
    assert_no_secrets([("the JSON log", text.as_str()), ("the JSON log's strings", decoded.as_str())], &secrets);
}

/// Every string in a JSON value, keys included.
fn strings_of(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings_of).collect(),
        serde_json::Value::Object(map) => {
            map.iter().flat_map(|(k, v)| std::iter::once(k.clone()).chain(strings_of(v))).collect()
        }
        _ => Vec::new(),
    }
}
