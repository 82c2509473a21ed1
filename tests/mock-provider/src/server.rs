//! The HTTP layer: the router, request recording, and the one refusal type every endpoint answers with.
//!
//! App modes (`crate::apps`: Notion, Slack, GitHub…) replace the routes with one app's documented endpoints, and
//! reuse the strict pieces (`client_auth`, `params`, the token store) rather than copying them.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::json;

use crate::apps;
use crate::endpoints::{api, authorize, revoke, token};
use crate::store::{Shared, lock};
use crate::{MockProvider, RecordedRequest, TokenError};

/// Larger bodies are refused with 413 (and recorded without their body).
const MAX_BODY: usize = 1024 * 1024;

/// The provider's routes, with every request recorded before it is routed. An app mode serves only that app's
/// endpoints.
pub(crate) fn app(shared: Shared) -> Router {
    let app = lock(&shared).config.app;
    let routes = apps::routes(app).unwrap_or_else(|| {
        Router::new()
            .route(MockProvider::AUTHORIZE_PATH, get(authorize::authorize))
            .route(MockProvider::TOKEN_PATH, post(token::token))
            .route(MockProvider::REVOKE_PATH, post(revoke::revoke))
            .route("/api/me", get(api::me))
            .route(MockProvider::API_PREFIX, any(api::echo))
            .route("/api/{*rest}", any(api::echo))
    });
    routes.fallback(not_found).layer(middleware::from_fn_with_state(shared.clone(), record)).with_state(shared)
}

/// Records the request, body included, then hands it on unchanged.
async fn record(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        lock(&shared).requests.push(RecordedRequest::from_parts(&parts, &[]));
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body larger than 1 MiB\n").into_response();
    };
    lock(&shared).requests.push(RecordedRequest::from_parts(&parts, &body));
    next.run(Request::from_parts(parts, Body::from(body))).await
}

async fn not_found() -> Response {
    Refusal::NotFound.into_response()
}

/// Why a request was refused. 4xx bodies say what to fix.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An RFC 6749 §5.2 JSON error from the token or revoke endpoint.
    OAuth(TokenError),
    /// A 400 plain-text page from the authorize endpoint, for errors it must not redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// A 401 RFC 6750 §3 bearer challenge from the API.
    InvalidToken(String),
    /// No such endpoint.
    NotFound,
}

impl Refusal {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Refusal::OAuth(error) => StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Refusal::Page(_) => StatusCode::BAD_REQUEST,
            Refusal::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Refusal::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

impl From<TokenError> for Refusal {
    fn from(error: TokenError) -> Self {
        Refusal::OAuth(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        tracing::debug!(refusal = ?self, "mock provider refused a request");
        let status = self.status_code();
        match self {
            Refusal::OAuth(error) => {
                let mut body = json!({ "error": error.error });
                if let Some(description) = &error.description {
                    body["error_description"] = json!(description);
                }
                let mut response = (status, no_store_json(body.to_string())).into_response();
                if error.error == "invalid_client" && status == StatusCode::UNAUTHORIZED {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"mock\""));
                }
                response
            }
            Refusal::Page(message) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("The authorization request was refused: {message}\n"),
            )
                .into_response(),
            Refusal::InvalidToken(description) => {
                let challenge = format!(
                    "Bearer realm=\"mock\", error=\"invalid_token\", error_description=\"{}\"",
                    description.replace(['"', '\\'], "'")
                );
                let body = json!({ "error": "invalid_token", "error_description": description });
                let mut response = (status, json_body(body.to_string())).into_response();
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            Refusal::NotFound => {
                let body = json!({ "error": "not_found", "error_description": "no such endpoint" });
                (status, json_body(body.to_string())).into_response()
            }
        }
    }
}

/// A JSON body.
pub(crate) fn json_body(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// A JSON body that must not be cached, as token responses require (RFC 6749 §5.1).
pub(crate) fn no_store_json(body: String) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        body,
    )
}
