//! Connections: created by users, completed by the OAuth callback, used by workflows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyway_store::{ConnectionRecord, PendingFlowRecord, new_id};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{ConnectionCreated, ConnectionInput, ConnectionView, CredentialsInput, WebRequest, WebResponse};
use super::refresh::Need;
use super::{Service, ServiceError, now, rfc3339};
use crate::connection::{ConnectionState, Credentials, Tokens};
use crate::engine::LoadedPlugin;
use crate::flows::{ApiCall, FlowError, PendingAuthorization};
use crate::integration::{AuthMethod, FieldError, IntegrationConfig};
use crate::keys::Principal;
use crate::secret::{AccessToken, NamedSecretValue, Password, PkceVerifier, RefreshToken, StateToken};
use crate::trace::Recorder;
use keyway_policy::text::clip_message;

/// The sealed form of a connection's credentials.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SealedCredentials {
    Oauth {
        access_token: String,
        refresh_token: Option<String>,
        token_type: Option<String>,
        expires_at: Option<u64>,
        scopes: Option<Vec<String>>,
        // Added after the first release of the format: absent in older rows.
        #[serde(default)]
        refresh_expires_at: Option<u64>,
        #[serde(default)]
        secrets: Vec<(String, String)>,
    },
    Basic {
        username: String,
        password: String,
    },
    Token {
        token: String,
    },
}

fn credentials_context(id: &str) -> String {
    format!("connection:{id}:credentials")
}

fn verifier_context(state_hash: &str) -> String {
    format!("pending:{state_hash}:verifier")
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// A completed callback, for the success page.
#[derive(Debug, Clone)]
pub struct CallbackOutcome {
    /// The connection.
    pub connection_id: String,
    /// Its name.
    pub connection_name: String,
    /// Its integration's name.
    pub integration_name: String,
}

/// A callback that could not complete: what happened and what to check.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CallbackError {
    /// What happened.
    pub message: String,
    /// What the user or admin should check.
    pub hint: &'static str,
    /// Set when Keyway was too busy to finish: the authorization is kept, and reloading the
    /// page after this long completes it.
    pub retry_after: Option<Duration>,
}

const HINT_RESTART: &str =
    "Start the connection again from Keyway: each authorization link works once, for a limited time.";
const HINT_TOKEN: &str = "The issue is almost always the Token Path: it should be the path after the site, such as \
/login/oauth/access_token, not the full URL. Otherwise the app may expect its token request formatted differently: \
a plugin can do that.";
const HINT_BUSY: &str = "Keyway is busy with this app's other connections right now. Reload this page in a few \
seconds: the authorization is kept until it expires.";
const HINT_DENIED: &str = "The app refused the authorization. Try again, and approve the access Keyway asks for with an \
account that has the right permissions.";

