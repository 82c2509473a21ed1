//! The REST API's request and response bodies. Field names are part of the public API:
//! other tools drive them, so they only ever grow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::integration::{AuthMethod, ClientAuth};

/// Scopes as an array, or as the help article's form field: one string, one scope per line.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScopesInput {
    /// `["repo", "read:user"]`
    List(Vec<String>),
    /// `"repo\nread:user"`
    Lines(String),
}

/// `POST /api/v1/integrations`, and (every field optional) `PATCH`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    /// Unique name users see.
    pub name: Option<String>,
    /// `oauth2` (default), `basic` or `token`.
    pub auth_method: Option<AuthMethod>,
    /// The plugin that formats the app's requests; default `standard-oauth2`.
    pub plugin: Option<String>,
    /// The OAuth2 client id.
    pub client_id: Option<String>,
    /// The OAuth2 client secret. Write-only: never returned.
    pub client_secret: Option<String>,
    /// Scheme and host: `https://yourapp.com`.
    pub site: Option<String>,
    /// Absolute authorize URL.
    pub authorization_url: Option<String>,
    /// Path on the site: `/login/oauth/access_token`.
    pub token_path: Option<String>,
    /// Path on the site, optional.
    pub revoke_path: Option<String>,
    /// `basic` (default), `post` or `basic_and_post`.
    pub client_auth: Option<ClientAuth>,
    /// The article's "use body authentication": `true` means `basic_and_post`.
    pub use_body_auth: Option<bool>,
    /// The authorization server's issuer (RFC 9207).
    pub issuer: Option<String>,
    /// Scopes: an array, or one per line.
    pub scopes: Option<ScopesInput>,
    /// PKCE S256; default true, or false when the plugin says its app does not support PKCE.
    pub pkce: Option<bool>,
    /// Settings for the plugin, an object. A setting the plugin marks secret must be a string;
    /// it is sealed and never returned. On an update, a secret setting left out keeps its
    /// value, and `null` removes it. `null` for the whole object changes no setting.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Whether MCP clients get the generic Web API request tool on this integration's
    /// connections, besides its actions; default true.
    pub mcp_web_request: Option<bool>,
}

/// An integration as the API returns it. Never the client secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    /// Opaque id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `oauth2`, `basic` or `token`.
    pub auth_method: AuthMethod,
    /// The plugin.
    pub plugin: String,
    /// The client id.
    pub client_id: String,
    /// Whether a client secret is stored (its value is never returned).
    pub has_client_secret: bool,
    /// The site.
    pub site: String,
    /// The authorize URL.
    pub authorization_url: String,
    /// The token path.
    pub token_path: String,
    /// The revoke path.
    pub revoke_path: Option<String>,
    /// Token endpoint client authentication.
    pub client_auth: ClientAuth,
    /// The issuer, when set.
    pub issuer: Option<String>,
    /// The scopes.
    pub scopes: Vec<String>,
    /// PKCE on or off.
    pub pkce: bool,
    /// Plugin settings, without the secret ones.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// The names of the secret settings that are set; their values are never returned.
    pub secret_settings: Vec<String>,
    /// Whether MCP clients get the generic `web_request` tool on this integration's
    /// connections, besides its actions.
    pub mcp_web_request: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// Credentials of a `basic` or `token` connection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CredentialsInput {
    /// For `basic` integrations.
    Basic(BasicCredentials),
    /// For `token` integrations.
    Token(TokenCredentials),
}

/// A `basic` connection's username and password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicCredentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A `token` connection's token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCredentials {
    /// The token.
    pub token: String,
}

/// `POST /api/v1/integrations/{id}/connections`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionInput {
    /// A name for the connection.
    pub name: Option<String>,
    /// Per-connection inputs the plugin declares (a tenant `subdomain`).
    pub inputs: Option<BTreeMap<String, String>>,
    /// Required for `basic` and `token` integrations.
    pub credentials: Option<CredentialsInput>,
    /// Other API key ids that may use this connection.
    pub allowed_keys: Option<Vec<String>>,
}

/// What creating or reconnecting a connection returns.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionCreated {
    /// Opaque id.
    pub id: String,
    /// `pending` for oauth2 (until the callback), `active` for basic and token.
    pub status: String,
    /// Where to send the user's browser (oauth2 only).
    pub authorize_url: Option<String>,
}

