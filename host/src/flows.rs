//! The OAuth2 flow, driven through plugin hooks.
//!
//! The host mints `state` and the PKCE verifier, enforces egress, stamps times and keeps the
//! secrets; every request on the wire comes from the plugin. This module knows nothing of
//! storage: callers load a [`ConnectionState`], run a step, and persist what it returns.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keyway_policy::text::{self as clip, clip_plugin_text};
use oauth2::{CsrfToken, PkceCodeChallenge};
use sha2::{Digest, Sha256};
use url::Url;

use crate::connection::{ConnectionState, Credentials, Tokens, unix_seconds};
use crate::egress::{Allowlist, EgressClient, EgressError, OutboundRequest, OutboundResponse};
use crate::engine::bindings::auth_flow::{
    self, AuthPlacement, AuthorizeRequest, CodeGrant, Expiry, Grant, RefreshGrant, RevokeTarget,
};
use crate::engine::bindings::types::{self as wit, AuthError, HookContext};
use crate::engine::{CallEnv, CallError, LoadedPlugin, PluginEngine, fill_placeholders};
use crate::integration::{AuthMethod, ClientAuth, IntegrationConfig};
use crate::redact::Redactor;
use crate::secret::{AccessToken, AuthorizationCode, NamedSecretValue, PkceVerifier, StateToken};
use crate::trace::Recorder;

/// Caps on what a plugin may hand back, so a hostile provider cannot bloat the store.
const MAX_TOKEN_BYTES: usize = 64 << 10;
const MAX_METADATA_ENTRIES: usize = 64;
const MAX_METADATA_VALUE: usize = 4096;
/// A provider's error code is a short word (`invalid_grant`).
const MAX_PROVIDER_CODE: usize = 128;
/// An `expires_in` beyond this is treated as this: ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;
/// How many named secrets a connection keeps, and how long a name may be.
const MAX_NAMED_SECRETS: usize = 16;
const MAX_SECRET_NAME: usize = 64;
/// How many connections' API targets one [`Flows`] remembers. An entry is a URL, a few
/// placement templates and an allowlist: well under a KiB.
const API_MEMO_ENTRIES: usize = 4096;

/// Why a flow step failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The provider refused (RFC 6749 §5.2 or the app's own error).
    #[error("the provider answered `{code}`{}", description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Provider {
        /// `invalid_grant`, `access_denied`, ...
        code: String,
        /// The provider's explanation.
        description: Option<String>,
    },
    /// The provider's answer could not be understood.
    #[error("the provider's answer could not be read: {0}")]
    InvalidResponse(String),
    /// The integration or connection is configured in a way the plugin cannot use.
    #[error("configuration problem: {0}")]
    Config(String),
    /// The request could not be sent or got no answer.
    #[error(transparent)]
    Egress(#[from] EgressError),
    /// The plugin itself failed (trap, limits).
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// The callback does not match what was sent.
    #[error("callback refused: {0}")]
    Callback(String),
    /// The token endpoint is overloaded or failing (429 or 5xx): worth retrying later.
    #[error("the token endpoint answered {status}; retry later")]
    Unavailable {
        /// 429 or 5xx.
        status: u16,
        /// The provider's `Retry-After`, in seconds form.
        retry_after: Option<Duration>,
    },
}

impl FlowError {
    /// The same error with every secret `redactor` knows masked in its text: providers
    /// sometimes echo what they were sent ("invalid code mock-code-…").
    pub fn scrubbed(self, redactor: &Redactor) -> Self {
        let s = |text: String| redactor.scrub(&text);
        match self {
            FlowError::Provider { code, description } => {
                FlowError::Provider { code: s(code), description: description.map(s) }
            }
            FlowError::InvalidResponse(m) => FlowError::InvalidResponse(s(m)),
            FlowError::Config(m) => FlowError::Config(s(m)),
            FlowError::Callback(m) => FlowError::Callback(s(m)),
            FlowError::Egress(EgressError::Denied(m)) => FlowError::Egress(EgressError::Denied(s(m))),
            FlowError::Egress(EgressError::Transport(m)) => FlowError::Egress(EgressError::Transport(s(m))),
            FlowError::Egress(EgressError::TooLarge(m)) => FlowError::Egress(EgressError::TooLarge(s(m))),
            other => other,
        }
    }

    /// Whether the provider said the grant is dead: the user must reconnect.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, FlowError::Provider { code, .. } if code == "invalid_grant")
    }
}

/// A plugin's error, its text clipped: it reaches `last_error`, logs and API answers.
impl From<AuthError> for FlowError {
    fn from(e: AuthError) -> Self {
        let clip = clip_plugin_text;
        match e {
            AuthError::Provider(p) => FlowError::Provider {
                code: clip::clip(&p.code, MAX_PROVIDER_CODE).into_owned(),
                description: p.description.map(clip),
            },
            AuthError::InvalidResponse(m) => FlowError::InvalidResponse(clip(m)),
            AuthError::InvalidConfig(m) => FlowError::Config(clip(m)),
            AuthError::Transport(m) => FlowError::Egress(EgressError::Transport(clip(m))),
        }
    }
}

/// A started authorization: what the host must remember until the callback.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    /// Where to send the browser.
    pub authorize_url: String,
    /// Single-use; the callback must bring it back.
    pub state: StateToken,
    /// The PKCE verifier, when PKCE is on.
    pub verifier: Option<PkceVerifier>,
    /// The exact redirect URI the authorize request used; the token request repeats it.
    pub redirect_uri: String,
    /// After this the state is refused.
    pub expires_at: SystemTime,
}

/// A Web API request through a connection.
#[derive(Debug, Clone, Default)]
pub struct ApiCall {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Relative to the API base, or absolute within the allowlist.
    pub path: String,
    /// Extra query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers; any `Authorization` is dropped, the host attaches credentials.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
}

