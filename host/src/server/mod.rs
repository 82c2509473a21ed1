//! The HTTP layer: the REST API under `/api/v1`, the admin console under `/ui`, the OAuth
//! redirect URI at `/oauth`, MCP at `/mcp`, and `/healthz` and `/readyz`. Handlers translate between HTTP and [`Service`] and nothing more.

mod actions;
pub(crate) mod callback;
mod connections;
pub mod error;
mod events;
mod extract;
mod health;
mod integrations;
mod keys;
mod links;
pub mod mcp;
pub mod openapi;
mod params;
mod plugins;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::service::Service;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The service.
    pub service: Arc<Service>,
}

/// The REST API's prefix. Its routes are registered under their full paths, not nested: a
/// nested router wraps each of its routes in a layer that rebuilds the request's URI, and
/// callgrind counted that at about 1.5% of a `/request`'s instructions.
const API: &str = "/api/v1";

/// The whole application, without a socket, so tests can drive it directly.
pub fn app(state: AppState) -> Router {
    let api = |path: &str| format!("{API}{path}");
    Router::new()
        .route(&api("/integrations"), post(integrations::create).get(integrations::list))
        .route(
            &api("/integrations/{id}"),
            get(integrations::get).patch(integrations::update).delete(integrations::delete),
        )
        .route(&api("/integrations/{id}/connections"), post(connections::create))
        .route(&api("/integrations/{id}/connect-links"), post(links::create))
        .route(&api("/connect-links/{id}"), get(links::get))
        .route(&api("/integrations/{id}/actions"), get(actions::list).post(actions::create))
        .route(&api("/integrations/{id}/actions/{name}"), axum::routing::put(actions::put).delete(actions::delete))
        .route(&api("/connections/{id}/actions/{name}"), post(actions::run))
        .route(&api("/connections"), get(connections::list))
        .route(&api("/connections/{id}"), get(connections::get).delete(connections::delete))
        .route(&api("/connections/{id}/refresh"), post(connections::refresh))
        .route(&api("/connections/{id}/reconnect"), post(connections::reconnect))
        .route(&api("/connections/{id}/request"), post(connections::request))
        .route(&api("/webhooks"), post(events::create).get(events::list))
        .route(&api("/webhooks/{id}"), axum::routing::delete(events::delete))
        .route(&api("/events"), get(events::log))
        .route(&api("/keys"), post(keys::create).get(keys::list))
        .route(&api("/keys/{id}"), axum::routing::delete(keys::revoke))
        .route(
            &api("/plugins"),
            post(plugins::install)
                .get(plugins::list)
                // Components are a few hundred KiB; leave room for large ones.
                .layer(axum::extract::DefaultBodyLimit::max(32 << 20)),
        )
        .route(&api("/plugins/{spec}"), axum::routing::delete(plugins::remove))
        .route(&api("/openapi.json"), get(openapi::serve))
        .nest("/ui", ui::routes())
        .route("/", get(|| async { axum::response::Redirect::to("/ui/integrations") }))
        .route("/oauth", get(callback::complete))
        .route("/connect/{token}", get(links::show).post(links::submit))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(mcp::routes(state.clone()))
        // After the routes, so only matched requests are counted, each under its template.
        .route_layer(axum::middleware::from_fn(count_request))
        // A path no route matches: under the API (such as `/connections/` with an empty id) in
        // the API's error shape, as the document says every 404 does. Not a route, so the
        // metrics layer counts none of them.
        .fallback(not_found)
        .with_state(state)
        // A last resort, never the mechanism: every limit is enforced before it could panic.
        // A panic still answers (a generic 500 in the house shape) instead of dropping the
        // connection, and the next request is served.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
}

/// The metrics listener's whole application: `GET /metrics` and nothing else, so it can sit on
/// an address the public cannot reach.
pub fn metrics_app(handle: metrics_exporter_prometheus::PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(health::metrics)).with_state(handle)
}

/// Counts one request under its route's template (`/api/v1/connections/{id}`): the raw path
/// holds ids, one series each.
async fn count_request(
    route: axum::extract::MatchedPath,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::http_request(route.as_str(), response.status().as_u16(), started.elapsed());
    response
}

/// The answer to a path no route matches: the API's error shape under `/api/v1`, axum's empty
/// 404 elsewhere (the console has a fallback of its own).
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let under_api = uri.path().strip_prefix(API).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if !under_api {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    error::ApiError(crate::service::ServiceError::NotFound(format!(
        "no such API path `{}`; `GET {API}/openapi.json` lists them",
        uri.path()
    )))
    .into_response()
}

/// The answer to a request whose handler panicked; the detail goes to the log only.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    // Logged by `ApiError` (5xx detail goes to the log); the body stays generic.
    let error = crate::service::ServiceError::Internal(format!("a request handler panicked: {detail}"));
    axum::response::IntoResponse::into_response(error::ApiError(error))
}
