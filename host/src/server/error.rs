//! The API's one error type: `{"error": {"code", "message", "field"?}}`.
//!
//! 4xx messages say what to fix; 5xx bodies stay generic and the detail goes to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::ServiceError;

/// An API error response.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl<E: Into<ServiceError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The error body. The CLI reads it too.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_field`, `not_found`, `forbidden`, ...
    pub code: Cow<'static, str>,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The offending field, for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The HTTP status for `error`: the API's, which the console's pages use too.
pub(crate) fn status_for(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::Invalid(_) | ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::LimitExceeded(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Upstream(_) => StatusCode::BAD_GATEWAY,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status_code(&self) -> StatusCode {
        status_for(&self.0)
    }

    /// The body's `error`: MCP tool errors carry it too.
    pub(crate) fn detail(&self) -> ErrorDetail {
        let (code, field) = match &self.0 {
            ServiceError::Invalid(e) => ("invalid_field", Some(e.field.clone())),
            ServiceError::BadRequest(_) => ("bad_request", None),
            ServiceError::Unauthenticated(_) => ("unauthenticated", None),
            ServiceError::Forbidden(_) => ("forbidden", None),
            ServiceError::NotFound(_) => ("not_found", None),
            ServiceError::Conflict(_) => ("conflict", None),
            ServiceError::LimitExceeded(_) => ("limit_exceeded", None),
            ServiceError::Busy { .. } => ("busy", None),
            ServiceError::Upstream(_) => ("upstream_error", None),
            ServiceError::Internal(_) => ("internal", None),
        };
        let message = match &self.0 {
            ServiceError::Invalid(e) => e.message.clone(),
            ServiceError::Internal(_) => "internal error; the server log has the details".into(),
            other => other.to_string(),
        };
        // The last line of defence: a message may quote a plugin or a provider.
        ErrorDetail { code: code.into(), message: keyway_policy::text::clip_message(message), field }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if let ServiceError::Busy { .. } = &self.0 {
            // Load, not a fault: the caller is told when to come back.
            tracing::warn!(status = status.as_u16(), "{}", self.0);
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "{}", self.0);
        }
        let mut response = (status, Json(ErrorBody { error: self.detail() })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        if let ServiceError::Busy { retry_after, .. } = &self.0 {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after.as_secs().max(1).into());
        }
        response
    }
}