/// Where a connection's API is and how credentials go on its requests, as the plugin said.
/// Holds templates, never secrets.
#[derive(Debug, Clone)]
pub struct ApiTarget {
    resolved: Arc<ResolvedApi>,
    /// Built per call from the live integration and connection: it holds their secrets, which
    /// the memo never keeps.
    redactor: Redactor,
    /// The plugin, when its manifest says it signs requests.
    signer: Option<Arc<LoadedPlugin>>,
}

/// What `api-base` and `api-auth` answered, checked, with the allowlist it was checked
/// against: all functions of the plugin and the hook context, so they can be remembered under
/// a digest of those. No secret: placements are templates, filled per call.
#[derive(Debug)]
struct ResolvedApi {
    base: Url,
    auth: Vec<AuthPlacement>,
    allowlist: Allowlist,
}

impl ApiTarget {
    /// The base URL relative API paths resolve against.
    pub fn base(&self) -> &Url {
        &self.resolved.base
    }

    /// How credentials go on each request, as templates (`Bearer {access_token}`).
    pub fn placements(&self) -> &[AuthPlacement] {
        &self.resolved.auth
    }

    /// The integration's secrets (the client secret) and the credentials the target was made
    /// with, for masking.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Every secret a call to this target with `conn`'s current credentials carries, in each
    /// spelling the placements derive from it: a token placed in HTTP Basic travels as
    /// base64, and an API that echoes the header must not hand that form to action code.
    pub fn redactor_for(&self, integration: &IntegrationConfig, conn: &ConnectionState) -> Redactor {
        let mut redactor = self.redactor.clone();
        conn.credentials.register(&mut redactor);
        let values = TemplateValues { conn, integration };
        for placement in &self.resolved.auth {
            if let AuthPlacement::Basic((user, pass)) = placement
                && let (Ok(user), Ok(pass)) = (values.fill(user), values.fill(pass))
            {
                crate::redact::add_basic_credentials(&mut redactor, &user, &pass);
            }
        }
        redactor
    }
}

/// The API targets already resolved, by [`api_memo_key`]: an API call on a known connection
/// pays no plugin instance. Bounded; the oldest entry goes first. A changed integration,
/// input or metadata value is a different key, so nothing needs invalidating: stale entries
/// just age out.
struct ApiMemo {
    /// Random per memo, hashed first: a digest of a weak client secret cannot be checked
    /// against guesses without it.
    salt: String,
    entries: Mutex<MemoEntries>,
}

#[derive(Default)]
struct MemoEntries {
    map: HashMap<[u8; 32], Arc<ResolvedApi>>,
    order: VecDeque<[u8; 32]>,
}

impl std::fmt::Debug for ApiMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiMemo").field("entries", &self.entries.lock().map_or(0, |e| e.map.len())).finish()
    }
}

impl ApiMemo {
    fn new() -> Self {
        Self { salt: CsrfToken::new_random().secret().clone(), entries: Mutex::default() }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Arc<ResolvedApi>> {
        self.entries.lock().expect("api memo").map.get(key).cloned()
    }

    fn insert(&self, key: [u8; 32], value: Arc<ResolvedApi>) {
        let mut entries = self.entries.lock().expect("api memo");
        if entries.map.insert(key, value).is_some() {
            // Two calls missed at once and both asked the plugin: the order already has it.
            return;
        }
        entries.order.push_back(key);
        while entries.order.len() > API_MEMO_ENTRIES {
            if let Some(oldest) = entries.order.pop_front() {
                entries.map.remove(&oldest);
            }
        }
    }
}

/// The memo key of `api-base` and `api-auth` for the plugin of `plugin_hash` on this integration and connection:
/// a SHA-256 over an unambiguous encoding (every field length-prefixed) of the memo's salt,
/// the component hash, every field of the integration and the connection's inputs and
/// metadata. That covers everything [`hook_context`] derives the hooks' view from, without
/// building that view (a copy of every field) on each call. The integration holds the client
/// secret and secret settings; only this digest of them is kept. Both destructurings are
/// exhaustive, so a field added to either cannot be left out of the key.
fn api_memo_key(salt: &str, plugin_hash: &str, integration: &IntegrationConfig, conn: &ConnectionState) -> [u8; 32] {
    let IntegrationConfig {
        name,
        auth_method,
        plugin: plugin_name,
        client_id,
        client_secret,
        site,
        authorization_url,
        token_path,
        revoke_path,
        scopes,
        client_auth,
        issuer,
        pkce,
        settings,
        secret_settings,
        mcp_web_request,
    } = integration;
    // The hooks never see the credentials (they are filled into the placements per call) or
    // the id: connections alike in the rest share one entry.
    let ConnectionState { id: _, inputs, metadata, credentials: _ } = conn;
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(b"keyway api-target memo v2");
    field(salt.as_bytes());
    field(plugin_hash.as_bytes());
    let auth_method = match auth_method {
        AuthMethod::Oauth2 => "oauth2",
        AuthMethod::Basic => "basic",
        AuthMethod::Token => "token",
    };
    field(auth_method.as_bytes());
    for text in [name, plugin_name, client_id, site, authorization_url, token_path] {
        field(text.as_bytes());
    }
    for optional in [client_secret.as_ref().map(|s| s.secret()), revoke_path.as_deref(), issuer.as_deref()] {
        match optional {
            Some(text) => {
                field(b"some");
                field(text.as_bytes());
            }
            None => field(b"none"),
        }
    }
    field(&(scopes.len() as u64).to_le_bytes());
    for scope in scopes {
        field(scope.as_bytes());
    }
    let client_auth = match client_auth {
        ClientAuth::Basic => "basic",
        ClientAuth::Post => "post",
        ClientAuth::BasicAndPost => "basic-and-post",
    };
    field(client_auth.as_bytes());
    field(&[u8::from(*pkce), u8::from(*mcp_web_request)]);
    // Serialising a `Value` cannot fail.
    field(&serde_json::to_vec(settings).unwrap_or_default());
    field(&(secret_settings.len() as u64).to_le_bytes());
    for (k, v) in secret_settings {
        field(k.as_bytes());
        field(v.secret().as_bytes());
    }
    for pairs in [inputs, metadata] {
        field(&(pairs.len() as u64).to_le_bytes());
        for (k, v) in pairs {
            field(k.as_bytes());
            field(v.as_bytes());
        }
    }
    hasher.finalize().into()
}

/// Runs flow steps. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Flows {
    engine: Arc<PluginEngine>,
    egress: EgressClient,
    redirect_uri: String,
    state_ttl: Duration,
    api_memo: Arc<ApiMemo>,
}