impl Service {
    /// Creates a connection. oauth2: returns the authorize URL (status `pending`); basic and
    /// token: stores the credentials (status `active`).
    pub async fn create_connection(
        &self,
        who: &Principal,
        integration_id: &str,
        input: ConnectionInput,
    ) -> Result<ConnectionCreated, ServiceError> {
        let integration_record = self.integration_record(integration_id).await?;
        let integration = self.config_of(&integration_record)?;
        let plugin = self.plugin_for(&integration).await?;
        let inputs: Vec<(String, String)> = input.inputs.unwrap_or_default().into_iter().collect();
        plugin.manifest.validate_inputs(&inputs).map_err(|(field, message)| FieldError::new(field, message))?;
        let allowed_keys = input.allowed_keys.unwrap_or_default();
        for key_id in &allowed_keys {
            let known = self.store.list_api_keys().await?.iter().any(|k| &k.id == key_id && k.revoked_at.is_none());
            if !known {
                return Err(FieldError::new("allowed_keys", format!("`{key_id}` is not an active API key id")).into());
            }
        }
        let id = new_id("con");
        let at = now();
        let mut record = ConnectionRecord {
            id: id.clone(),
            integration_id: integration_record.id.clone(),
            name: input.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| integration.name.clone()),
            owner_key_id: who.key_id.clone(),
            allowed_keys,
            status: "pending".into(),
            inputs,
            metadata: Vec::new(),
            scopes: None,
            credentials_sealed: None,
            expires_at: None,
            refresh_expires_at: None,
            last_error: None,
            next_retry_at: None,
            created_at: at,
            updated_at: at,
        };
        let credentials = match (integration.auth_method, input.credentials) {
            (AuthMethod::Oauth2, None) => None,
            (AuthMethod::Oauth2, Some(_)) => {
                return Err(FieldError::new(
                    "credentials",
                    "oauth2 connections get their tokens from the browser flow; leave `credentials` out",
                )
                .into());
            }
            (AuthMethod::Basic, Some(CredentialsInput::Basic { username, password })) => {
                Some(Credentials::Basic { username, password: Password::new(password) })
            }
            (AuthMethod::Token, Some(CredentialsInput::Token { token })) => {
                Some(Credentials::Token(AccessToken::new(token)))
            }
            (AuthMethod::Basic, _) => {
                return Err(FieldError::new(
                    "credentials",
                    "a basic integration needs `credentials: {\"username\": ..., \"password\": ...}`",
                )
                .into());
            }
            (AuthMethod::Token, _) => {
                return Err(FieldError::new(
                    "credentials",
                    "a token integration needs `credentials: {\"token\": ...}`",
                )
                .into());
            }
        };
        if let Some(credentials) = credentials {
            record.status = "active".into();
            record.credentials_sealed = Some(self.seal_credentials(&id, &credentials)?);
            self.store.insert_connection(&record).await?;
            return Ok(ConnectionCreated { id, status: record.status, authorize_url: None });
        }
        // The plugin formats the authorize URL before anything is stored: a hook that fails
        // leaves no `pending` connection behind, only the error for the caller.
        let pending = self.begin_authorization(&record, &integration, &plugin).await?;
        self.store.insert_connection(&record).await?;
        let authorize_url = self.save_pending(&record, pending).await?;
        Ok(ConnectionCreated { id, status: record.status, authorize_url: Some(authorize_url) })
    }

    /// Starts a new browser authorization for an existing connection. Its current tokens
    /// keep working until the new flow completes.
    pub async fn reconnect(&self, who: &Principal, id: &str) -> Result<ConnectionCreated, ServiceError> {
        let mut record = self.usable_connection(who, id).await?;
        let integration = self.config_of(&self.integration_record(&record.integration_id).await?)?;
        if integration.auth_method != AuthMethod::Oauth2 {
            return Err(ServiceError::BadRequest(
                "only oauth2 connections reconnect through the browser; create a new connection with new credentials"
                    .into(),
            ));
        }
        let plugin = self.plugin_for(&integration).await?;
        let pending = self.begin_authorization(&record, &integration, &plugin).await?;
        if matches!(record.status.as_str(), "failed" | "needs_reauth") {
            record.status = "pending".into();
            record.updated_at = now();
            self.store.update_connection(&record).await?;
        }
        let authorize_url = self.save_pending(&record, pending).await?;
        Ok(ConnectionCreated { id: record.id, status: record.status, authorize_url: Some(authorize_url) })
    }

    /// Mints `state` and PKCE and has the plugin format the authorize URL; stores nothing.
    async fn begin_authorization(
        &self,
        record: &ConnectionRecord,
        integration: &IntegrationConfig,
        plugin: &LoadedPlugin,
    ) -> Result<PendingAuthorization, ServiceError> {
        let state = self.connection_state(record)?;
        Ok(self.flows.begin(plugin, integration, &state).await?)
    }

    /// Keeps a begun authorization until its callback; returns where to send the browser.
    async fn save_pending(
        &self,
        record: &ConnectionRecord,
        pending: PendingAuthorization,
    ) -> Result<String, ServiceError> {
        let hash = state_hash(pending.state.secret());
        // Rounded up: the store keeps whole seconds, and a state must live at least its TTL.
        let expires_at = pending
            .expires_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(0) as i64;
        self.store
            .insert_pending(&PendingFlowRecord {
                state_hash: hash.clone(),
                connection_id: record.id.clone(),
                verifier_sealed: pending
                    .verifier
                    .as_ref()
                    .map(|v| self.sealer.seal(&verifier_context(&hash), v.secret().as_bytes())),
                redirect_uri: pending.redirect_uri.clone(),
                expires_at,
                created_at: now(),
            })
            .await?;
        Ok(pending.authorize_url)
    }

    /// Completes the browser flow at the redirect URI: matches `state` (single use, not
    /// expired, bound to its connection), then lets the plugin read the callback and
    /// exchange the code.
    pub async fn complete_callback(&self, query: Vec<(String, String)>) -> Result<CallbackOutcome, CallbackError> {
        let state_params = self.plugins.state_params();
        let Some(state) =
            state_params.iter().find_map(|name| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        else {
            return Err(CallbackError {
                message: "This callback has no `state` parameter, so it cannot be matched to a connection.".into(),
                hint: HINT_RESTART,
                retry_after: None,
            });
        };
        let hash = state_hash(&state);
        let pending = self.store.take_pending(&hash).await.map_err(internal_callback)?;
        let Some(pending) = pending else {
            return Err(CallbackError {
                message: "This authorization link is unknown or was already used.".into(),
                hint: HINT_RESTART,
                retry_after: None,
            });
        };
        let Some(mut record) = self.store.get_connection(&pending.connection_id).await.map_err(internal_callback)?
        else {
            return Err(CallbackError {
                message: "The connection this authorization was for no longer exists.".into(),
                hint: HINT_RESTART,
                retry_after: None,
            });
        };
        if pending.expires_at < now() {
            self.fail(&mut record, "the authorization expired before the callback arrived".into()).await;
            return Err(CallbackError {
                message: format!(
                    "This authorization expired: the link is valid for {}.",
                    humantime::format_duration(self.settings.state_ttl)
                ),
                hint: HINT_RESTART,
                retry_after: None,
            });
        }
        let result = self.exchange(&mut record, &pending, StateToken::new(state), query).await;
        match result {
            Ok(outcome) => Ok(outcome),
            Err((message, HINT_BUSY)) => {
                // The hook that found no slot never ran, so the authorization is kept for a retry.
                // (Had the code already been exchanged, the retry says so in the provider's words.)
                if let Err(e) = self.store.insert_pending(&pending).await {
                    tracing::error!(connection = %record.id, "keeping a busy callback's authorization: {e}");
                }
                let retry_after = Some(self.flows.engine().limits().quota_wait.max(Duration::from_secs(1)));
                Err(CallbackError { message, hint: HINT_BUSY, retry_after })
            }
            Err((message, hint)) => {
                self.fail(&mut record, message.clone()).await;
                Err(CallbackError { message, hint, retry_after: None })
            }
        }
    }

    async fn exchange(
        &self,
        record: &mut ConnectionRecord,
        pending: &PendingFlowRecord,
        state: StateToken,
        query: Vec<(String, String)>,
    ) -> Result<CallbackOutcome, (String, &'static str)> {
        let internal = |e: ServiceError| (e.to_string(), HINT_RESTART);
        let integration_record = self.integration_record(&record.integration_id).await.map_err(internal)?;
        let integration = self.config_of(&integration_record).map_err(internal)?;
        let plugin = self.plugin_for(&integration).await.map_err(internal)?;
        let verifier = pending
            .verifier_sealed
            .as_ref()
            .map(|sealed| self.sealer.open(&verifier_context(&pending.state_hash), sealed))
            .transpose()
            .map_err(|e| internal(e.into()))?
            .map(|bytes| PkceVerifier::new(String::from_utf8_lossy(&bytes).into_owned()));
        let authorization = PendingAuthorization {
            authorize_url: String::new(),
            state,
            verifier,
            redirect_uri: pending.redirect_uri.clone(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(pending.expires_at.max(0) as u64),
        };
        let mut state = self.connection_state(record).map_err(internal)?;
        match self.flows.complete(&plugin, &integration, &mut state, &authorization, query, &Recorder::off()).await {
            Ok(_) => {
                self.store_tokens(record, &state, "active").map_err(internal)?;
                record.last_error = None;
                self.store.update_connection(record).await.map_err(|e| internal(e.into()))?;
                Ok(CallbackOutcome {
                    connection_id: record.id.clone(),
                    connection_name: record.name.clone(),
                    integration_name: integration.name,
                })
            }
            Err(e) => {
                let hint = match &e {
                    FlowError::Plugin(crate::engine::CallError::Busy { .. }) => HINT_BUSY,
                    FlowError::Provider { code, .. } if code == "access_denied" => HINT_DENIED,
                    FlowError::Callback(_) => HINT_RESTART,
                    _ => HINT_TOKEN,
                };
                Err((self.scrub(&integration, &state, &e.to_string()), hint))
            }
        }
    }

    /// Records a failed authorization. A connection that already works (a declined or stale
    /// reconnect) keeps working: only its `last_error` says what happened.
    async fn fail(&self, record: &mut ConnectionRecord, message: String) {
        let message = clip_message(message);
        if record.credentials_sealed.is_some() && record.status == "active" {
            record.last_error = Some(format!("reconnecting failed: {message}"));
        } else {
            record.status = "failed".into();
            record.last_error = Some(message);
        }
        record.updated_at = now();
        if let Err(e) = self.store.update_connection(record).await {
            tracing::error!(connection = %record.id, "recording a failed callback: {e}");
        }
    }

    /// The connections the caller may use.
    pub async fn list_connections(&self, who: &Principal) -> Result<Vec<ConnectionView>, ServiceError> {
        Ok(self.store.list_connections().await?.iter().filter(|r| can_use(who, r)).map(connection_view).collect())
    }

    /// One connection the caller may use.
    pub async fn get_connection(&self, who: &Principal, id: &str) -> Result<ConnectionView, ServiceError> {
        Ok(connection_view(&self.usable_connection(who, id).await?))
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh(&self, who: &Principal, id: &str) -> Result<ConnectionView, ServiceError> {
        self.usable_connection(who, id).await?;
        Ok(connection_view(&self.refresh_connection(id, Need::Forced).await?))
    }

    /// Revokes at the provider (when the plugin has a revoke request), then deletes. With
    /// `force`, a failed revocation does not stop the delete.
    pub async fn delete_connection(&self, who: &Principal, id: &str, force: bool) -> Result<(), ServiceError> {
        let record = self.usable_connection(who, id).await?;
        let integration = self.config_of(&self.integration_record(&record.integration_id).await?)?;
        let state = self.connection_state(&record)?;
        if state.credentials.tokens().is_some() {
            let plugin = self.plugin_for(&integration).await?;
            if let Err(e) = self.flows.revoke(&plugin, &integration, &state, &Recorder::off()).await {
                let message = self.scrub(&integration, &state, &e.to_string());
                if !force {
                    return Err(ServiceError::Upstream(format!(
                        "revoking at the provider failed: {message}; retry, or delete with `?force=true` to delete without revoking"
                    )));
                }
                tracing::warn!(connection = id, "deleting without revocation: {message}");
            }
        }
        self.store.delete_connection(id).await?;
        Ok(())
    }

    /// A Web API request through the connection. Refreshes ahead of expiry, and once after a
    /// 401.
    pub async fn web_request(&self, who: &Principal, id: &str, req: WebRequest) -> Result<WebResponse, ServiceError> {
        let mut record = self.usable_connection(who, id).await?;
        super::actions::require_active(&record)?;
        let integration = self.config_of(&self.integration_record(&record.integration_id).await?)?;
        let plugin = self.plugin_for(&integration).await?;
        let call = api_call(req)?;
        let mut state = self.connection_state(&record)?;
        if state.credentials.tokens().is_some_and(|t| t.expires_within(self.settings.refresh_margin, SystemTime::now()))
        {
            record = self.refresh_connection(id, Need::Expiring).await?;
            state = self.connection_state(&record)?;
        }
        let mut response = self.flows.api_request(&plugin, &integration, &state, call.clone(), &Recorder::off()).await;
        if let (Ok(r), Some(tokens)) = (&response, state.credentials.tokens())
            && r.status == 401
        {
            let seen = tokens.access_token.secret().to_string();
            record = self.refresh_connection(id, Need::Rejected(seen)).await?;
            state = self.connection_state(&record)?;
            response = self.flows.api_request(&plugin, &integration, &state, call, &Recorder::off()).await;
        }
        let response = response.map_err(|e| match e {
            // The integration or its plugin is set up wrong: not the app's failure.
            FlowError::Config(m) => ServiceError::BadRequest(self.scrub(&integration, &state, &m)),
            other => ServiceError::Upstream(self.scrub(&integration, &state, &other.to_string())),
        })?;
        let headers: BTreeMap<String, String> = response.headers.iter().cloned().collect();
        let is_json = response.header("content-type").is_some_and(|c| c.contains("json"));
        let body = if is_json {
            serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&response.body).into_owned()))
        } else {
            serde_json::Value::String(String::from_utf8_lossy(&response.body).into_owned())
        };
        Ok(WebResponse { status: response.status, headers, body })
    }

    pub(super) async fn connection_record(&self, id: &str) -> Result<ConnectionRecord, ServiceError> {
        self.store.get_connection(id).await?.ok_or_else(|| ServiceError::NotFound(format!("no connection `{id}`")))
    }

    /// A connection the caller may use; anything else is "not found", so ids never leak.
    pub(super) async fn usable_connection(&self, who: &Principal, id: &str) -> Result<ConnectionRecord, ServiceError> {
        let record = self.connection_record(id).await?;
        if can_use(who, &record) { Ok(record) } else { Err(ServiceError::NotFound(format!("no connection `{id}`"))) }
    }

    pub(super) async fn plugin_for(&self, integration: &IntegrationConfig) -> Result<Arc<LoadedPlugin>, ServiceError> {
        self.plugins.resolve(&integration.plugin).await.map_err(|e| match e {
            crate::registry::RegistryError::NotFound(m) => ServiceError::Conflict(format!(
                "integration `{}` uses a plugin that is not installed: {m}",
                integration.name
            )),
            other => other.into(),
        })
    }

    /// The flows' view of a stored connection, secrets opened.
    pub(super) fn connection_state(&self, r: &ConnectionRecord) -> Result<ConnectionState, ServiceError> {
        let credentials = match &r.credentials_sealed {
            None => Credentials::None,
            Some(sealed) => {
                let bytes = self.sealer.open(&credentials_context(&r.id), sealed)?;
                let sealed: SealedCredentials = serde_json::from_slice(&bytes)
                    .map_err(|e| ServiceError::Internal(format!("stored credentials do not parse: {e}")))?;
                match sealed {
                    SealedCredentials::Oauth {
                        access_token,
                        refresh_token,
                        token_type,
                        expires_at,
                        scopes,
                        refresh_expires_at,
                        secrets,
                    } => Credentials::OAuth(Tokens {
                        access_token: AccessToken::new(access_token),
                        refresh_token: refresh_token.map(RefreshToken::new),
                        token_type,
                        expires_at,
                        scopes,
                        refresh_expires_at,
                        secrets: secrets.into_iter().map(|(n, v)| (n, NamedSecretValue::new(v))).collect(),
                    }),
                    SealedCredentials::Basic { username, password } => {
                        Credentials::Basic { username, password: Password::new(password) }
                    }
                    SealedCredentials::Token { token } => Credentials::Token(AccessToken::new(token)),
                }
            }
        };
        Ok(ConnectionState { id: r.id.clone(), inputs: r.inputs.clone(), metadata: r.metadata.clone(), credentials })
    }

    fn seal_credentials(&self, id: &str, credentials: &Credentials) -> Result<Vec<u8>, ServiceError> {
        let sealed = match credentials {
            Credentials::None => return Err(ServiceError::Internal("no credentials to store".into())),
            Credentials::OAuth(t) => SealedCredentials::Oauth {
                access_token: t.access_token.secret().to_string(),
                refresh_token: t.refresh_token.as_ref().map(|r| r.secret().to_string()),
                token_type: t.token_type.clone(),
                expires_at: t.expires_at,
                scopes: t.scopes.clone(),
                refresh_expires_at: t.refresh_expires_at,
                secrets: t.secrets.iter().map(|(n, v)| (n.clone(), v.secret().to_string())).collect(),
            },
            Credentials::Basic { username, password } => {
                SealedCredentials::Basic { username: username.clone(), password: password.secret().to_string() }
            }
            Credentials::Token(t) => SealedCredentials::Token { token: t.secret().to_string() },
        };
        let json = serde_json::to_vec(&sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(self.sealer.seal(&credentials_context(id), &json))
    }

    /// Copies the flow's results into the record.
    pub(super) fn store_tokens(
        &self,
        record: &mut ConnectionRecord,
        state: &ConnectionState,
        status: &str,
    ) -> Result<(), ServiceError> {
        record.credentials_sealed = Some(self.seal_credentials(&record.id, &state.credentials)?);
        if let Some(tokens) = state.credentials.tokens() {
            record.expires_at = tokens.expires_at.map(|t| t as i64);
            record.refresh_expires_at = tokens.refresh_expires_at.map(|t| t as i64);
            if tokens.scopes.is_some() {
                record.scopes = tokens.scopes.clone();
            }
        }
        record.metadata = state.metadata.clone();
        record.status = status.into();
        record.updated_at = now();
        Ok(())
    }

    /// Masks every secret of the integration and connection in an error message, and clips
    /// it: the message may quote a plugin or a provider at any length.
    pub(super) fn scrub(&self, integration: &IntegrationConfig, state: &ConnectionState, message: &str) -> String {
        clip_message(crate::flows::secrets_of(integration, state).scrub(message))
    }
}

