//! What `GET /metrics` shows: every metric's name and the helpers that record it, in one place.
//!
//! Call sites only call the functions here, so the names, labels and buckets cannot drift apart.
//! Labels are bounded sets chosen by operators or by the code (routes, integration names, plugin
//! names, hooks, outcomes), never a connection, user or key id: one series per user would grow
//! without bound and leak who uses what.
//!
//! Nothing is recorded until [`install`] runs (only `keyway serve` calls it): before that the
//! `metrics` facade has no recorder and every helper is a no-op, so tests that run several
//! servers in one process do not share counters.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::metrics::{Label, SharedString, counter, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::engine::CallError;
use crate::engine::bindings::actions::ActionError;
use crate::flows::FlowError;

/// REST API requests, by `route` (the route's template, such as `/api/v1/connections/{id}`) and
/// `status`.
pub const HTTP_REQUESTS: &str = "keyway_http_requests_total";
/// Their durations, in seconds, by `route` and `status`.
pub const HTTP_REQUEST_DURATION: &str = "keyway_http_request_duration_seconds";
/// Web API requests sent through connections (`POST /connections/{id}/request`), by
/// `integration` and `status` (the upstream's, or `error` when none answered).
pub const WEB_API_REQUESTS: &str = "keyway_web_api_requests_total";
/// Their durations, in seconds, by `integration` and `status`.
pub const WEB_API_DURATION: &str = "keyway_web_api_request_duration_seconds";
/// Token refreshes that reached the provider, by `integration` and `outcome` (`ok` or `error`).
pub const REFRESHES: &str = "keyway_refreshes_total";
/// Failed refreshes, by `integration` and `cause`.
pub const REFRESH_FAILURES: &str = "keyway_refresh_failures_total";
/// Refresh durations, retries included, in seconds, by `integration` and `outcome`.
pub const REFRESH_DURATION: &str = "keyway_refresh_duration_seconds";
/// Plugin hook calls, by `plugin`, `hook` and `outcome` (`ok`, `error`, `cpu_budget`, `memory`,
/// `timeout`).
pub const PLUGIN_CALLS: &str = "keyway_plugin_calls_total";
/// Their durations, in seconds, by `plugin`, `hook` and `outcome`.
pub const PLUGIN_CALL_DURATION: &str = "keyway_plugin_call_duration_seconds";
/// Custom action runs, by `integration`, `action` and `outcome`.
pub const ACTION_RUNS: &str = "keyway_action_runs_total";
/// Their durations, in seconds, by `integration`, `action` and `outcome`.
pub const ACTION_RUN_DURATION: &str = "keyway_action_run_duration_seconds";
/// API calls made by actions, by `integration` and `status` (or `error`).
pub const ACTION_API_CALLS: &str = "keyway_action_api_calls_total";
/// Their durations, in seconds, by `integration` and `status`.
pub const ACTION_API_CALL_DURATION: &str = "keyway_action_api_call_duration_seconds";
/// In-memory cache lookups that found their entry, by `cache`.
pub const CACHE_HITS: &str = "keyway_cache_hits_total";
/// In-memory cache lookups that had to read the database (or ask a plugin), by `cache`.
pub const CACHE_MISSES: &str = "keyway_cache_misses_total";

/// The `cache` label of the API-key cache.
pub const CACHE_API_KEYS: &str = "api_keys";
/// The `cache` label of the integration cache.
pub const CACHE_INTEGRATIONS: &str = "integrations";
/// The `cache` label of the connection cache.
pub const CACHE_CONNECTIONS: &str = "connections";
/// The `cache` label of the declarative-action cache.
pub const CACHE_ACTIONS: &str = "actions";
/// The `cache` label of the memo of plugins' `api-base`/`api-auth` answers.
pub const CACHE_API_TARGETS: &str = "api_targets";

/// Histogram buckets, in seconds: from a cached hook call (well under a millisecond) to an
/// action at its default 30 s deadline. Buckets (rather than quantiles) add up across replicas.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and returns
/// the handle that renders it. Keyway never lets the exporter open a listener of its own: the
/// metrics listener of `keyway serve` renders the handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder =
                PrometheusBuilder::new().set_buckets(BUCKETS).expect("the bucket list is not empty").build_recorder();
            let handle = recorder.handle();
            if ::metrics::set_global_recorder(recorder).is_err() {
                // Another recorder (an embedding program's) won: this handle stays empty.
                tracing::warn!("a metrics recorder was already installed; /metrics will show nothing");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "REST API requests by route template and status");
    describe_histogram!(HTTP_REQUEST_DURATION, Unit::Seconds, "REST API request durations");
    describe_counter!(WEB_API_REQUESTS, "Web API requests through connections by integration and upstream status");
    describe_histogram!(WEB_API_DURATION, Unit::Seconds, "Web API request durations");
    describe_counter!(REFRESHES, "token refreshes sent to providers by integration and outcome");
    describe_counter!(REFRESH_FAILURES, "failed token refreshes by integration and cause");
    describe_histogram!(REFRESH_DURATION, Unit::Seconds, "token refresh durations, retries included");
    describe_counter!(PLUGIN_CALLS, "plugin hook calls by plugin, hook and outcome");
    describe_histogram!(PLUGIN_CALL_DURATION, Unit::Seconds, "plugin hook call durations");
    describe_counter!(ACTION_RUNS, "custom action runs by integration, action and outcome");
    describe_histogram!(ACTION_RUN_DURATION, Unit::Seconds, "custom action run durations");
    describe_counter!(ACTION_API_CALLS, "API calls made by custom actions by integration and status");
    describe_histogram!(ACTION_API_CALL_DURATION, Unit::Seconds, "durations of API calls made by custom actions");
    describe_counter!(CACHE_HITS, "in-memory cache lookups that found their entry");
    describe_counter!(CACHE_MISSES, "in-memory cache lookups that missed");
}

