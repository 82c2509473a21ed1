//! Records written by hand instead of generated, for two reasons:
//!
//! - those that carry secrets (the client secret, `state`, codes, verifiers, tokens) get a
//!   `Debug` that prints `<redacted>`, so a plugin that logs `{ctx:?}` leaks nothing into the
//!   host's trace;
//! - the error variants get a `Display` that reads as a sentence, since the host shows it to the
//!   admin, and `From` conversions so `?` works across them.
//!
//! Their shape is exactly the WIT's; the bindings are generated against them (`with:` in
//! `bindings.rs`), so a WIT change that is not mirrored here fails to compile.

use std::fmt;

use crate::bindings::exports::keyway::plugin::auth_flow::Expiry;
use crate::bindings::keyway::plugin::types::{AuthMethod, ClientAuth, Json, Pairs, ProviderError};

/// Printed in place of a secret by the `Debug` impls below.
const REDACTED: &str = "<redacted>";

/// Formats an optional secret for `Debug` without showing it.
fn redact_opt(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| REDACTED)
}

/// The integration as the admin registered it: the form fields of the help article.
///
/// Auth hooks receive it (the token request needs the client secret); actions never do.
/// `Debug` redacts `client_secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct Integration {
    /// How connections authenticate: the browser flow, Basic, or a static token.
    pub auth_method: AuthMethod,
    /// The OAuth2 client id.
    pub client_id: String,
    /// The OAuth2 client secret. Only put it on the wire to the token or revoke endpoint.
    pub client_secret: String,
    /// Scheme and host (and port), no path: `https://yourapp.com`.
    pub site: String,
    /// Absolute: `https://yourapp.com/login/oauth/authorize`.
    pub authorization_url: String,
    /// Path on `site`: `/login/oauth/access_token`. See [`Integration::token_url`].
    pub token_path: String,
    /// Path on `site`, when the app can revoke tokens. See [`Integration::revoke_url`].
    pub revoke_path: Option<String>,
    /// The scopes to request, in the admin's order.
    pub scopes: Vec<String>,
    /// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
    pub client_auth: ClientAuth,
    /// Whether the host sends a PKCE challenge; the hooks see the challenge and verifier.
    pub pkce: bool,
    /// The integration's plugin settings, a JSON object. See [`Integration::settings`].
    pub settings: Json,
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integration")
            .field("auth_method", &self.auth_method)
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("site", &self.site)
            .field("authorization_url", &self.authorization_url)
            .field("token_path", &self.token_path)
            .field("revoke_path", &self.revoke_path)
            .field("scopes", &self.scopes)
            .field("client_auth", &self.client_auth)
            .field("pkce", &self.pkce)
            .field("settings", &self.settings)
            .finish()
    }
}

/// What the host minted for a new authorization; the input of `authorize_url`.
///
/// `Debug` redacts `state` and `code_challenge`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The host's public URL plus `/oauth`. The token request must reuse it exactly.
    pub redirect_uri: String,
    /// Single-use and bound to the pending connection; send it unchanged.
    pub state: String,
    /// The S256 PKCE challenge, when the integration uses PKCE.
    pub code_challenge: Option<String>,
}

impl fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &REDACTED)
            .field("code_challenge", &redact_opt(&self.code_challenge))
            .finish()
    }
}

/// What `parse_callback` read from the provider's redirect back to the host.
///
/// `Debug` redacts `code`.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackResult {
    /// The authorization code to exchange.
    pub code: String,
    /// Non-secret values to keep on the connection (`realmId`, `shop`).
    pub metadata: Pairs,
}

impl fmt::Debug for CallbackResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackResult").field("code", &REDACTED).field("metadata", &self.metadata).finish()
    }
}

/// An authorization-code exchange (RFC 6749 §4.1.3).
///
/// `Debug` redacts `code` and `code_verifier`.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeGrant {
    /// The code from the callback.
    pub code: String,
    /// Exactly the `redirect_uri` the authorize request used; send it unchanged.
    pub redirect_uri: String,
    /// The PKCE verifier, when the integration uses PKCE.
    pub code_verifier: Option<String>,
}

impl fmt::Debug for CodeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeGrant")
            .field("code", &REDACTED)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &redact_opt(&self.code_verifier))
            .finish()
    }
}

/// A refresh (RFC 6749 §6). Apps without refresh tokens refresh with the access token.
///
/// `Debug` redacts both tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// The connection's refresh token, when the provider issued one.
    pub refresh_token: Option<String>,
    /// The current access token, for apps that refresh with it.
    pub access_token: String,
}

impl fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshGrant")
            .field("refresh_token", &redact_opt(&self.refresh_token))
            .field("access_token", &REDACTED)
            .finish()
    }
}

/// The tokens a token response carried; the output of `parse_token_response`.
///
/// `Debug` redacts both tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// `None` on a refresh keeps the refresh token the host already has.
    pub refresh_token: Option<String>,
    /// `Bearer`, usually; `None` when the provider does not say.
    pub token_type: Option<String>,
    /// `None` is a token that does not expire.
    pub expiry: Option<Expiry>,
    /// The scopes granted, when the provider says.
    pub scopes: Option<Vec<String>>,
    /// Non-secret values to keep on the connection (`instance_url`, `workspace_id`).
    pub metadata: Pairs,
    /// When the refresh token itself expires (`refresh_token_expires_in`); `None` on a refresh
    /// keeps the expiry the host has, unless the refresh token changed.
    pub refresh_expiry: Option<Expiry>,
    /// Secrets to keep beside the tokens (a session token from a follow-up login call). Sealed,
    /// never returned by the API; placements name them `{secrets.NAME}`.
    pub secrets: Vec<NamedSecret>,
}

