//! `/api/v1/integrations/{id}/actions` and `/api/v1/connections/{id}/actions/{name}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
// Definitions are kept as written: a `Value` would reorder their `query` and `headers`
// objects, which are sent in the order written.
use serde_json::value::RawValue;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller};
use super::params::{ConnectionAction, IntegrationAction, IntegrationId};
use crate::service::model::{ActionOutcome, ActionRun, ActionView, List};

/// The integration's actions, its plugin's and its declarative ones, with their schemas.
#[utoipa::path(get, path = "/api/v1/integrations/{id}/actions", tag = "actions", params(IntegrationId),
    responses((status = 200, body = List<ActionView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
) -> Result<Json<List<ActionView>>, ApiError> {
    Ok(Json(List { items: state.service.list_actions(&who, &id).await? }))
}

/// Saves a declarative action (admin). 409 when the name is taken, by a declarative action or
/// by one of the plugin's.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/actions", tag = "actions", request_body = keyway_declarative::Definition,
    params(IntegrationId),
    responses((status = 201, body = ActionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
    Body(definition): Body<Box<RawValue>>,
) -> Result<(StatusCode, Json<ActionView>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_action(&who, &id, definition.get()).await?)))
}

/// Creates or replaces the declarative action `name` (admin).
#[utoipa::path(put, path = "/api/v1/integrations/{id}/actions/{name}", tag = "actions", request_body = keyway_declarative::Definition,
    params(IntegrationAction),
    responses((status = 200, body = ActionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationAction { id, name }): Path<IntegrationAction>,
    Body(definition): Body<Box<RawValue>>,
) -> Result<Json<ActionView>, ApiError> {
    Ok(Json(state.service.put_action(&who, &id, &name, definition.get()).await?))
}

/// Deletes the declarative action `name` (admin).
#[utoipa::path(delete, path = "/api/v1/integrations/{id}/actions/{name}", tag = "actions", params(IntegrationAction),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationAction { id, name }): Path<IntegrationAction>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_action(&who, &id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs an action through the connection: `{input}` in, `{output, calls}` out. 400 names the
/// input field that breaks the schema; 422 means the run hit its call cap or deadline.
#[utoipa::path(post, path = "/api/v1/connections/{id}/actions/{name}", tag = "actions", request_body = ActionRun,
    params(ConnectionAction),
    responses((status = 200, body = ActionOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionAction { id, name }): Path<ConnectionAction>,
    Body(run): Body<ActionRun>,
) -> Result<Json<ActionOutcome>, ApiError> {
    Ok(Json(state.service.run_action(&who, &id, &name, run.input).await?))
}