impl Flows {
    /// `redirect_uri` is the public URL plus `/oauth`.
    pub fn new(engine: Arc<PluginEngine>, egress: EgressClient, redirect_uri: String, state_ttl: Duration) -> Self {
        Self { engine, egress, redirect_uri, state_ttl, api_memo: Arc::new(ApiMemo::new()) }
    }

    /// The redirect URI every authorize request carries.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The plugin engine.
    pub fn engine(&self) -> &Arc<PluginEngine> {
        &self.engine
    }

    /// The egress client.
    pub fn egress(&self) -> &EgressClient {
        &self.egress
    }

    /// Mints `state` and PKCE, and asks the plugin for the authorize URL.
    pub async fn begin(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
    ) -> Result<PendingAuthorization, FlowError> {
        let state = StateToken::new(CsrfToken::new_random().secret().clone());
        let (challenge, verifier) = if integration.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            (Some(challenge.as_str().to_string()), Some(PkceVerifier::new(verifier.secret().clone())))
        } else {
            (None, None)
        };
        let env = self.env(plugin, integration, conn, &Recorder::off())?;
        let req = AuthorizeRequest {
            redirect_uri: self.redirect_uri.clone(),
            state: state.secret().to_string(),
            code_challenge: challenge,
        };
        let (result, env) = self.engine.authorize_url(plugin, env, hook_context(integration, conn), req).await?;
        let authorize_url = result?;
        let parsed = Url::parse(&authorize_url).map_err(|e| {
            FlowError::Config(format!(
                "plugin `{}` returned an invalid authorize URL `{}`: {e}",
                plugin.manifest.name,
                clip::clip(&authorize_url, 256)
            ))
        })?;
        env.allowlist.check(&parsed)?;
        self.egress.config().check_scheme(&parsed)?;
        Ok(PendingAuthorization {
            authorize_url,
            state,
            verifier,
            redirect_uri: self.redirect_uri.clone(),
            expires_at: SystemTime::now() + self.state_ttl,
        })
    }

    /// Completes a callback whose `state` the caller has already matched (and consumed):
    /// checks the issuer, lets the plugin read the query, and exchanges the code. Returns the
    /// tokens; callback and token metadata are merged into `conn`.
    pub async fn complete(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &mut ConnectionState,
        pending: &PendingAuthorization,
        query: Vec<(String, String)>,
        trace: &Recorder,
    ) -> Result<Tokens, FlowError> {
        if pending.expires_at < SystemTime::now() {
            return Err(FlowError::Callback("this authorization expired; start the connection again".into()));
        }
        if let Some(issuer) = &integration.issuer {
            let iss = query.iter().find(|(k, _)| k == "iss").map(|(_, v)| v.as_str());
            if iss != Some(issuer.as_str()) {
                return Err(FlowError::Callback(format!(
                    "the callback's issuer `{}` is not the integration's issuer `{issuer}` (RFC 9207); check the integration's `issuer`",
                    iss.unwrap_or("(missing)")
                )));
            }
        }
        let env = self.env(plugin, integration, conn, trace)?;
        let (result, _) = self.engine.parse_callback(plugin, env, hook_context(integration, conn), query).await?;
        let callback = result?;
        check_metadata(&callback.metadata)?;
        conn.merge_metadata(callback.metadata);
        let code = AuthorizationCode::new(callback.code);
        let grant = Grant::AuthorizationCode(CodeGrant {
            code: code.secret().to_string(),
            redirect_uri: pending.redirect_uri.clone(),
            code_verifier: pending.verifier.as_ref().map(|v| v.secret().to_string()),
        });
        let mut redactor = Redactor::default();
        redactor.add(code.secret());
        if let Some(v) = &pending.verifier {
            redactor.add(v.secret());
        }
        self.token_exchange(plugin, integration, conn, grant, redactor.clone(), None, trace)
            .await
            .map_err(|e| e.scrubbed(&redactor))
    }

    /// Refreshes the connection's tokens. A response without a refresh token keeps the old one.
    pub async fn refresh(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &mut ConnectionState,
        trace: &Recorder,
    ) -> Result<Tokens, FlowError> {
        let Some(current) = conn.credentials.tokens().cloned() else {
            return Err(FlowError::Config("the connection has no OAuth tokens to refresh; connect it first".into()));
        };
        let grant = Grant::Refresh(RefreshGrant {
            refresh_token: current.refresh_token.as_ref().map(|r| r.secret().to_string()),
            access_token: current.access_token.secret().to_string(),
        });
        self.token_exchange(plugin, integration, conn, grant, Redactor::default(), Some(current), trace).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn token_exchange(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &mut ConnectionState,
        grant: Grant,
        extra_secrets: Redactor,
        previous: Option<Tokens>,
        trace: &Recorder,
    ) -> Result<Tokens, FlowError> {
        let mut env = self.env(plugin, integration, conn, trace)?;
        env.redactor = merge(env.redactor, &extra_secrets);
        let ctx = hook_context(integration, conn);
        let (result, env) = self.engine.token_request(plugin, env, ctx.clone(), grant.clone()).await?;
        let request: OutboundRequest = result?.into();

        // Expiry counts from the moment the request left, not from when the answer came.
        let sent_at = SystemTime::now();
        let response = self.egress.send(&env.allowlist, &request, &env.redactor, trace).await?;
        if response.status == 429 || response.status >= 500 {
            return Err(FlowError::Unavailable { status: response.status, retry_after: response.retry_after() });
        }

        let (result, _) = self.engine.parse_token_response(plugin, env, ctx, grant, response.into()).await?;
        let set = result?;
        let metadata = set.metadata.clone();
        let tokens = accept_token_set(set, sent_at, previous.as_ref())?;
        check_metadata(&metadata)?;
        for (_, value) in &metadata {
            if value.contains(tokens.access_token.secret())
                || tokens.refresh_token.as_ref().is_some_and(|r| value.contains(r.secret()))
                || tokens.secrets.iter().any(|(_, s)| value.contains(s.secret()))
            {
                return Err(FlowError::InvalidResponse(format!(
                    "plugin `{}` put a token into connection metadata, which is not secret storage",
                    plugin.manifest.name
                )));
            }
        }
        conn.merge_metadata(metadata);
        conn.credentials = Credentials::OAuth(tokens.clone());
        Ok(tokens)
    }

    /// Revokes the connection's grant at the provider (RFC 7009): the refresh token when
    /// there is one, else the access token. Returns `false` when the plugin has no revoke
    /// request (no revoke path).
    pub async fn revoke(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        trace: &Recorder,
    ) -> Result<bool, FlowError> {
        let Some(tokens) = conn.credentials.tokens() else {
            return Ok(false);
        };
        let access_token = tokens.access_token.secret().to_string();
        let target = match &tokens.refresh_token {
            Some(r) => {
                RevokeTarget { token: r.secret().to_string(), token_type_hint: "refresh_token".into(), access_token }
            }
            None => RevokeTarget { token: access_token.clone(), token_type_hint: "access_token".into(), access_token },
        };
        let env = self.env(plugin, integration, conn, trace)?;
        let (result, env) = self.engine.revoke_request(plugin, env, hook_context(integration, conn), target).await?;
        let Some(request) = result? else {
            return Ok(false);
        };
        let response = self.egress.send(&env.allowlist, &request.into(), &env.redactor, trace).await?;
        if !(200..300).contains(&response.status) {
            return Err(FlowError::Provider {
                code: format!("http_{}", response.status),
                description: Some(
                    keyway_policy::text::clip(&String::from_utf8_lossy(&response.body), 200).into_owned(),
                ),
            });
        }
        Ok(true)
    }

    /// Sends a Web API request through the connection: resolves the path against the
    /// plugin's API base, attaches credentials as the plugin's `api-auth` says, and sends it
    /// under the connection's allowlist. The answer comes back with the connection's secrets
    /// masked.
    pub async fn api_request(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        call: ApiCall,
        trace: &Recorder,
    ) -> Result<OutboundResponse, FlowError> {
        let started = std::time::Instant::now();
        let response = async {
            let target = self.api_target(plugin, integration, conn, trace).await?;
            let redactor = target.redactor_for(integration, conn);
            let response = self.send_api(&target, integration, conn, call, &redactor, trace).await?;
            Ok(response.scrubbed(&redactor))
        }
        .await;
        let status = response.as_ref().ok().map(|r: &OutboundResponse| r.status);
        crate::metrics::web_api_request(&integration.name, status, started.elapsed());
        response
    }

    /// Asks the plugin where the connection's API is and how to authenticate to it. The
    /// answer holds no secret (placements are templates), so an action computes it once and
    /// reuses it for every call, across refreshes.
    ///
    /// The answers of `api-base` and `api-auth` are remembered under a digest of the plugin and
    /// of everything the hooks see ([`hook_context`]): the next call with the same context
    /// starts no instance. An answer is not remembered when the hook failed, or when it sent an
    /// outbound request, since then it may depend on more than its context.
    pub async fn api_target(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        trace: &Recorder,
    ) -> Result<ApiTarget, FlowError> {
        let key = api_memo_key(&self.api_memo.salt, &plugin.hash, integration, conn);
        let memo = self.api_memo.get(&key);
        crate::metrics::cache_lookup(crate::metrics::CACHE_API_TARGETS, memo.is_some());
        let resolved = match memo {
            Some(resolved) => resolved,
            None => {
                let ctx = hook_context(integration, conn);
                // Boxed: the hooks' instance calls are most of this future's size, and a memo
                // hit (nearly every call) should not carry room for them.
                let (resolved, sent) = Box::pin(self.resolve_api(plugin, integration, conn, ctx, trace)).await?;
                let resolved = Arc::new(resolved);
                if sent == 0 {
                    self.api_memo.insert(key, resolved.clone());
                }
                resolved
            }
        };
        // Cloned only for signing plugins: the others keep the fast path.
        let signer = plugin.manifest.signs_requests.then(|| Arc::new(plugin.clone()));
        Ok(ApiTarget { resolved, redactor: secrets_of(integration, conn), signer })
    }

    /// Runs `api-base` and `api-auth` and checks the base against the connection's
    /// allowlist. Also returns how many outbound requests the two hooks sent.
    async fn resolve_api(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        ctx: HookContext,
        trace: &Recorder,
    ) -> Result<(ResolvedApi, u32), FlowError> {
        let env = self.env(plugin, integration, conn, trace)?;
        let (base, env, sent_for_base) = self.engine.api_base_counted(plugin, env, ctx.clone()).await?;
        let base = base?;
        let (auth, env, sent_for_auth) = self.engine.api_auth_counted(plugin, env, ctx).await?;
        let auth = auth?;
        let name = &plugin.manifest.name;
        let base = Url::parse(&base).map_err(|e| {
            FlowError::Config(format!("plugin `{name}` gave an invalid API base `{}`: {e}", clip::clip(&base, 256)))
        })?;
        // The API base gets the connection's credentials, so it must already be inside the
        // allowlist: a plugin (or a value it read from a token response) can point it at
        // another host only if the manifest declared that host.
        env.allowlist.check(&base).map_err(|e| {
            let reason = match e {
                EgressError::Denied(m) => m,
                other => other.to_string(),
            };
            FlowError::Config(format!(
                "plugin `{name}` gave an API base outside its allowlist: {}",
                clip::clip(&reason, 512)
            ))
        })?;
        Ok((ResolvedApi { base, auth, allowlist: env.allowlist }, sent_for_base + sent_for_auth))
    }

    /// Sends one API call to `target` with the connection's current credentials. `redactor`
    /// knows the secrets the call carries ([`ApiTarget::redactor_for`] `conn`, or more).
    pub async fn send_api(
        &self,
        target: &ApiTarget,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        call: ApiCall,
        redactor: &Redactor,
        trace: &Recorder,
    ) -> Result<OutboundResponse, FlowError> {
        let mut url = resolve_api_url(&target.resolved.base, &call.path)?;
        for (k, v) in &call.query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let mut headers: Vec<(String, String)> =
            call.headers.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("authorization")).collect();
        let values = TemplateValues { conn, integration };
        for placement in &target.resolved.auth {
            match placement {
                AuthPlacement::Header((name, template)) => {
                    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
                    headers.push((name.clone(), values.fill(template)?));
                }
                AuthPlacement::Query((name, template)) => {
                    url.query_pairs_mut().append_pair(name, &values.fill(template)?);
                }
                AuthPlacement::Basic((user, pass)) => {
                    use base64::Engine as _;
                    let pair = format!("{}:{}", values.fill(user)?, values.fill(pass)?);
                    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
                    headers.push((
                        "Authorization".into(),
                        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)),
                    ));
                }
                AuthPlacement::None => {}
            }
        }
        let request = OutboundRequest { method: call.method, url: url.to_string(), headers, body: call.body };
        let allowlist = &target.resolved.allowlist;
        Ok(match &target.signer {
            Some(plugin) => {
                // The signed request may point anywhere: egress parses and checks it afresh.
                // Boxed, so plugins that sign nothing do not carry the hook call's room.
                let signed = Box::pin(self.sign(plugin, integration, conn, request, redactor)).await?;
                self.egress.send(allowlist, &signed, redactor, trace).await?
            }
            None => self.egress.send_parsed(allowlist, &request, url, redactor, trace).await?,
        })
    }

    /// Has the plugin sign one API call. The hook runs in an instance of its own with an empty
    /// allowlist: it sees the live credentials, so it may compute but not send. What it
    /// returns goes through the same egress checks as any request.
    async fn sign(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        request: OutboundRequest,
        redactor: &Redactor,
    ) -> Result<OutboundRequest, FlowError> {
        let mut env = CallEnv::sealed(&plugin.manifest.name, self.egress.clone());
        env.integration = integration.name.clone();
        env.redactor = redactor.clone();
        let (access_token, secrets) = match &conn.credentials {
            Credentials::OAuth(t) => (
                Some(t.access_token.secret().to_string()),
                t.secrets
                    .iter()
                    .map(|(name, value)| auth_flow::NamedSecret {
                        name: name.clone(),
                        value: value.secret().to_string(),
                    })
                    .collect(),
            ),
            Credentials::Token(t) => (Some(t.secret().to_string()), Vec::new()),
            _ => (None, Vec::new()),
        };
        let credentials = auth_flow::Credentials { access_token, secrets };
        let wire =
            wit::HttpRequest { method: request.method, url: request.url, headers: request.headers, body: request.body };
        let (signed, _) =
            self.engine.sign_request(plugin, env, hook_context(integration, conn), wire, credentials).await?;
        Ok(signed?.into())
    }

    /// The sandbox environment for one hook call on this connection: its allowlist, the
    /// secrets to mask, and where what it sends is recorded.
    fn env(
        &self,
        plugin: &LoadedPlugin,
        integration: &IntegrationConfig,
        conn: &ConnectionState,
        trace: &Recorder,
    ) -> Result<CallEnv, FlowError> {
        let mut allowlist = Allowlist::default();
        allowlist.allow(&integration.site).map_err(FlowError::Config)?;
        if integration.auth_method == AuthMethod::Oauth2 {
            allowlist.allow(&integration.authorization_url).map_err(FlowError::Config)?;
        }
        // Host templates name connection inputs, plus the integration's site, so a tenant
        // plugin can declare `{site_scheme}://{subdomain}.{site_host}`.
        let mut site_vars = Vec::new();
        if let Ok(site) = Url::parse(&integration.site) {
            let host = site.host_str().unwrap_or_default();
            let host = site.port().map_or(host.to_string(), |p| format!("{host}:{p}"));
            site_vars.push(("site_host", host));
            site_vars.push(("site_scheme", site.scheme().to_string()));
        }
        let hosts = plugin
            .manifest
            .hosts_for(&site_vars, &conn.inputs)
            .map_err(|e| FlowError::Config(format!("plugin `{}` host template: {e}", plugin.manifest.name)))?;
        for host in hosts {
            allowlist.allow(&host).map_err(|e| {
                FlowError::Config(format!("plugin `{}` declares host `{host}`: {e}", plugin.manifest.name))
            })?;
        }
        let redactor = secrets_of(integration, conn);
        Ok(CallEnv {
            plugin: plugin.manifest.name.clone(),
            integration: integration.name.clone(),
            allowlist,
            egress: self.egress.clone(),
            redactor,
            api: None,
            recorder: trace.clone(),
        })
    }
}

