//! `/api/v1/connections` and `/api/v1/integrations/{id}/connections`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller};
use crate::service::model::{ConnectionCreated, ConnectionInput, ConnectionView, List, WebRequest, WebResponse};

/// Creates a connection: oauth2 returns the authorize URL; basic and token are active at once.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/connections", request_body = ConnectionInput, tag = "connections",
    responses((status = 201, body = ConnectionCreated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Body(input): Body<ConnectionInput>,
) -> Result<(StatusCode, Json<ConnectionCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_connection(&who, &id, input).await?)))
}

/// The connections the caller may use.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", responses((status = 200, body = List<ConnectionView>)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<ConnectionView>>, ApiError> {
    Ok(Json(List { items: state.service.list_connections(&who).await? }))
}

/// One connection. Never its tokens.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections",
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.service.get_connection(&who, &id).await?))
}

/// Refreshes the tokens now.
#[utoipa::path(post, path = "/api/v1/connections/{id}/refresh", tag = "connections",
    responses((status = 200, body = ConnectionView), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.service.refresh(&who, &id).await?))
}

/// Starts a new browser authorization.
#[utoipa::path(post, path = "/api/v1/connections/{id}/reconnect", tag = "connections",
    responses((status = 200, body = ConnectionCreated), (status = 404, body = ErrorBody)))]
pub async fn reconnect(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionCreated>, ApiError> {
    Ok(Json(state.service.reconnect(&who, &id).await?))
}

/// `?force=true` deletes even when revocation at the provider fails.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeleteParams {
    /// Delete even if revoking fails.
    #[serde(default)]
    force: bool,
}

/// Revokes at the provider (when possible), then deletes.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", params(DeleteParams), tag = "connections",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_connection(&who, &id, params.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A Web API request through the connection; the host attaches the credentials.
#[utoipa::path(post, path = "/api/v1/connections/{id}/request", request_body = WebRequest, tag = "connections",
    responses((status = 200, body = WebResponse), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Body(req): Body<WebRequest>,
) -> Result<Json<WebResponse>, ApiError> {
    // The caller's headers are the caller's to fix: over the caps or invalid is a 4xx here,
    // before anything is built from them. The egress client applies the same rules to
    // every request anyway.
    if let Some(headers) = &req.headers {
        let invalid = |message: String| ApiError::from(crate::integration::FieldError::new("headers", message));
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        state.service.flows().egress().config().check_headers(&headers).map_err(|e| invalid(e.to_string()))?;
        if headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            return Err(invalid("`Host` comes from the connection's API base and cannot be set; remove it".into()));
        }
    }
    Ok(Json(state.service.web_request(&who, &id, req).await?))
}
