//! The rows the store keeps: plain data, with secrets only as ciphertext.

/// A registered OAuth2 app (or basic/token API), as an admin configured it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationRecord {
    /// Opaque id (`int_…`).
    pub id: String,
    /// Unique name, used by the CLI and API in place of the id.
    pub name: String,
    /// `oauth2`, `basic` or `token`.
    pub auth_method: String,
    /// Name of the plugin that formats this app's requests (`standard-oauth2` by default).
    pub plugin: String,
    /// The OAuth2 client id.
    pub client_id: String,
    /// The client secret, sealed by the service with `id` as associated data.
    pub client_secret_sealed: Option<Vec<u8>>,
    /// The app's base URL, without a path.
    pub site: String,
    /// The absolute URL the user is sent to, to authorize.
    pub authorization_url: String,
    /// The token endpoint's path on `site`.
    pub token_path: String,
    /// The revocation endpoint's path on `site` (RFC 7009), if the app has one.
    pub revoke_path: Option<String>,
    /// Scopes requested by default, in order.
    pub scopes: Vec<String>,
    /// How the client authenticates at the token endpoint: `basic`, `post` or `basic_and_post`.
    pub client_auth: String,
    /// The authorization server's issuer (RFC 9207), if callbacks must carry it.
    pub issuer: Option<String>,
    /// Whether authorizations use PKCE (S256).
    pub pkce: bool,
    /// Plugin-specific settings, kept as given, without the secret ones.
    pub settings: serde_json::Value,
    /// Creation time, Unix seconds. Never changed by an update.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// The settings the plugin marks secret, a JSON object sealed by the service with `id` as
    /// associated data.
    pub secret_settings_sealed: Option<Vec<u8>>,
    /// Whether MCP clients get the generic Web API request tool on this integration's
    /// connections, besides its actions.
    pub mcp_web_request: bool,
}

/// A user's connection to an integration, with its (sealed) credentials and lifecycle state.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    /// Opaque id (`con_…`).
    pub id: String,
    /// The integration it connects through. The integration cannot be deleted while this row exists.
    pub integration_id: String,
    /// A name chosen by the user.
    pub name: String,
    /// The id of the API key that created it.
    pub owner_key_id: String,
    /// Ids of the other API keys that may use it.
    pub allowed_keys: Vec<String>,
    /// Where the connection is in its lifecycle.
    pub status: ConnectionStatus,
    /// Per-connection values the plugin declares (a tenant subdomain, …), in order.
    pub inputs: Vec<(String, String)>,
    /// Values kept from the flow (`realmId`, `instance_url`, …), in order.
    pub metadata: Vec<(String, String)>,
    /// The scopes granted, when the provider said.
    pub scopes: Option<Vec<String>>,
    /// The token set or basic/token credentials, sealed by the service with `id` as associated data.
    pub credentials_sealed: Option<Vec<u8>>,
    /// When the access token expires, Unix seconds.
    pub expires_at: Option<i64>,
    /// The last failure, for the user to read.
    pub last_error: Option<String>,
    /// When a failed refresh is retried next, Unix seconds.
    pub next_retry_at: Option<i64>,
    /// Creation time, Unix seconds. Never changed by an update.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// When the refresh token expires, Unix seconds, when the provider said.
    pub refresh_expires_at: Option<i64>,
}

/// Where a connection is in its lifecycle. Stored as its [`as_str`](Self::as_str) text, which the
/// API returns too; the database refuses any other text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    /// Created, waiting for the browser authorization to complete.
    Pending,
    /// Has credentials and can make API calls.
    Active,
    /// The grant ended (a refused or expired refresh token): only a reconnect helps.
    NeedsReauth,
    /// The authorization failed before the connection ever worked.
    Failed,
}

impl ConnectionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ConnectionStatus; 4] = [Self::Pending, Self::Active, Self::NeedsReauth, Self::Failed];

    /// The stored and returned text: `pending`, `active`, `needs_reauth` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::NeedsReauth => "needs_reauth",
            Self::Failed => "failed",
        }
    }

    /// The status a text names, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A started authorization, waiting for its callback. Single use: [`Store::take_pending`](crate::Store::take_pending)
/// removes it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingFlowRecord {
    /// SHA-256 hex of the `state` parameter. The state itself is never stored.
    pub state_hash: String,
    /// The pending connection this authorization completes. Deleting the connection deletes this row.
    pub connection_id: String,
    /// The PKCE verifier, sealed by the service.
    pub verifier_sealed: Option<Vec<u8>>,
    /// The exact redirect URI the authorize request used; the token request must repeat it.
    pub redirect_uri: String,
    /// Unix seconds; from then on the flow is expired.
    pub expires_at: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// An API key, known only by its hash.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    /// Opaque id (`key_…`).
    pub id: String,
    /// A name to recognise it by.
    pub name: String,
    /// `admin` or `member`; the database refuses anything else.
    pub role: String,
    /// SHA-256 hex of the key. Unique.
    pub key_hash: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it was revoked, Unix seconds. A revoked key grants nothing.
    pub revoked_at: Option<i64>,
}

/// An installed plugin version without its bytes: what a replica's catalog needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PluginVersion {
    /// SHA-256 hex of the component.
    pub hash: String,
    /// The plugin's name, from its metadata.
    pub name: String,
    /// The plugin's version, from its metadata.
    pub version: String,
    /// When it was first stored, Unix seconds.
    pub created_at: i64,
}

/// A plugin component, addressed by the hash of its bytes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PluginRecord {
    /// SHA-256 hex of `bytes`.
    pub hash: String,
    /// The plugin's name, from its metadata.
    pub name: String,
    /// The plugin's version, from its metadata.
    pub version: String,
    /// The Wasm component.
    pub bytes: Vec<u8>,
    /// When it was first stored, Unix seconds.
    pub created_at: i64,
}

/// A declarative action: a named series of Web API calls an admin defined for one integration.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActionRecord {
    /// The integration it belongs to.
    pub integration_id: String,
    /// Unique per integration.
    pub name: String,
    /// The definition as JSON text, validated by the service.
    pub definition: String,
    /// When it was first saved, Unix seconds.
    pub created_at: i64,
    /// When it was last replaced, Unix seconds.
    pub updated_at: i64,
}
