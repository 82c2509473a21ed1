//! `/api/v1/plugins` (admin writes).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::Caller;
use super::params::PluginSpec;
use crate::service::model::{List, PluginView};

/// Installs a component: the body is the `.wasm` file's bytes.
#[utoipa::path(post, path = "/api/v1/plugins", request_body(content = Vec<u8>, content_type = "application/wasm"), tag = "plugins",
    responses((status = 201, body = PluginView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413), (status = 422, body = ErrorBody)))]
pub async fn install(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.install_plugin(&who, &body).await?)))
}

/// Lists installed versions.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    responses((status = 200, body = List<PluginView>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<PluginView>>, ApiError> {
    Ok(Json(List { items: state.service.list_plugins(&who).await? }))
}

/// Removes `name@version`, unless an integration uses it.
#[utoipa::path(delete, path = "/api/v1/plugins/{spec}", tag = "plugins", params(PluginSpec),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(PluginSpec { spec }): Path<PluginSpec>,
) -> Result<StatusCode, ApiError> {
    state.service.remove_plugin(&who, &spec).await?;
    Ok(StatusCode::NO_CONTENT)
}
