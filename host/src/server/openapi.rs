//! `GET /api/v1/openapi.json`, generated from the handlers' annotations and the body types.

use axum::Json;
use utoipa::OpenApi;

use super::error::{ErrorBody, ErrorDetail};
use crate::service::model::*;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Keyway", description = "WebAssembly plugin host for custom OAuth2 integrations"),
    paths(
        super::integrations::create, super::integrations::list, super::integrations::get,
        super::integrations::update, super::integrations::delete,
        super::connections::create, super::connections::list, super::connections::get,
        super::connections::refresh, super::connections::reconnect, super::connections::delete,
        super::connections::request,
        super::keys::create, super::keys::list, super::keys::revoke,
        super::plugins::install, super::plugins::list, super::plugins::remove,
        super::actions::list, super::actions::create, super::actions::put, super::actions::delete,
        super::actions::run,
        super::events::create, super::events::list, super::events::delete, super::events::log,
        super::links::create, super::links::get,
        super::health::healthz, super::health::readyz,
    ),
    components(schemas(ErrorBody, ErrorDetail, ScopesInput, IntegrationInput, IntegrationView, ConnectionInput, ConnectionCreated,
        ConnectionView, CredentialsInput, BasicCredentials, TokenCredentials, WebRequest, WebResponse, KeyInput, KeyView, KeyCreated, PluginView,
        ActionKind, ActionView, ActionRun, ActionOutcome, crate::actions::CallSummary,
        keyway_declarative::Definition, keyway_declarative::Step,
        WebhookInput, WebhookView, WebhookCreated, EventBody, EventView, DeliveryView,
        ConnectLinkInput, ConnectLinkView, ConnectLinkCreated,
        super::health::Readiness, super::health::ReadinessCheck)),
    modifiers(&BearerAuth),
    security(("api_key" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Serves the generated document.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
