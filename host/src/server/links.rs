//! Connect links: `POST /api/v1/integrations/{id}/connect-links` and
//! `GET /api/v1/connect-links/{id}` for the key that makes them, and `/connect/{token}`, the
//! page the end user opens without an API key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::AppState;
use super::callback::{escape, page};
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, Caller};
use super::params::{ConnectLinkId, IntegrationId};
use crate::service::ServiceError;
use crate::service::links::LinkPage;
use crate::service::model::{ConnectLinkCreated, ConnectLinkInput, ConnectLinkView};

/// Makes a single-use link that connects an account to the integration without an API key
/// (member or admin). The answer's `url` is shown this once.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/connect-links", tag = "connections", params(IntegrationId),
    request_body = ConnectLinkInput,
    responses((status = 201, body = ConnectLinkCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(IntegrationId { id }): Path<IntegrationId>,
    Body(input): Body<ConnectLinkInput>,
) -> Result<(StatusCode, Json<ConnectLinkCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_connect_link(&who, &id, input).await?)))
}

/// A link, for its creator (or an admin) to learn whether it was used and which connection it
/// made.
#[utoipa::path(get, path = "/api/v1/connect-links/{id}", tag = "connections", params(ConnectLinkId),
    responses((status = 200, body = ConnectLinkView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(ConnectLinkId { id }): Path<ConnectLinkId>,
) -> Result<Json<ConnectLinkView>, ApiError> {
    Ok(Json(state.service.get_connect_link(&who, &id).await?))
}

/// `GET /connect/{token}`: names the app and its scopes, asks for the inputs the link left
/// open, and offers to continue. Opening it spends nothing: a link preview cannot use it up.
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.service.open_connect_link(&token).await {
        Ok(link) => respond(StatusCode::OK, form_page(&token, &link, None)),
        Err(e) => refusal(e),
    }
}

/// `POST /connect/{token}`: uses the link and sends the browser to the app's authorize page.
pub async fn submit(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    let given: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    match state.service.use_connect_link(&token, given).await {
        Ok(authorize_url) => {
            let mut response = Redirect::to(&authorize_url).into_response();
            secure(response.headers_mut());
            response
        }
        // A refused input: the same form again, saying what to change.
        Err(ServiceError::Invalid(e)) => match state.service.open_connect_link(&token).await {
            Ok(link) => respond(StatusCode::BAD_REQUEST, form_page(&token, &link, Some(&e.message))),
            Err(other) => refusal(other),
        },
        Err(e) => refusal(e),
    }
}

fn form_page(token: &str, link: &LinkPage, error: Option<&str>) -> String {
    let app = escape(&link.integration);
    let mut body =
        format!("<p>Continue to sign in to <strong>{app}</strong> and allow Keyway to use your account.</p>");
    if !link.owner.is_empty() {
        body.push_str(&format!(
            "<p>The connection will belong to <strong>{}</strong>, who asked for it.</p>",
            escape(&link.owner)
        ));
    }
    if !link.scopes.is_empty() {
        let scopes: String = link.scopes.iter().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect();
        body.push_str(&format!("<p>{app} will ask you to grant:</p><ul>{scopes}</ul>"));
    }
    if let Some(error) = error {
        body.push_str(&format!("<p role=\"alert\"><strong>Please correct this:</strong> {}</p>", escape(error)));
    }
    body.push_str(&format!("<form method=\"post\" action=\"/connect/{}\">", escape(token)));
    for spec in &link.open_inputs {
        let name = escape(&spec.name);
        let pattern = spec.pattern.as_deref().map(|p| format!(" pattern=\"{}\"", escape(p))).unwrap_or_default();
        let required = if spec.required { " required" } else { "" };
        body.push_str(&format!(
            "<p><label for=\"input-{name}\">{}</label><br><input id=\"input-{name}\" name=\"{name}\"{pattern}{required}></p>",
            escape(&spec.label)
        ));
    }
    body.push_str(&format!("<p><button type=\"submit\">Continue to {app}</button></p></form>"));
    page(&format!("Connect {}", link.integration), &body)
}

/// The page for a link that cannot be used: unknown (404), or used or expired (410).
fn refusal(error: ServiceError) -> Response {
    let error = ApiError(error);
    let (status, title) = match &error.0 {
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "This link is not valid"),
        ServiceError::Conflict(_) => (StatusCode::GONE, "This link can no longer be used"),
        _ => (error.status_code(), "The connection could not be started"),
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), "connect link: {}", error.0);
    }
    // The API's message: what to do, and nothing internal.
    respond(status, page(title, &format!("<p>{}</p>", escape(&error.detail().message))))
}

fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    secure(response.headers_mut());
    response
}

/// The URL carries the link's token: never let it leak through Referer or a cache.
fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    );
}
