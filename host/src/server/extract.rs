//! Request extractors: the authenticated caller, and JSON bodies whose errors name the field.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::integration::FieldError;
use crate::keys::{ApiKey, Principal};
use crate::service::ServiceError;

/// The caller, from `Authorization: Bearer <api key>`.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(key) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|k| !k.is_empty()) else {
            return Err(
                ServiceError::Unauthenticated("send your API key as `Authorization: Bearer <key>`".into()).into()
            );
        };
        Ok(Caller(state.service.authenticate(&ApiKey::new(key)).await?))
    }
}

/// A JSON body. A body that does not parse gets a 400 saying where and why.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(rejection_error(rejection)),
        }
    }
}

fn rejection_error(rejection: JsonRejection) -> ApiError {
    let text = match &rejection {
        JsonRejection::JsonDataError(e) => {
            std::error::Error::source(e).map(ToString::to_string).unwrap_or(e.body_text())
        }
        other => other.body_text(),
    };
    // serde names the field in backticks ("unknown field `x`", "missing field `y`").
    if let Some(field) = text.split('`').nth(1).filter(|_| text.contains("field")) {
        return FieldError::new(field, text.clone()).into();
    }
    ServiceError::BadRequest(format!("the body is not valid JSON for this endpoint: {text}")).into()
}
