//! `/healthz` (liveness), `/readyz` (readiness) and the metrics listener's `/metrics`, for load
//! balancers, orchestrators and Prometheus. None of them takes an API key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;

/// `/readyz`'s answer: every check, and what to fix when one fails.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Each check in order: `database`, `migrations`, `builtin_plugins`.
    pub checks: Vec<ReadinessCheck>,
    /// When not ready: the failing checks' messages, joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One readiness check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadinessCheck {
    /// `database`, `migrations` or `builtin_plugins`.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What it found; when it failed, what to fix.
    pub message: String,
}

/// Liveness and database reachability: `ok` while the process serves and reaches its database.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "`ok`", body = String),
        (status = 503, description = "`database unavailable`", body = String)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.service.store().count_api_keys().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!("health check: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Readiness: the database answers, every migration this build embeds is applied, and the
/// built-in plugins are loaded. 503 names each failing check and what to fix.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store = state.service.store();
    let mut checks = Vec::new();
    let database = store.count_api_keys().await;
    let reachable = database.is_ok();
    checks.push(match database {
        Ok(_) => check("database", true, format!("{} answers", store.backend())),
        Err(e) => {
            // The detail may name hosts or files: it goes to the log only.
            tracing::error!("readiness: the database: {e}");
            check(
                "database",
                false,
                "the database cannot be reached: check `database_url` and that the database is up (the detail is in \
                 the server's log)",
            )
        }
    });
    checks.push(if !reachable {
        check("migrations", false, "cannot be checked while the database is unreachable")
    } else {
        match store.migration_status().await {
            Ok(status) => match status.problem() {
                None => check("migrations", true, format!("{} of {} applied", status.applied, status.expected)),
                Some(problem) => check("migrations", false, problem),
            },
            Err(e) => {
                tracing::error!("readiness: reading the applied migrations: {e}");
                check("migrations", false, "the applied migrations cannot be read (the detail is in the server's log)")
            }
        }
    });
    let missing = state.service.plugins().missing_builtins();
    checks.push(if missing.is_empty() {
        check("builtin_plugins", true, "loaded")
    } else {
        check(
            "builtin_plugins",
            false,
            format!("not loaded: {}; restart `keyway serve` and read its log for why", missing.join(", ")),
        )
    });

    let failing: Vec<String> = checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.message)).collect();
    if failing.is_empty() {
        (StatusCode::OK, Json(Readiness { status: "ready", checks, message: None }))
    } else {
        let message = Some(failing.join("; "));
        (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "not_ready", checks, message }))
    }
}

fn check(name: &'static str, ok: bool, message: impl Into<String>) -> ReadinessCheck {
    ReadinessCheck { name, ok, message: message.into() }
}

/// Prometheus text. Served only on the metrics listener (`metrics_listen`), so it is not in the
/// public API's `openapi.json`: the public listener answers 404 here.
pub async fn metrics(State(handle): State<metrics_exporter_prometheus::PrometheusHandle>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}
