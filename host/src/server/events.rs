//! `/api/v1/webhooks` and `/api/v1/events` (admin): where connection lifecycle events go, and
//! the delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller, Query};
use super::params::WebhookId;
use crate::service::model::{EventView, List, WebhookCreated, WebhookInput, WebhookView};

/// Registers a webhook; the response is the only time its signing secret is shown. 400 names
/// the field: a URL the egress rules refuse (`blocked_networks`, plain http), or an unknown
/// integration.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookInput, tag = "events",
    responses((status = 201, body = WebhookCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Body(input): Body<WebhookInput>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_webhook(&who, input).await?)))
}

/// Lists webhooks, never their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "events",
    responses((status = 200, body = List<WebhookView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<WebhookView>>, ApiError> {
    Ok(Json(List { items: state.service.list_webhooks(&who).await? }))
}

/// Removes a webhook and its pending deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "events", params(WebhookId),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(WebhookId { id }): Path<WebhookId>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_webhook(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?connection_id=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Only this connection's events.
    connection_id: Option<String>,
    /// How many of the newest events (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The newest events, newest first, each with its deliveries: state, attempts, the last
/// answer's status and error.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsParams),
    responses((status = 200, body = List<EventView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn log(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(params): Query<EventsParams>,
) -> Result<Json<List<EventView>>, ApiError> {
    let connection = params.connection_id.as_deref().filter(|c| !c.is_empty());
    Ok(Json(List { items: state.service.list_events(&who, connection, params.limit.unwrap_or(100)).await? }))
}