/// The integration's and the connection's secrets, in every spelling the host derives from
/// them (the client credentials' Basic pair included).
pub fn secrets_of(integration: &IntegrationConfig, conn: &ConnectionState) -> Redactor {
    let mut redactor = Redactor::default();
    if let Some(secret) = &integration.client_secret {
        redactor.add(secret.secret());
        crate::redact::add_basic_credentials(&mut redactor, &integration.client_id, secret.secret());
    }
    for (_, value) in &integration.secret_settings {
        redactor.add(value.secret());
    }
    conn.credentials.register(&mut redactor);
    redactor
}

fn merge(mut base: Redactor, extra: &Redactor) -> Redactor {
    base.absorb(extra);
    base
}

/// The WIT view of an integration and connection, as auth hooks receive it.
pub fn hook_context(integration: &IntegrationConfig, conn: &ConnectionState) -> HookContext {
    HookContext {
        integration: wit::Integration {
            auth_method: match integration.auth_method {
                AuthMethod::Oauth2 => wit::AuthMethod::Oauth2,
                AuthMethod::Basic => wit::AuthMethod::Basic,
                AuthMethod::Token => wit::AuthMethod::Token,
            },
            client_id: integration.client_id.clone(),
            client_secret: integration.client_secret.as_ref().map(|s| s.secret().to_string()).unwrap_or_default(),
            site: integration.site.clone(),
            authorization_url: integration.authorization_url.clone(),
            token_path: integration.token_path.clone(),
            revoke_path: integration.revoke_path.clone(),
            scopes: integration.scopes.clone(),
            client_auth: match integration.client_auth {
                ClientAuth::Basic => wit::ClientAuth::Basic,
                ClientAuth::Post => wit::ClientAuth::Post,
                ClientAuth::BasicAndPost => wit::ClientAuth::BasicAndPost,
            },
            pkce: integration.pkce,
            settings: integration.hook_settings().to_string(),
        },
        inputs: conn.inputs.clone(),
        metadata: conn.metadata.clone(),
    }
}

