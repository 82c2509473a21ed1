//! The admin console under `/ui`: the help article's screens, rendered on the server.
//!
//! Every page is plain HTML from [`maud`] templates with one local stylesheet; the only
//! script is the redirect URI's copy button. Handlers call the same [`Service`] methods as the
//! REST API, with the signed-in key as the caller, so a member sees exactly what the API would
//! show that key.
//!
//! Sessions: signing in with an API key sets a cookie holding a random session id (never the
//! key). The store keeps only its hash, so any replica serves it; see
//! [`crate::service::console`]. Every form that changes something carries the session's CSRF
//! token, and a cross-site `Origin` is refused as well.
//!
//! [`Service`]: crate::service::Service

mod assets;
mod connections;
mod fields;
mod integrations;
mod keys;
mod layout;
mod plugins;
mod session;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;
pub(crate) use session::cookie_session_id;

/// The console's routes, to nest under `/ui`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/integrations") }))
        .route("/assets/{file}", get(assets::serve))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/integrations", get(integrations::list))
        .route("/integrations/new", get(integrations::new_form).post(integrations::create))
        .route("/integrations/{id}", get(integrations::show).post(integrations::update))
        .route("/integrations/{id}/delete", post(integrations::delete))
        .route("/integrations/{id}/connections", post(connections::create))
        .route("/connections", get(connections::list))
        .route("/connections/{id}", get(connections::show))
        .route("/connections/{id}/refresh", post(connections::refresh))
        .route("/connections/{id}/reconnect", post(connections::reconnect))
        .route("/connections/{id}/delete", post(connections::delete))
        .route("/connections/{id}/request", post(connections::try_request))
        .route("/connections/{id}/actions/{name}", post(connections::run_action))
        .route(
            "/plugins",
            get(plugins::list)
                .post(plugins::upload)
                // Components are a few hundred KiB; leave room for large ones, as the API does.
                .layer(axum::extract::DefaultBodyLimit::max(32 << 20)),
        )
        .route("/plugins/{hash}", get(plugins::show))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .fallback(not_found)
}

async fn not_found(console: Option<session::Console>) -> Response {
    layout::error_page(
        console.as_ref(),
        axum::http::StatusCode::NOT_FOUND,
        "Page not found",
        "There is no console page at this address.",
    )
}

/// What a console handler answers when a service call fails: the sign-in page for a dead
/// session, otherwise a page in the console's layout saying what went wrong.
pub(crate) struct UiError {
    console: Option<session::Console>,
    error: crate::service::ServiceError,
}

impl UiError {
    fn new(console: &session::Console, error: crate::service::ServiceError) -> Self {
        Self { console: Some(console.clone()), error }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        use crate::service::ServiceError;
        if matches!(self.error, ServiceError::Unauthenticated(_)) {
            return Redirect::to("/ui/sign-in").into_response();
        }
        let status = super::error::status_for(&self.error);
        let title = match status.as_u16() {
            403 => "Not allowed",
            404 => "Not found",
            409 => "Conflict",
            502 => "The app answered with an error",
            503 => "Busy",
            _ if status.is_client_error() => "That did not work",
            _ => "Something went wrong",
        };
        // 5xx details go to the log, never to the page: the same rule as the API's bodies.
        let message = if status.is_server_error()
            && !matches!(self.error, ServiceError::Upstream(_) | ServiceError::Busy { .. })
        {
            tracing::error!("console: {}", self.error);
            "Keyway hit an internal error; the server's log has the detail.".to_string()
        } else {
            self.error.to_string()
        };
        layout::error_page(self.console.as_ref(), status, title, &message)
    }
}
