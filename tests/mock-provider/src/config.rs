//! The rules the mock provider enforces: plain data, changed at runtime with `MockProvider::set_config`.

use std::fmt;

use crate::App;

/// How the token and revoke endpoints demand that the client authenticate (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthRule {
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`. A `client_secret` in the body is
    /// refused, because a client must use one authentication method per request (RFC 6749 §2.3).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body. An `Authorization` header is refused.
    Post,
    /// Both at once, and they must agree. This is what the help article's "Use Body Authentication" sends.
    BasicAndPost,
}

/// What the simulated user answers on the consent screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consent {
    /// The user approves: the authorize endpoint redirects back with a code.
    #[default]
    Approve,
    /// The user declines: the authorize endpoint redirects back with `error=access_denied`.
    Deny,
}

/// The provider's rules. Build one with struct update syntax over [`MockConfig::default`].
#[derive(Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// The one registered client.
    pub client_id: String,
    /// Its secret. Compared after RFC 6749 §2.3.1 decoding of the Basic header.
    pub client_secret: String,
    /// What the token and revoke endpoints demand as client authentication.
    pub client_auth: ClientAuthRule,
    /// Demand an S256 `code_challenge` at `/oauth/authorize` and a matching `code_verifier` at `/oauth/token`.
    /// When `false`, a challenge is still checked if the client sends one.
    pub require_pkce: bool,
    /// Lifetime of access tokens in seconds, returned as `expires_in`. `None` issues tokens that never expire
    /// (until `MockProvider::expire_access_tokens`) and omits `expires_in`.
    pub access_token_ttl: Option<u64>,
    /// Return a `refresh_token` from the code exchange.
    pub issue_refresh_tokens: bool,
    /// A refresh returns a new refresh token and retires the old one. When `false`, the refresh response has no
    /// `refresh_token` and the old one stays valid.
    pub rotate_refresh_tokens: bool,
    /// Scopes the provider knows. Empty accepts any scope.
    pub scopes_supported: Vec<String>,
    /// Redirect URIs registered for the client, compared exactly. Empty accepts any absolute URL, which suits
    /// hosts listening on a random port.
    pub redirect_uris: Vec<String>,
    /// When set, redirects from the authorize endpoint carry `iss` (RFC 9207).
    pub issuer: Option<String>,
    /// What the simulated user answers.
    pub consent: Consent,
    /// Which app the provider plays: the standard RFC 6749 provider, or one app's documented endpoints and
    /// quirks. Fixed when the provider starts.
    pub app: App,
    /// The protected API refuses an access token (401, `invalid_token`) once it has served this many requests,
    /// as providers with short-lived or use-limited tokens do; a refresh issues a fresh one. `None`: no limit.
    pub access_token_max_uses: Option<u32>,
    /// How long the protected API takes to answer, to simulate a slow app.
    pub api_latency: std::time::Duration,
    /// How long the token endpoint takes to answer, to simulate a real provider's token endpoint (which checks a
    /// code or refresh token against its database before it answers).
    pub token_latency: std::time::Duration,
    /// Token responses carry `refresh_token_expires_in` with this many seconds, as providers whose
    /// refresh tokens expire say (GitHub Apps, Xero, Microsoft). `None`: the field is left out.
    pub refresh_token_ttl: Option<u64>,
    /// Token responses carry a `session_token` beside the OAuth tokens (`mock-st-` plus the access token), a
    /// second credential a plugin must keep sealed.
    pub session_tokens: bool,
}

impl Default for MockConfig {
    /// `demo-client` with a secret that only survives the round trip when the client form-urlencodes it
    /// (RFC 6749 §2.3.1); Basic auth, PKCE required, one-hour tokens, refresh tokens without rotation, any scope,
    /// any redirect URI, no `iss`, consent approved, the standard provider.
    fn default() -> Self {
        MockConfig {
            client_id: "demo-client".to_owned(),
            client_secret: "demo-secret with:odd+chars".to_owned(),
            client_auth: ClientAuthRule::Basic,
            require_pkce: true,
            access_token_ttl: Some(3600),
            issue_refresh_tokens: true,
            rotate_refresh_tokens: false,
            scopes_supported: Vec::new(),
            redirect_uris: Vec::new(),
            issuer: None,
            consent: Consent::Approve,
            app: App::Standard,
            access_token_max_uses: None,
            api_latency: std::time::Duration::ZERO,
            token_latency: std::time::Duration::ZERO,
            refresh_token_ttl: None,
            session_tokens: false,
        }
    }
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("client_auth", &self.client_auth)
            .field("require_pkce", &self.require_pkce)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("issue_refresh_tokens", &self.issue_refresh_tokens)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("scopes_supported", &self.scopes_supported)
            .field("redirect_uris", &self.redirect_uris)
            .field("issuer", &self.issuer)
            .field("consent", &self.consent)
            .field("app", &self.app)
            .field("access_token_max_uses", &self.access_token_max_uses)
            .field("api_latency", &self.api_latency)
            .field("token_latency", &self.token_latency)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("session_tokens", &self.session_tokens)
            .finish()
    }
}