/// A connection as the API returns it. Never tokens or credentials.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    /// Opaque id.
    pub id: String,
    /// Its integration.
    pub integration_id: String,
    /// Its name.
    pub name: String,
    /// `pending`, `active`, `needs_reauth` or `failed`.
    pub status: String,
    /// Granted scopes, when the provider said.
    pub scopes: Option<Vec<String>>,
    /// When the access token expires (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// When the refresh token expires, RFC 3339, when the provider said. Past it, the
    /// connection is `needs_reauth`.
    pub refresh_expires_at: Option<String>,
    /// Non-secret metadata from the callback and token responses.
    pub metadata: BTreeMap<String, String>,
    /// Per-connection inputs.
    pub inputs: BTreeMap<String, String>,
    /// The last failure, when there was one.
    pub last_error: Option<String>,
    /// When a waiting refresh retry is due (RFC 3339).
    pub next_retry_at: Option<String>,
    /// The key that created it.
    pub owner_key_id: String,
    /// Other keys allowed to use it.
    pub allowed_keys: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /api/v1/connections/{id}/request`: a Web API request through the connection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebRequest {
    /// `GET`, `POST`, ...: letters, in any case.
    #[schema(pattern = r"^\s*[A-Za-z]+\s*$")]
    pub method: String,
    /// Relative to the connection's API base (starting with `/`), or an absolute URL within the
    /// allowlist.
    #[schema(pattern = r"^(/|[A-Za-z][A-Za-z0-9+.-]*:)")]
    pub path: String,
    /// Query parameters.
    pub query: Option<BTreeMap<String, String>>,
    /// Headers: token names, values without control characters but tab. `Authorization` is
    /// dropped: the host attaches credentials.
    #[schema(schema_with = header_map_schema)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Any JSON: sent as JSON, except a string, which is sent as text. Absent or `null`: no body.
    #[serde(default)]
    #[schema(value_type = Option<serde_json::Value>)]
    pub body: Option<serde_json::Value>,
}

/// What `keyway_policy::headers` accepts, stated as JSON Schema so clients and schemathesis know:
/// RFC 9110 token names, and values with no control character but tab.
fn header_map_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::Schema;
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    let text = |pattern: &str| ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).build();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some("Headers. `Authorization` is dropped: the host attaches credentials."))
        .property_names(Some(Schema::Object(text(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"))))
        .additional_properties(Some(AdditionalProperties::RefOr(
            text(r"^[^\u0000-\u0008\u000A-\u001F\u007F]*$").into(),
        )))
        .build()
}

/// The upstream's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebResponse {
    /// The upstream status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// JSON when the answer is JSON, otherwise text.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// `POST /api/v1/keys`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// `admin` or `member`.
    pub role: crate::keys::Role,
    /// A label.
    pub name: Option<String>,
}

/// A key as listed. Never the key itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// Opaque id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Role.
    pub role: crate::keys::Role,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

/// A new key: the only time the key is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyCreated {
    /// Opaque id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Role.
    pub role: crate::keys::Role,
    /// The key. Store it now: it is not shown again.
    pub key: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `{"items": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct List<T> {
    /// The items.
    pub items: Vec<T>,
}

/// An installed plugin version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PluginView {
    /// The manifest name; integrations name it as `name` (newest) or `name@version`.
    pub name: String,
    /// The manifest version.
    pub version: String,
    /// SHA-256 of the component.
    pub hash: String,
    /// Built into the binary.
    pub builtin: bool,
    /// The plugin API version it was built against.
    pub api_version: Option<String>,
    /// What it is for.
    pub description: String,
    /// Extra hosts it may call (templates).
    pub hosts: Vec<String>,
    /// Per-connection inputs it needs.
    pub inputs: Vec<String>,
    /// Its actions.
    pub actions: Vec<String>,
    /// RFC 3339; absent for the built-in one.
    pub installed_at: Option<String>,
}

/// Where an action comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Code in the integration's plugin.
    Plugin,
    /// A stored definition, run by the built-in `keyway-declarative` component.
    Declarative,
}

