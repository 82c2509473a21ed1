//! The path parameters, one type per shape of path. Handlers extract these very types, so the
//! names the OpenAPI document declares are the names the router matches: neither can change
//! without the other.

use serde::Deserialize;
use utoipa::IntoParams;

/// `/integrations/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IntegrationId {
    /// The integration's id (`int_...`), as returned when it was created.
    pub id: String,
}

/// `/integrations/{id}/actions/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IntegrationAction {
    /// The integration's id (`int_...`).
    pub id: String,
    /// The action's name.
    pub name: String,
}

/// `/connections/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectionId {
    /// The connection's id (`con_...`), as returned when it was created.
    pub id: String,
}

/// `/connections/{id}/actions/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectionAction {
    /// The connection's id (`con_...`).
    pub id: String,
    /// The action's name, as `GET /api/v1/integrations/{id}/actions` lists it.
    pub name: String,
}

/// `/keys/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyId {
    /// The key's id (`key_...`), never the key itself.
    pub id: String,
}

/// `/plugins/{spec}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PluginSpec {
    /// The installed version, as `name@version`.
    pub spec: String,
}

/// `/webhooks/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookId {
    /// The webhook's id (`whk_...`).
    pub id: String,
}

/// `/connect-links/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectLinkId {
    /// The link's id (`lnk_...`), as returned when it was made; never its token.
    pub id: String,
}