/// Drains histogram samples into their buckets now and then, so memory stays flat between
/// scrapes (rendering drains too; this covers a server nobody scrapes).
pub async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// One REST API request: `route` is the matched route's template, never the raw path (which
/// holds ids).
pub fn http_request(route: &str, status: u16, elapsed: Duration) {
    let labels = vec![shared_label("route", route), Label::new("status", status_label(Some(status)))];
    counter!(HTTP_REQUESTS, labels.clone()).increment(1);
    histogram!(HTTP_REQUEST_DURATION, labels).record(elapsed);
}

/// One Web API request through a connection of `integration`: the upstream's status, or
/// `error` when the request failed before any answer.
pub fn web_api_request(integration: &str, status: Option<u16>, elapsed: Duration) {
    let labels = vec![shared_label("integration", integration), Label::new("status", status_label(status))];
    counter!(WEB_API_REQUESTS, labels.clone()).increment(1);
    histogram!(WEB_API_DURATION, labels).record(elapsed);
}

/// A refresh that succeeded.
pub fn refresh_succeeded(integration: &str, elapsed: Duration) {
    refresh(integration, "ok", elapsed);
}

/// A refresh that failed; `cause` is one of [`refresh_cause`]'s words.
pub fn refresh_failed(integration: &str, cause: &'static str, elapsed: Duration) {
    counter!(REFRESH_FAILURES, "integration" => integration.to_string(), "cause" => cause).increment(1);
    refresh(integration, "error", elapsed);
}

fn refresh(integration: &str, outcome: &'static str, elapsed: Duration) {
    let labels = [("integration", integration.to_string()), ("outcome", outcome.to_string())];
    counter!(REFRESHES, &labels).increment(1);
    histogram!(REFRESH_DURATION, &labels).record(elapsed);
}

/// The `cause` of a failed refresh: what an operator would act on differently.
pub fn refresh_cause(error: &FlowError) -> &'static str {
    match error {
        e if e.is_invalid_grant() => "invalid_grant",
        FlowError::Provider { .. } => "provider_error",
        FlowError::Unavailable { .. } => "provider_unavailable",
        FlowError::InvalidResponse(_) => "invalid_response",
        FlowError::Egress(_) => "transport",
        FlowError::Plugin(CallError::Busy { .. }) => "busy",
        FlowError::Plugin(_) => "plugin",
        FlowError::Config(_) | FlowError::Callback(_) => "config",
    }
}

/// The `cause` of a refresh refused because the refresh token itself had expired.
pub const REFRESH_TOKEN_EXPIRED: &str = "refresh_token_expired";

/// One plugin hook call, classified by how it ended. Recorded by the engine's call path.
pub fn plugin_call(plugin: &str, hook: &'static str, error: Option<&CallError>, elapsed: Duration) {
    let outcome = match error {
        None => "ok",
        Some(CallError::CpuBudget { .. }) => "cpu_budget",
        Some(CallError::Memory { .. }) => "memory",
        Some(CallError::Timeout { .. }) => "timeout",
        Some(_) => "error",
    };
    let labels = [("plugin", plugin.to_string()), ("hook", hook.to_string()), ("outcome", outcome.to_string())];
    counter!(PLUGIN_CALLS, &labels).increment(1);
    histogram!(PLUGIN_CALL_DURATION, &labels).record(elapsed);
}