/// Checks a plugin's token set and makes its expiry absolute from `sent_at`.
/// The tokens a plugin parsed, checked and made absolute. On a refresh, `previous` supplies
/// what the answer left out: the refresh token (and its expiry, when it is the same token)
/// and the named secrets not given again.
fn accept_token_set(
    set: auth_flow::TokenSet,
    sent_at: SystemTime,
    previous: Option<&Tokens>,
) -> Result<Tokens, FlowError> {
    if set.access_token.is_empty() {
        return Err(FlowError::InvalidResponse("the token response has an empty access token".into()));
    }
    if set.access_token.len() > MAX_TOKEN_BYTES || set.refresh_token.as_ref().is_some_and(|r| r.len() > MAX_TOKEN_BYTES)
    {
        return Err(FlowError::InvalidResponse(format!("a token is over {MAX_TOKEN_BYTES} bytes")));
    }
    let absolute = |e: Expiry| match e {
        Expiry::ExpiresIn(seconds) => unix_seconds(sent_at).saturating_add(seconds.min(MAX_EXPIRES_IN)),
        Expiry::ExpiresAt(at) => at,
    };
    let new_refresh = set.refresh_token.filter(|r| !r.is_empty()).map(crate::secret::RefreshToken::new);
    let refresh_changed =
        new_refresh.as_ref().is_some_and(|r| previous.and_then(|p| p.refresh_token.as_ref()) != Some(r));
    let refresh_expires_at = match set.refresh_expiry {
        Some(e) => Some(absolute(e)),
        // The expiry belongs to a token: a rotated token without one has none we know of.
        None if refresh_changed => None,
        None => previous.and_then(|p| p.refresh_expires_at),
    };
    let mut secrets = previous.map(|p| p.secrets.clone()).unwrap_or_default();
    for secret in set.secrets {
        let name = &secret.name;
        if name.is_empty()
            || name.len() > MAX_SECRET_NAME
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(FlowError::InvalidResponse(format!(
                "the plugin named a connection secret `{}`; use 1-{MAX_SECRET_NAME} lowercase letters, digits and underscores",
                clip::clip(name, 80)
            )));
        }
        if secret.value.is_empty() || secret.value.len() > MAX_TOKEN_BYTES {
            return Err(FlowError::InvalidResponse(format!(
                "connection secret `{name}` is empty or over {MAX_TOKEN_BYTES} bytes"
            )));
        }
        match secrets.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = NamedSecretValue::new(secret.value),
            None => secrets.push((secret.name, NamedSecretValue::new(secret.value))),
        }
    }
    if secrets.len() > MAX_NAMED_SECRETS {
        return Err(FlowError::InvalidResponse(format!(
            "the plugin keeps {} connection secrets; at most {MAX_NAMED_SECRETS} are allowed",
            secrets.len()
        )));
    }
    Ok(Tokens {
        access_token: AccessToken::new(set.access_token),
        refresh_token: new_refresh.or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        token_type: set.token_type,
        expires_at: set.expiry.map(absolute),
        scopes: set.scopes,
        refresh_expires_at,
        secrets,
    })
}

