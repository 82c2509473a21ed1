//! What the host enforces around every action: one refresh after a 401, the call cap, the
//! deadline and the allowlist. A run that hits a limit fails with a clear error, and the host
//! keeps serving.

use std::time::{Duration, Instant};

use keyway::actions::ActionLimits;
use keyway_mock_provider::MockConfig;
use serde_json::{Value, json};

use super::{connected, run, save, statuses};
use crate::api::{Api, Backend, Options, both_backends};

both_backends!(
    a_401_mid_action_refreshes_once_and_continues,
    a_token_refused_after_its_refresh_fails_the_run_after_one_refresh,
    an_action_over_its_call_cap_fails_cleanly,
    an_action_past_its_deadline_fails_cleanly,
    a_host_outside_the_allowlist_is_refused,
    a_429_or_5xx_is_retried_within_bounds_and_a_post_is_not_retried_after_a_5xx,
);

/// `n` GET steps on the echo API, `s1` … `sn`.
fn gets(name: &str, n: usize) -> Value {
    let steps: Vec<Value> =
        (1..=n).map(|i| json!({"name": format!("s{i}"), "method": "GET", "path": format!("/api/step/{i}")})).collect();
    json!({"name": name, "steps": steps, "output": {"last": format!("{{{{ steps.s{n}.body.path }}}}")}})
}

async fn a_401_mid_action_refreshes_once_and_continues(backend: Backend) {
    let mock = MockConfig { access_token_max_uses: Some(2), ..MockConfig::default() };
    let Some(api) = Api::with(backend, Options { mock, ..Options::default() }).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, gets("three", 3)).await.expect(201);

    let outcome = run(&api, &connection, "three", json!({})).await.expect(200);
    assert_eq!(outcome["output"], json!({"last": "/api/step/3"}));
    assert_eq!(statuses(&outcome), [json!(200), json!(200), json!(401), json!(200)], "{outcome}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 1, "one refresh");
    let third = api.mock.requests_to("/api/step/3");
    assert_eq!(third.len(), 2, "the refused call was sent again");
    assert_ne!(third[0].header("authorization"), third[1].header("authorization"), "with the new token");
}

async fn a_token_refused_after_its_refresh_fails_the_run_after_one_refresh(backend: Backend) {
    let mock = MockConfig { access_token_max_uses: Some(0), ..MockConfig::default() };
    let Some(api) = Api::with(backend, Options { mock, ..Options::default() }).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, gets("one", 1)).await.expect(201);

    let (error, _, message) = run(&api, &connection, "one", json!({})).await.error(502);
    assert_eq!(error, "upstream_error");
    assert!(message.contains("s1") && message.contains("401"), "{message}");
    assert_eq!(api.mock.token_requests_by_grant("refresh_token"), 1, "refreshed once, not in a loop");
    assert_eq!(api.mock.requests_to("/api/step/1").len(), 2);
}

async fn an_action_over_its_call_cap_fails_cleanly(backend: Backend) {
    let actions = ActionLimits { max_calls: 3, ..ActionLimits::default() };
    let Some(api) = Api::with(backend, Options { actions, ..Options::default() }).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, gets("five", 5)).await.expect(201);
    save(&api, &integration, gets("two", 2)).await.expect(201);

    let (error, _, message) = run(&api, &connection, "five", json!({})).await.error(422);
    assert_eq!(error, "limit_exceeded");
    assert!(message.contains("cap of 3 API calls") && message.contains("action_max_calls"), "{message}");
    let sent = api.mock.requests().into_iter().filter(|r| r.path.starts_with("/api/step/")).count();
    assert_eq!(sent, 3, "the fourth call was never sent");

    // The cap is per run, and the host keeps serving.
    let outcome = run(&api, &connection, "two", json!({})).await.expect(200);
    assert_eq!(outcome["output"], json!({"last": "/api/step/2"}));
}

