//! `/api/v1/keys` (admin).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller};
use super::params::KeyId;
use crate::service::model::{KeyCreated, KeyInput, KeyView, List};

/// Creates a key; the response is the only time it is shown.
#[utoipa::path(post, path = "/api/v1/keys", request_body = KeyInput, tag = "keys",
    responses((status = 201, body = KeyCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Body(input): Body<KeyInput>,
) -> Result<(StatusCode, Json<KeyCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_key(&who, input).await?)))
}

/// Lists keys, never the keys themselves.
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys",
    responses((status = 200, body = List<KeyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<KeyView>>, ApiError> {
    Ok(Json(List { items: state.service.list_keys(&who).await? }))
}

/// Revokes a key. 409 for the last active admin key.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", params(KeyId),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(KeyId { id }): Path<KeyId>,
) -> Result<StatusCode, ApiError> {
    state.service.revoke_key(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