fn internal_callback(e: keyway_store::StoreError) -> CallbackError {
    tracing::error!("callback storage failure: {e}");
    CallbackError { message: "Keyway could not read its database.".into(), hint: HINT_RESTART, retry_after: None }
}

fn can_use(who: &Principal, r: &ConnectionRecord) -> bool {
    who.is_admin() || r.owner_key_id == who.key_id || r.allowed_keys.contains(&who.key_id)
}

fn api_call(req: WebRequest) -> Result<ApiCall, ServiceError> {
    let method = req.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(
            FieldError::new("method", format!("`{}` is not an HTTP method; use GET, POST, ...", req.method)).into()
        );
    }
    let mut headers: Vec<(String, String)> = req.headers.unwrap_or_default().into_iter().collect();
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let body = match req.body {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
            }
            Some(text.into_bytes())
        }
        Some(json) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(serde_json::to_vec(&json).map_err(|e| ServiceError::BadRequest(e.to_string()))?)
        }
    };
    Ok(ApiCall { method, path: req.path, query: req.query.unwrap_or_default().into_iter().collect(), headers, body })
}

fn connection_view(r: &ConnectionRecord) -> ConnectionView {
    ConnectionView {
        id: r.id.clone(),
        integration_id: r.integration_id.clone(),
        name: r.name.clone(),
        status: r.status.clone(),
        scopes: r.scopes.clone(),
        expires_at: r.expires_at.map(rfc3339),
        refresh_expires_at: r.refresh_expires_at.map(rfc3339),
        metadata: r.metadata.iter().cloned().collect(),
        inputs: r.inputs.iter().cloned().collect(),
        last_error: r.last_error.clone(),
        next_retry_at: r.next_retry_at.map(rfc3339),
        owner_key_id: r.owner_key_id.clone(),
        allowed_keys: r.allowed_keys.clone(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}