/// One action run, labelled by how the action's code ended: `ok`, one of the action's own error
/// kinds (`invalid_input`, `upstream`, `plugin`), or the sandbox's verdict (`limit`, `timeout`,
/// `busy`, `error`). `result` is what the engine's `invoke` returned.
pub fn action_run<T, E>(
    integration: &str,
    action: &str,
    result: &Result<(Result<T, ActionError>, E), CallError>,
    elapsed: Duration,
) {
    let outcome = match result {
        Ok((Ok(_), _)) => "ok",
        Ok((Err(ActionError::InvalidInput(_)), _)) => "invalid_input",
        Ok((Err(ActionError::Upstream(_)), _)) => "upstream",
        Ok((Err(ActionError::Plugin(_)), _)) => "plugin",
        Err(CallError::Limit { .. }) => "limit",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::Busy { .. }) => "busy",
        Err(_) => "error",
    };
    let labels =
        [("integration", integration.to_string()), ("action", action.to_string()), ("outcome", outcome.to_string())];
    counter!(ACTION_RUNS, &labels).increment(1);
    histogram!(ACTION_RUN_DURATION, &labels).record(elapsed);
}

/// One API call an action made: the upstream's status, or `error` when none answered.
pub fn action_api_call(integration: &str, status: Option<u16>, elapsed: Duration) {
    let labels = vec![shared_label("integration", integration), Label::new("status", status_label(status))];
    counter!(ACTION_API_CALLS, labels.clone()).increment(1);
    histogram!(ACTION_API_CALL_DURATION, labels).record(elapsed);
}

/// One lookup in the in-memory cache named `cache` (one of the `CACHE_*` labels).
pub fn cache_lookup(cache: &'static str, hit: bool) {
    counter!(if hit { CACHE_HITS } else { CACHE_MISSES }, "cache" => cache).increment(1);
}

/// A label whose value both a counter and a histogram take: shared, so the second copies a
/// pointer rather than the text. These run on every request.
fn shared_label(key: &'static str, value: &str) -> Label {
    Label::new(key, SharedString::from_shared(Arc::from(value)))
}

/// A status as a label, without formatting the statuses APIs answer most.
fn status_label(status: Option<u16>) -> SharedString {
    let common = match status {
        None => "error",
        Some(200) => "200",
        Some(201) => "201",
        Some(202) => "202",
        Some(204) => "204",
        Some(304) => "304",
        Some(400) => "400",
        Some(401) => "401",
        Some(403) => "403",
        Some(404) => "404",
        Some(409) => "409",
        Some(422) => "422",
        Some(429) => "429",
        Some(500) => "500",
        Some(502) => "502",
        Some(503) => "503",
        Some(504) => "504",
        Some(other) => return SharedString::from_owned(other.to_string()),
    };
    SharedString::const_str(common)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local recorder: no global state, so this test runs beside any other.
    fn rendered(record: impl FnOnce()) -> String {
        let recorder = PrometheusBuilder::new().set_buckets(BUCKETS).unwrap().build_recorder();
        let handle = recorder.handle();
        ::metrics::with_local_recorder(&recorder, record);
        handle.render()
    }

    #[test]
    fn plugin_calls_are_labelled_by_how_they_ended() {
        let text = rendered(|| {
            plugin_call("standard-oauth2", "refresh", None, Duration::from_millis(2));
            let spun = CallError::CpuBudget { plugin: "p".into(), hook: "api-base", budget: Duration::from_secs(1) };
            plugin_call("spin", "api-base", Some(&spun), Duration::from_secs(1));
        });
        assert!(
            text.contains(r#"keyway_plugin_calls_total{plugin="standard-oauth2",hook="refresh",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"keyway_plugin_calls_total{plugin="spin",hook="api-base",outcome="cpu_budget"} 1"#));
        assert!(text.contains("keyway_plugin_call_duration_seconds_bucket{"), "a histogram, not a summary: {text}");
    }

    #[test]
    fn cache_lookups_count_hits_and_misses_apart() {
        let text = rendered(|| {
            cache_lookup(CACHE_CONNECTIONS, true);
            cache_lookup(CACHE_CONNECTIONS, true);
            cache_lookup(CACHE_CONNECTIONS, false);
        });
        assert!(text.contains(r#"keyway_cache_hits_total{cache="connections"} 2"#), "{text}");
        assert!(text.contains(r#"keyway_cache_misses_total{cache="connections"} 1"#), "{text}");
    }

    #[test]
    fn web_api_requests_are_labelled_by_integration_and_status() {
        let text = rendered(|| {
            web_api_request("crm", Some(200), Duration::from_millis(3));
            web_api_request("crm", Some(200), Duration::from_millis(3));
            web_api_request("crm", Some(418), Duration::from_millis(3));
            web_api_request("crm", None, Duration::from_millis(3));
            http_request("/api/v1/connections/{id}/request", 200, Duration::from_millis(4));
        });
        for series in [
            r#"keyway_web_api_requests_total{integration="crm",status="200"} 2"#,
            r#"keyway_web_api_requests_total{integration="crm",status="418"} 1"#,
            r#"keyway_web_api_requests_total{integration="crm",status="error"} 1"#,
            r#"keyway_web_api_request_duration_seconds_count{integration="crm",status="200"} 2"#,
            r#"keyway_http_requests_total{route="/api/v1/connections/{id}/request",status="200"} 1"#,
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
    }
}
