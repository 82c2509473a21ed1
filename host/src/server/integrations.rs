//! `/api/v1/integrations`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller};
use super::params::IntegrationId;
use crate::service::model::{IntegrationInput, IntegrationView, List};

/// Registers an integration (admin).
#[utoipa::path(post, path = "/api/v1/integrations", request_body = IntegrationInput, tag = "integrations",
    responses((status = 201, body = IntegrationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Body(input): Body<IntegrationInput>,
) -> Result<(StatusCode, Json<IntegrationView>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_integration(&who, input).await?)))
}

/// Lists integrations.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations",
    responses((status = 200, body = List<IntegrationView>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<IntegrationView>>, ApiError> {
    Ok(Json(List { items: state.service.list_integrations(&who).await? }))
}

/// One integration.
#[utoipa::path(get, path = "/api/v1/integrations/{id}", tag = "integrations", params(IntegrationId),
    responses((status = 200, body = IntegrationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
) -> Result<Json<IntegrationView>, ApiError> {
    Ok(Json(state.service.get_integration(&who, &id).await?))
}

/// Changes the given fields (admin).
#[utoipa::path(patch, path = "/api/v1/integrations/{id}", request_body = IntegrationInput, tag = "integrations",
    params(IntegrationId),
    responses((status = 200, body = IntegrationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
    Body(input): Body<IntegrationInput>,
) -> Result<Json<IntegrationView>, ApiError> {
    Ok(Json(state.service.update_integration(&who, &id, input).await?))
}

/// Deletes an integration without connections (admin).
#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "integrations", params(IntegrationId),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_integration(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
