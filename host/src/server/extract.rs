//! Request extractors: the authenticated caller, and JSON bodies and query strings whose errors
//! name the field, in the API's error shape (axum's own rejections are plain text).

use axum::extract::rejection::{JsonRejection, QueryRejection};
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
    field_or_bad_request(text, "the body is not valid JSON for this endpoint")
}

/// A field error when serde's message names the field (in backticks: "unknown field `x`",
/// "missing field `y`"), else a 400 saying `what` is wrong.
fn field_or_bad_request(text: String, what: &str) -> ApiError {
    if let Some(field) = text.split('`').nth(1).filter(|_| text.contains("field")) {
        return FieldError::new(field, text.clone()).into();
    }
    ServiceError::BadRequest(format!("{what}: {text}")).into()
}

/// A query string. One that does not parse gets a 400 in the API's error shape, naming the
/// parameter when serde does.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection_error(&rejection)),
        }
    }
}

fn query_rejection_error(rejection: &QueryRejection) -> ApiError {
    let text = match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => {
            std::error::Error::source(e).map(ToString::to_string).unwrap_or(e.body_text())
        }
        other => other.body_text(),
    };
    field_or_bad_request(text, "the query string is not valid for this endpoint")
}