fn check_metadata(entries: &[(String, String)]) -> Result<(), FlowError> {
    if entries.len() > MAX_METADATA_ENTRIES {
        return Err(FlowError::InvalidResponse(format!("more than {MAX_METADATA_ENTRIES} metadata entries")));
    }
    if let Some((k, _)) = entries.iter().find(|(k, v)| k.len() > 128 || v.len() > MAX_METADATA_VALUE) {
        return Err(FlowError::InvalidResponse(format!("metadata `{k}` is over the size cap")));
    }
    Ok(())
}

fn resolve_api_url(base: &Url, path: &str) -> Result<Url, FlowError> {
    // A path is the common case, and no absolute URL starts with `/`: it is joined without
    // first being tried (and failing) as one.
    if !path.starts_with('/') {
        return Url::parse(path)
            .map_err(|_| FlowError::Config(format!("API path `{path}` must start with `/` or be an absolute URL")));
    }
    if base.query().is_some() || base.fragment().is_some() || base.cannot_be_a_base() {
        return join_and_parse(base, path);
    }
    // The base is already parsed: only the path, query and fragment are new. Setting them
    // runs the parser's own path and query steps, so the result is the URL that parsing the
    // joined text gives, without parsing the scheme and host again (IDNA mapping included)
    // on every call. Parsing text trims C0 controls and spaces from its end first.
    let path = path.trim_end_matches(|c: char| c <= ' ');
    let (rest, fragment) = match path.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (path, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let prefix = base.path().trim_end_matches('/');
    let mut url = base.clone();
    if prefix.is_empty() {
        url.set_path(path);
    } else {
        let mut joined = String::with_capacity(prefix.len() + path.len());
        joined.push_str(prefix);
        joined.push_str(path);
        url.set_path(&joined);
    }
    url.set_query(query);
    url.set_fragment(fragment);
    Ok(url)
}

/// Joins `path` onto the text of `base` and parses the whole: for bases with a query or a
/// fragment, where the text's order (query before the joined path) decides the result.
fn join_and_parse(base: &Url, path: &str) -> Result<Url, FlowError> {
    // Join onto the base's path, so a base of `https://x/v1` and a path `/users` give `/v1/users`.
    let base = base.as_str().trim_end_matches('/');
    let mut joined = String::with_capacity(base.len() + path.len());
    joined.push_str(base);
    joined.push_str(path);
    Url::parse(&joined).map_err(|e| FlowError::Config(format!("API path `{path}`: {e}")))
}

/// The values `api-auth` templates may name.
struct TemplateValues<'a> {
    conn: &'a ConnectionState,
    integration: &'a IntegrationConfig,
}