async fn an_action_past_its_deadline_fails_cleanly(backend: Backend) {
    let mock = MockConfig { api_latency: Duration::from_millis(600), ..MockConfig::default() };
    let actions = ActionLimits { deadline: Duration::from_secs(1), ..ActionLimits::default() };
    let Some(api) = Api::with(backend, Options { mock: mock.clone(), actions, ..Options::default() }).await else {
        return;
    };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, gets("slow", 4)).await.expect(201);

    let started = Instant::now();
    let (error, _, message) = run(&api, &connection, "slow", json!({})).await.error(422);
    let took = started.elapsed();
    assert_eq!(error, "limit_exceeded");
    assert!(message.contains("deadline") && message.contains("action_deadline"), "{message}");
    assert!(took < Duration::from_secs(5), "the run stopped at its deadline, not after every step: {took:?}");

    api.mock.set_config(MockConfig { api_latency: Duration::ZERO, ..mock });
    let outcome = run(&api, &connection, "slow", json!({})).await.expect(200);
    assert_eq!(outcome["output"], json!({"last": "/api/step/4"}), "the host keeps serving");
}

async fn a_host_outside_the_allowlist_is_refused(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    // 127.0.0.2 is loopback, but not the integration's host: the allowlist refuses it before
    // anything is sent.
    let definition = json!({
        "name": "exfiltrate",
        "steps": [
            {"name": "first", "method": "GET", "path": "/api/me"},
            {"name": "leak", "method": "POST", "path": "http://127.0.0.2:9/collect", "body": {"x": 1}}
        ]
    });
    save(&api, &integration, definition).await.expect(201);
    let (error, _, message) = run(&api, &connection, "exfiltrate", json!({})).await.error(502);
    assert_eq!(error, "upstream_error");
    assert!(message.contains("leak"), "names the step: {message}");
    assert!(message.contains("127.0.0.2"), "names the host: {message}");
    assert!(message.contains("refused") || message.contains("allow"), "{message}");
}

/// One step, `method` on the echo API.
fn one(name: &str, method: &str) -> Value {
    json!({"name": name, "steps": [{"name": "only", "method": method, "path": "/api/thing", "body": {"n": 1}}]})
}

async fn a_429_or_5xx_is_retried_within_bounds_and_a_post_is_not_retried_after_a_5xx(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, one("get-it", "GET")).await.expect(201);
    save(&api, &integration, one("post-it", "POST")).await.expect(201);
    let sent = |api: &Api| api.mock.requests_to("/api/thing").len();

    // A GET answered 503 is sent again, as soon as Retry-After allows.
    api.mock.fail_next_api_requests(503, Some("0"), 1);
    let outcome = run(&api, &connection, "get-it", json!({})).await.expect(200);
    assert_eq!(statuses(&outcome), [json!(503), json!(200)]);
    assert!(outcome["calls"][0]["note"].as_str().unwrap().starts_with("retrying in"), "{outcome}");
    assert_eq!(sent(&api), 2);

    // A 429 means the request was not processed: a POST is retried too.
    api.mock.fail_next_api_requests(429, Some("0"), 1);
    let outcome = run(&api, &connection, "post-it", json!({})).await.expect(200);
    assert_eq!(statuses(&outcome), [json!(429), json!(200)]);
    assert_eq!(sent(&api), 4);

    // A POST answered 503 may have been carried out: it is not sent again.
    api.mock.fail_next_api_requests(503, Some("0"), 1);
    let (_, _, message) = run(&api, &connection, "post-it", json!({})).await.error(502);
    assert!(message.contains("only") && message.contains("503"), "{message}");
    assert_eq!(sent(&api), 5);

    // Attempts are bounded: three 503s in a row end the run.
    api.mock.fail_next_api_requests(503, Some("0"), 3);
    let (_, _, message) = run(&api, &connection, "get-it", json!({})).await.error(502);
    assert!(message.contains("503"), "{message}");
    assert_eq!(sent(&api), 8, "three attempts, no more");

    // A Retry-After longer than the host waits hands the 429 to the action at once.
    api.mock.fail_next_api_requests(429, Some("3600"), 1);
    let started = Instant::now();
    let (_, _, message) = run(&api, &connection, "get-it", json!({})).await.error(502);
    assert!(message.contains("429"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5), "did not wait an hour");
    assert_eq!(sent(&api), 9);
}