/// An action as `GET /api/v1/integrations/{id}/actions` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    /// The name to run it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// `plugin` or `declarative`.
    pub kind: ActionKind,
    /// JSON Schema of the input.
    #[schema(schema_with = keyway_declarative::openapi::json_schema)]
    pub input_schema: serde_json::Value,
    /// JSON Schema of the output, when the action declares one.
    #[schema(schema_with = keyway_declarative::openapi::optional_json_schema)]
    pub output_schema: Option<serde_json::Value>,
    /// The stored definition, as it was written, for declarative actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<keyway_declarative::Definition>)]
    pub definition: Option<serde_json::Value>,
}

/// `POST /api/v1/connections/{id}/actions/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRun {
    /// The action's input, checked against its input schema. Default `{}`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// What an action run returns.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionOutcome {
    /// The action's output, checked against its output schema.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
    /// Each API request the run sent, in order: method, path, status, duration. Never
    /// credentials.
    pub calls: Vec<crate::actions::CallSummary>,
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where events are POSTed: an absolute https URL (plain http only where the egress
    /// settings allow it). Checked against `blocked_networks` now, and again at every delivery.
    #[schema(pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://")]
    pub url: String,
    /// Only this integration's connections' events; absent: every integration's.
    pub integration_id: Option<String>,
}

/// A webhook as the API returns it: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Opaque id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The integration whose events it receives; `null`: every integration's.
    pub integration_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /api/v1/webhooks`'s answer: the webhook and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 key deliveries are signed with (`Keyway-Signature`). Store it now: it
    /// is not shown again.
    pub secret: String,
}

/// A connection lifecycle event: the body POSTed to webhooks, never a credential.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventBody {
    /// `evt_…`, the same in every delivery and retry of this event.
    pub id: String,
    /// `connection.active`, `connection.refreshed` (active again after an error),
    /// `connection.needs_reauth`, `connection.failed` or `connection.deleted`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The connection.
    pub connection_id: String,
    /// Its integration.
    pub integration_id: String,
    /// RFC 3339.
    pub at: String,
    /// The connection's status after the change (its last, for a deletion).
    pub status: String,
    /// The connection's last error, if any.
    pub last_error: Option<String>,
}

/// An event with its deliveries, as `GET /api/v1/events` lists them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// The event, as webhooks receive it.
    #[serde(flatten)]
    pub event: EventBody,
    /// One per webhook that was registered for it when it happened.
    pub deliveries: Vec<DeliveryView>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The webhook.
    pub webhook_id: String,
    /// `pending` (due at `next_attempt_at`), `delivered`, or `failed` (given up after
    /// retrying for the configured time).
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last attempt's HTTP status, if it got an answer.
    pub last_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the next attempt is due (RFC 3339), while pending.
    pub next_attempt_at: Option<String>,
    /// When it was delivered (RFC 3339).
    pub delivered_at: Option<String>,
}

/// `POST /api/v1/integrations/{id}/connect-links`: what the connection made through the link
/// will be. Whatever the link fixes, the person opening it cannot change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectLinkInput {
    /// The connection's name; absent: the integration's.
    pub name: Option<String>,
    /// Inputs the plugin declares, fixed by the link. The page asks for the others.
    pub inputs: Option<BTreeMap<String, String>>,
    /// The key the connection will belong to; absent: the caller's. Only an admin may name
    /// another key.
    pub owner_key_id: Option<String>,
    /// Other API key ids that may use the connection.
    pub allowed_keys: Option<Vec<String>>,
    /// Seconds until the link expires: 60 to 604800 (a week); default 3600.
    #[schema(minimum = 60, maximum = 604800)]
    pub expires_in: Option<u64>,
}

/// A connect link as its creator sees it. Never its token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectLinkView {
    /// Opaque id, to poll the link by.
    pub id: String,
    /// The integration it connects to.
    pub integration_id: String,
    /// `open`, `used` or `expired`.
    pub status: String,
    /// The connection it made, once used: its own status says whether the browser flow
    /// finished.
    pub connection_id: Option<String>,
    /// The connection's name, if fixed.
    pub name: Option<String>,
    /// The key the connection belongs to.
    pub owner_key_id: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once used.
    pub used_at: Option<String>,
}

/// `POST /api/v1/integrations/{id}/connect-links`'s answer: the link, with the URL to give the
/// user, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectLinkCreated {
    /// The link.
    #[serde(flatten)]
    pub link: ConnectLinkView,
    /// The single-use URL to send to the user: it carries the link's token, stored only as
    /// its hash, so it cannot be shown again.
    pub url: String,
}
