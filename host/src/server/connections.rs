//! `/api/v1/connections` and `/api/v1/integrations/{id}/connections`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller, Query};
use super::params::{ConnectionId, IntegrationId};
use crate::flows::FlowError;
use crate::service::ServiceError;
use crate::service::model::{ConnectionCreated, ConnectionInput, ConnectionView, List, WebRequest, WebResponse};

/// Creates a connection: oauth2 returns the authorize URL; basic and token are active at once.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/connections", request_body = ConnectionInput, tag = "connections",
    params(IntegrationId),
    responses((status = 201, body = ConnectionCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
    Body(input): Body<ConnectionInput>,
) -> Result<(StatusCode, Json<ConnectionCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_connection(&who, &id, input).await?)))
}

/// The connections the caller may use.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    responses((status = 200, body = List<ConnectionView>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<Json<List<ConnectionView>>, ApiError> {
    Ok(Json(List { items: state.service.list_connections(&who).await? }))
}

/// One connection. Never its tokens.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(ConnectionId),
    responses((status = 200, body = ConnectionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionId { id }): Path<ConnectionId>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.service.get_connection(&who, &id).await?))
}

/// Refreshes the tokens now. 409 when the connection cannot be refreshed as it is: the provider refused its
/// refresh token, or the plugin found nothing to refresh with (no refresh token).
#[utoipa::path(post, path = "/api/v1/connections/{id}/refresh", tag = "connections", params(ConnectionId),
    responses((status = 200, body = ConnectionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionId { id }): Path<ConnectionId>,
) -> Result<Json<ConnectionView>, ApiError> {
    match state.service.refresh(&who, &id).await {
        Ok(view) => Ok(Json(view)),
        Err(e) => Err(ApiError(refresh_error(e, &id))),
    }
}

/// A refresh the plugin refused as a configuration problem (its `invalid-config`, which the standard component
/// answers for a connection without a refresh token) is the connection's state, not the app failing: nothing
/// was sent, and retrying cannot help. It becomes a 409, the status this endpoint already answers when the
/// provider refused the refresh token, so that a client handles "reconnect this connection" in one place.
/// Everything else is left as the service said.
///
/// The service reports the plugin's refusal as `refresh failed: <FlowError::Config>`; that is matched exactly,
/// with the flow error's own wording, so an app's error text that merely mentions a configuration problem
/// stays a 502.
fn refresh_error(error: ServiceError, id: &str) -> ServiceError {
    let ServiceError::Upstream(message) = &error else { return error };
    let config_prefix = FlowError::Config(String::new()).to_string();
    let Some(problem) = message.strip_prefix("refresh failed: ").and_then(|m| m.strip_prefix(&config_prefix)) else {
        return error;
    };
    ServiceError::Conflict(format!(
        "this connection cannot be refreshed: {problem}. Nothing was sent to the app, and retrying will not help. \
         Reconnect it (`POST /api/v1/connections/{id}/reconnect`, or `keyway connect` again) for a new access token. \
         If the app issues no refresh tokens at all (some only with a scope such as `offline_access`), its \
         connections need a reconnect whenever the access token expires."
    ))
}

/// Starts a new browser authorization. 400 for a `basic` or `token` connection, which has none.
#[utoipa::path(post, path = "/api/v1/connections/{id}/reconnect", tag = "connections", params(ConnectionId),
    responses((status = 200, body = ConnectionCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn reconnect(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionId { id }): Path<ConnectionId>,
) -> Result<Json<ConnectionCreated>, ApiError> {
    Ok(Json(state.service.reconnect(&who, &id).await?))
}

/// `?force=true` deletes even when revocation at the provider fails.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete even if revoking fails.
    #[serde(default)]
    force: bool,
}

/// Revokes at the provider (when possible), then deletes.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", params(ConnectionId, DeleteParams), tag = "connections",
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionId { id }): Path<ConnectionId>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_connection(&who, &id, params.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A Web API request through the connection; the host attaches the credentials.
#[utoipa::path(post, path = "/api/v1/connections/{id}/request", request_body = WebRequest, tag = "connections",
    params(ConnectionId),
    responses((status = 200, body = WebResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectionId { id }): Path<ConnectionId>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugins_configuration_refusal_becomes_a_409() {
        let refused = format!("refresh failed: {}", FlowError::Config("the connection has no refresh token".into()));
        let ServiceError::Conflict(message) = refresh_error(ServiceError::Upstream(refused), "conn_1") else {
            panic!("not a conflict")
        };
        assert!(message.starts_with("this connection cannot be refreshed: the connection has no refresh token"));
        assert!(message.contains("POST /api/v1/connections/conn_1/reconnect"), "{message}");

        // The app's own words are the app's failure, whatever they say.
        let provider = FlowError::Provider {
            code: "server_error".into(),
            description: Some("configuration problem: try later".into()),
        };
        let upstream = ServiceError::Upstream(format!("refresh failed: {provider}"));
        assert!(matches!(refresh_error(upstream, "conn_1"), ServiceError::Upstream(_)));
        assert!(matches!(refresh_error(ServiceError::NotFound("x".into()), "c"), ServiceError::NotFound(_)));
    }
}
