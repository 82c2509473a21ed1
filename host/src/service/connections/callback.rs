//! The browser flow: starting an authorization (state, PKCE, the plugin's authorize URL) and
//! completing it at the redirect URI.

use keyway_store::Store as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyway_store::{ConnectionRecord, ConnectionStatus, PendingFlowRecord};
use sha2::{Digest, Sha256};

use super::super::console::ExchangeKind;
use super::super::context::Freshness;
use super::super::{Service, ServiceError, now};
use crate::engine::LoadedPlugin;
use crate::flows::{FlowError, PendingAuthorization};
use crate::integration::IntegrationConfig;
use crate::secret::{PkceVerifier, StateToken};
use crate::trace::Recorder;
use keyway_policy::text::clip_message;

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
    /// The connection the callback was for, once it was matched to one.
    pub connection_id: Option<String>,
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

fn verifier_context(state_hash: &str) -> String {
    format!("pending:{state_hash}:verifier")
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

impl Service {
    /// Mints `state` and PKCE and has the plugin format the authorize URL; stores nothing.
    pub(super) async fn begin_authorization(
        &self,
        record: &ConnectionRecord,
        integration: &IntegrationConfig,
        plugin: &LoadedPlugin,
    ) -> Result<PendingAuthorization, ServiceError> {
        let state = self.connection_state(record)?;
        Ok(self.flows.begin(plugin, integration, &state).await?)
    }

    /// Keeps a begun authorization until its callback; returns where to send the browser.
    pub(super) async fn save_pending(
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
                connection_id: None,
            });
        };
        let hash = state_hash(&state);
        let pending = self.store.take_pending(&hash).await.map_err(internal_callback)?;
        let Some(pending) = pending else {
            return Err(CallbackError {
                message: "This authorization link is unknown or was already used.".into(),
                hint: HINT_RESTART,
                retry_after: None,
                connection_id: None,
            });
        };
        let Some(mut record) = self.store.get_connection(&pending.connection_id).await.map_err(internal_callback)?
        else {
            return Err(CallbackError {
                message: "The connection this authorization was for no longer exists.".into(),
                hint: HINT_RESTART,
                retry_after: None,
                connection_id: None,
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
                connection_id: Some(record.id.clone()),
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
                Err(CallbackError { message, hint: HINT_BUSY, retry_after, connection_id: Some(record.id) })
            }
            Err((message, hint)) => {
                self.fail(&mut record, message.clone()).await;
                Err(CallbackError { message, hint, retry_after: None, connection_id: Some(record.id) })
            }
        }
    }

    async fn exchange(
        &self,
        record: &mut ConnectionRecord,
        pending: &PendingFlowRecord,
        state_token: StateToken,
        query: Vec<(String, String)>,
    ) -> Result<CallbackOutcome, (String, &'static str)> {
        let internal = |e: ServiceError| (e.to_string(), HINT_RESTART);
        // The connection was read from the store; its integration may come from the cache.
        let ctx = self.context_of(Arc::new(record.clone()), Freshness::Cached).await.map_err(internal)?;
        let (integration, plugin, mut state) = (ctx.integration, ctx.plugin, ctx.state);
        let verifier = pending
            .verifier_sealed
            .as_ref()
            .map(|sealed| self.sealer.open(&verifier_context(&pending.state_hash), sealed))
            .transpose()
            .map_err(|e| internal(e.into()))?
            .map(|bytes| PkceVerifier::new(String::from_utf8_lossy(&bytes).into_owned()));
        let authorization = PendingAuthorization {
            authorize_url: String::new(),
            state: state_token,
            verifier,
            redirect_uri: pending.redirect_uri.clone(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(pending.expires_at.max(0) as u64),
        };
        // Kept only if the exchange fails, for the console's "last failed exchange".
        let recorder = Recorder::new();
        match self.flows.complete(&plugin, &integration, &mut state, &authorization, query, &recorder).await {
            Ok(_) => {
                self.store_tokens(record, &state, ConnectionStatus::Active).map_err(internal)?;
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
                let message = self.scrub(&integration, &state, &e.to_string());
                if hint != HINT_BUSY {
                    let redactor = crate::flows::secrets_of(&integration, &state);
                    let kind = ExchangeKind::Code;
                    self.record_failed_exchange(&record.id, kind, &message, Some(hint), &recorder, &redactor).await;
                }
                Err((message, hint))
            }
        }
    }

    /// Records a failed authorization. A connection that already works (a declined or stale
    /// reconnect) keeps working: only its `last_error` says what happened.
    async fn fail(&self, record: &mut ConnectionRecord, message: String) {
        let message = clip_message(message);
        if record.credentials_sealed.is_some() && record.status == ConnectionStatus::Active {
            record.last_error = Some(format!("reconnecting failed: {message}"));
        } else {
            record.status = ConnectionStatus::Failed;
            record.last_error = Some(message);
        }
        record.updated_at = now();
        if let Err(e) = self.store.update_connection(record).await {
            tracing::error!(connection = %record.id, "recording a failed callback: {e}");
        }
    }
}

fn internal_callback(e: keyway_store::StoreError) -> CallbackError {
    tracing::error!("callback storage failure: {e}");
    CallbackError {
        message: "Keyway could not read its database.".into(),
        hint: HINT_RESTART,
        retry_after: None,
        connection_id: None,
    }
}