impl TokenSet {
    /// A token set with only an access token: add the rest with struct update syntax.
    pub fn bearer(access_token: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            token_type: Some("Bearer".into()),
            expiry: None,
            scopes: None,
            metadata: Vec::new(),
            refresh_expiry: None,
            secrets: Vec::new(),
        }
    }
}

/// A secret the connection keeps beside its tokens, named for placements (`{secrets.NAME}`).
///
/// `Debug` redacts `value`.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedSecret {
    /// `[a-z0-9_]`, at most 64 bytes.
    pub name: String,
    /// The secret.
    pub value: String,
}

impl NamedSecret {
    /// A secret named `name`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

impl fmt::Debug for NamedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedSecret").field("name", &self.name).field("value", &REDACTED).finish()
    }
}

/// The live credentials `sign_request` signs with.
///
/// `Debug` redacts every value.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access token (oauth2) or the static token (token integrations).
    pub access_token: Option<String>,
    /// The connection's named secrets.
    pub secrets: Vec<NamedSecret>,
}

impl Credentials {
    /// The named secret `name`, if the connection has it.
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets.iter().find(|s| s.name == name).map(|s| s.value.as_str())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &redact_opt(&self.access_token))
            .field("secrets", &self.secrets)
            .finish()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &REDACTED)
            .field("refresh_token", &redact_opt(&self.refresh_token))
            .field("token_type", &self.token_type)
            .field("expiry", &self.expiry)
            .field("scopes", &self.scopes)
            .field("metadata", &self.metadata)
            .field("refresh_expiry", &self.refresh_expiry)
            .field("secrets", &self.secrets)
            .finish()
    }
}

/// The token to revoke (RFC 7009); the input of `revoke_request`.
///
/// `Debug` redacts `token`.
#[derive(Clone, PartialEq, Eq)]
pub struct RevokeTarget {
    /// The refresh token when the connection has one (revoking it ends the grant at most
    /// providers), else the access token.
    pub token: String,
    /// `refresh_token` or `access_token`: which one `token` is.
    pub token_type_hint: String,
    /// The access token, always: for apps that revoke by access token only.
    pub access_token: String,
}

impl fmt::Debug for RevokeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevokeTarget")
            .field("token", &REDACTED)
            .field("token_type_hint", &self.token_type_hint)
            .field("access_token", &REDACTED)
            .finish()
    }
}

/// Why an auth hook failed. The host shows it to the admin, so say what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The provider said no (RFC 6749 §5.2 or the app's own format).
    Provider(ProviderError),
    /// The provider answered something the plugin cannot read.
    InvalidResponse(String),
    /// The integration or connection is configured in a way this plugin cannot use.
    InvalidConfig(String),
    /// An outbound call made inside the hook failed.
    Transport(String),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.code)?;
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(uri) = &self.uri {
            write!(f, " (see {uri})")?;
        }
        Ok(())
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Provider(e) => write!(f, "the provider returned an error {e}"),
            AuthError::InvalidResponse(m) => {
                write!(f, "the provider's response is unreadable: {m}")
            }
            AuthError::InvalidConfig(m) => write!(f, "the configuration cannot be used: {m}"),
            AuthError::Transport(m) => write!(f, "an outbound call failed: {m}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Why an outbound or API call made through the host failed.
///
/// A breached call cap or deadline is not among these: the host stops the plugin at the call
/// that breached it, and reports the limit to whoever ran it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is outside the allowlist, or not https.
    Denied(String),
    /// No answer in time.
    Timeout,
    /// The request or response is over the host's size cap.
    TooLarge(String),
    /// Connection refused, DNS failure, TLS failure...
    Transport(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "denied by the host's egress policy: {m}"),
            HttpError::Timeout => write!(f, "timed out waiting for the answer"),
            HttpError::TooLarge(m) => write!(f, "over the host's size cap: {m}"),
            HttpError::Transport(m) => write!(f, "transport failure: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A failed outbound call inside an auth hook is [`AuthError::Transport`], so hooks can use `?`
/// on [`crate::http::send`].
impl From<HttpError> for AuthError {
    fn from(e: HttpError) -> Self {
        AuthError::Transport(e.to_string())
    }
}

/// Why an action failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// The input is wrong; say which field and how to fix it.
    InvalidInput(String),
    /// The app's API failed or refused.
    Upstream(String),
    /// The plugin itself failed.
    Plugin(String),
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            ActionError::Upstream(m) => write!(f, "the app's API failed: {m}"),
            ActionError::Plugin(m) => write!(f, "the plugin failed: {m}"),
        }
    }
}

impl std::error::Error for ActionError {}

/// A failed API call inside an action is [`ActionError::Upstream`], so actions can use `?` on
/// [`crate::api::call`].
impl From<HttpError> for ActionError {
    fn from(e: HttpError) -> Self {
        ActionError::Upstream(e.to_string())
    }
}