impl TemplateValues<'_> {
    fn fill(&self, template: &str) -> Result<String, FlowError> {
        fill_placeholders(template, |name| match name {
            "access_token" => match &self.conn.credentials {
                Credentials::OAuth(t) => Some(t.access_token.secret().to_string()),
                Credentials::Token(t) => Some(t.secret().to_string()),
                _ => None,
            },
            "username" => match &self.conn.credentials {
                Credentials::Basic { username, .. } => Some(username.clone()),
                _ => None,
            },
            "password" => match &self.conn.credentials {
                Credentials::Basic { password, .. } => Some(password.secret().to_string()),
                _ => None,
            },
            "client_id" => Some(self.integration.client_id.clone()),
            other => {
                let (scope, key) = other.split_once('.')?;
                if scope == "secrets" {
                    return self.conn.credentials.tokens()?.secret(key).map(|s| s.secret().to_string());
                }
                let source = match scope {
                    "metadata" => &self.conn.metadata,
                    "inputs" => &self.conn.inputs,
                    _ => return None,
                };
                source.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            }
        })
        .map_err(|e| FlowError::Config(format!("api-auth template: {e}; does the connection have its credentials?")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ClientSecret;

    #[test]
    fn expiry_is_counted_from_when_the_request_was_sent() {
        let sent_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let set = |expiry| auth_flow::TokenSet {
            access_token: "a".into(),
            refresh_token: None,
            token_type: None,
            expiry,
            scopes: None,
            metadata: vec![],
            refresh_expiry: None,
            secrets: vec![],
        };
        let tokens = accept_token_set(set(Some(Expiry::ExpiresIn(60))), sent_at, None).unwrap();
        assert_eq!(tokens.expires_at, Some(1_060));
        let tokens = accept_token_set(set(Some(Expiry::ExpiresAt(5))), sent_at, None).unwrap();
        assert_eq!(tokens.expires_at, Some(5));
        let tokens = accept_token_set(set(Some(Expiry::ExpiresIn(u64::MAX))), sent_at, None).unwrap();
        assert_eq!(tokens.expires_at, Some(1_000 + MAX_EXPIRES_IN));
    }

    fn token_set(access: &str, refresh: Option<&str>) -> auth_flow::TokenSet {
        auth_flow::TokenSet {
            access_token: access.into(),
            refresh_token: refresh.map(str::to_string),
            token_type: Some("bearer".into()),
            expiry: None,
            scopes: None,
            metadata: vec![],
            refresh_expiry: None,
            secrets: vec![],
        }
    }

    fn secret(name: &str, value: &str) -> auth_flow::NamedSecret {
        auth_flow::NamedSecret { name: name.into(), value: value.into() }
    }

    #[test]
    fn a_refresh_keeps_what_its_answer_leaves_out() {
        let sent_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let first = auth_flow::TokenSet {
            refresh_expiry: Some(Expiry::ExpiresIn(100)),
            secrets: vec![secret("session", "s-1"), secret("tenant_key", "k-1")],
            ..token_set("a-1", Some("old-refresh"))
        };
        let first = accept_token_set(first, sent_at, None).unwrap();
        assert_eq!(first.refresh_expires_at, Some(1_100));

        // No new refresh token: the old one and its expiry stay; a secret given again is replaced.
        let set = auth_flow::TokenSet { secrets: vec![secret("session", "s-2")], ..token_set("a-2", None) };
        let tokens = accept_token_set(set, sent_at, Some(&first)).unwrap();
        assert_eq!(tokens.refresh_token.as_ref().unwrap().secret(), "old-refresh");
        assert_eq!(tokens.refresh_expires_at, Some(1_100));
        assert_eq!(tokens.secret("session").unwrap().secret(), "s-2");
        assert_eq!(tokens.secret("tenant_key").unwrap().secret(), "k-1");

        // A rotated refresh token without an expiry has none we know of.
        let rotated = accept_token_set(token_set("a-3", Some("new-refresh")), sent_at, Some(&first)).unwrap();
        assert_eq!(rotated.refresh_expires_at, None);
        assert!(!rotated.refresh_expired(sent_at + Duration::from_secs(1_000_000)));
        assert!(first.refresh_expired(SystemTime::UNIX_EPOCH + Duration::from_secs(1_100)));
    }

    #[test]
    fn connection_secrets_must_be_named_for_templates_and_bounded() {
        for name in ["", "Session", "a.b", "x y", &"n".repeat(65)] {
            let set = auth_flow::TokenSet { secrets: vec![secret(name, "v")], ..token_set("a", None) };
            let err = accept_token_set(set, SystemTime::now(), None).unwrap_err();
            assert!(err.to_string().contains("lowercase letters, digits and underscores"), "{name:?}: {err}");
        }
        let empty = auth_flow::TokenSet { secrets: vec![secret("s", "")], ..token_set("a", None) };
        assert!(accept_token_set(empty, SystemTime::now(), None).is_err());
        let many = (0..=MAX_NAMED_SECRETS).map(|i| secret(&format!("s{i}"), "v")).collect();
        let many = auth_flow::TokenSet { secrets: many, ..token_set("a", None) };
        let err = accept_token_set(many, SystemTime::now(), None).unwrap_err();
        assert!(err.to_string().contains("at most 16"), "{err}");
    }

    #[test]
    fn the_api_memo_key_changes_with_whatever_the_hooks_see_and_nothing_else() {
        let integration = IntegrationConfig::oauth2(
            "crm",
            "id-1",
            "secret-1",
            "https://crm.example.com",
            "https://crm.example.com/authorize",
            "/token",
        );
        let conn = ConnectionState {
            id: "con_a".into(),
            inputs: vec![("tenant".into(), "acme".into())],
            metadata: vec![("region".into(), "eu".into())],
            credentials: Credentials::Token(AccessToken::new("tok-a".to_string())),
        };
        let key = |i: &IntegrationConfig, c: &ConnectionState| api_memo_key("salt", "hash-1", i, c);
        let base = key(&integration, &conn);

        // Connections alike in what the hooks see share one entry, whatever their credentials.
        let other = ConnectionState {
            id: "con_b".into(),
            credentials: Credentials::Token(AccessToken::new("tok-b".to_string())),
            ..conn.clone()
        };
        assert_eq!(key(&integration, &other), base);

        let changed_integration: Vec<(&str, IntegrationConfig)> = vec![
            (
                "client secret",
                IntegrationConfig { client_secret: Some(ClientSecret::new("secret-2")), ..integration.clone() },
            ),
            ("no client secret", IntegrationConfig { client_secret: None, ..integration.clone() }),
            ("site", IntegrationConfig { site: "https://crm2.example.com".into(), ..integration.clone() }),
            ("scopes", IntegrationConfig { scopes: vec!["read".into()], ..integration.clone() }),
            ("revoke path", IntegrationConfig { revoke_path: Some("/revoke".into()), ..integration.clone() }),
            ("settings", IntegrationConfig { settings: serde_json::json!({"edition": "eu"}), ..integration.clone() }),
            (
                "secret settings",
                IntegrationConfig {
                    secret_settings: vec![("signing_key".into(), NamedSecretValue::new("k".to_string()))],
                    ..integration.clone()
                },
            ),
            ("pkce", IntegrationConfig { pkce: !integration.pkce, ..integration.clone() }),
        ];
        for (what, changed) in &changed_integration {
            assert_ne!(key(changed, &conn), base, "{what}");
        }
        let changed_conn = [
            ("inputs", ConnectionState { inputs: vec![("tenant".into(), "other".into())], ..conn.clone() }),
            ("metadata", ConnectionState { metadata: vec![], ..conn.clone() }),
        ];
        for (what, changed) in &changed_conn {
            assert_ne!(key(&integration, changed), base, "{what}");
        }
        assert_ne!(api_memo_key("salt", "hash-2", &integration, &conn), base, "another component");
        assert_ne!(api_memo_key("pepper", "hash-1", &integration, &conn), base, "another memo's salt");
        // Length prefixes keep fields apart: moving a byte from one field to the next is a new key.
        let shifted = ConnectionState { inputs: vec![("tenan".into(), "tacme".into())], ..conn.clone() };
        assert_ne!(key(&integration, &shifted), base);
    }

    #[test]
    fn the_api_memo_is_bounded_and_forgets_its_oldest_entries_first() {
        let memo = ApiMemo::new();
        let key = |i: usize| {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            key
        };
        let target = Arc::new(ResolvedApi {
            base: Url::parse("https://api.example.com").unwrap(),
            auth: vec![],
            allowlist: Allowlist::default(),
        });
        for i in 0..API_MEMO_ENTRIES + 10 {
            memo.insert(key(i), target.clone());
        }
        memo.insert(key(API_MEMO_ENTRIES + 9), target.clone());
        assert_eq!(memo.entries.lock().unwrap().map.len(), API_MEMO_ENTRIES);
        assert!(memo.get(&key(9)).is_none() && memo.get(&key(10)).is_some());
        assert_ne!(memo.salt, ApiMemo::new().salt, "each memo hashes under a salt of its own");
    }

    #[test]
    fn api_paths_join_onto_the_base_path() {
        let base = Url::parse("https://api.example.com/v1/").unwrap();
        assert_eq!(resolve_api_url(&base, "/users").unwrap().as_str(), "https://api.example.com/v1/users");
        assert_eq!(
            resolve_api_url(&base, "/users?page=2#top").unwrap().as_str(),
            "https://api.example.com/v1/users?page=2#top"
        );
        assert!(resolve_api_url(&base, "users").is_err());
    }

    /// Setting the path, query and fragment on the parsed base must give exactly what
    /// parsing the joined text gives, for any path: the tricky characters below (dot
    /// segments, backslashes, spaces, controls, `%`, `?` and `#` in every order, non-ASCII)
    /// in 20,000 seeded combinations, on bases with and without a path.
    #[test]
    fn a_joined_api_path_is_the_url_the_joined_text_parses_to() {
        let pieces = [
            "/", "a", "v1", ".", "..", "%2e", "%2E%2e", "\\", "?", "#", "&", "=", " ", "\t", "\n", "%", "%zz", "%20",
            "é", "😀", "//", "@", ":", ";", "'", "\"", "<", ">", "^", "`", "{", "}", "|", "[", "]", "\u{0}", "\u{7f}",
            "\r", "\u{1f}", "\u{a0}", "%25", "ß",
        ];
        let bases = [
            "https://api.example.com/v1/",
            "https://api.example.com",
            "http://127.0.0.2:8080/a/b//",
            "https://xn--bcher-kva.example/%7Euser/",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for case in 0..20_000 {
            let mut path = String::from("/");
            for _ in 0..next(8) {
                path.push_str(pieces[next(pieces.len())]);
            }
            let base = Url::parse(bases[case % bases.len()]).unwrap();
            let fast = resolve_api_url(&base, &path).map(|u| u.to_string()).map_err(|e| e.to_string());
            let slow = join_and_parse(&base, &path).map(|u| u.to_string()).map_err(|e| e.to_string());
            assert_eq!(fast, slow, "base {base}, path {path:?}");
        }
    }

    #[test]
    fn a_base_with_a_query_keeps_the_joined_text_meaning() {
        let base = Url::parse("https://api.example.com/v1?tenant=7").unwrap();
        let joined = resolve_api_url(&base, "/users").unwrap();
        assert_eq!(joined.as_str(), join_and_parse(&base, "/users").unwrap().as_str());
    }
}
