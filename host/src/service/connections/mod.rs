//! Connections: created by users, completed by the OAuth callback, used by workflows.
//!
//! - this module: creating, listing, reconnecting and deleting them;
//! - [`callback`]: the browser flow;
//! - [`proxy`]: Web API requests through them;
//! - [`sealing`]: their credentials, encrypted at rest.

mod callback;
mod proxy;
mod sealing;

use keyway_store::Store as _;
use keyway_store::{ConnectionRecord, ConnectionStatus, new_id};

pub use callback::{CallbackError, CallbackOutcome};

use super::context::{ConnectionCtx, Freshness, can_use};
use super::model::{
    BasicCredentials, ConnectionCreated, ConnectionInput, ConnectionView, CredentialsInput, TokenCredentials,
};
use super::refresh::Need;
use super::{Service, ServiceError, now, rfc3339};
use crate::connection::Credentials;
use crate::integration::{AuthMethod, FieldError};
use crate::keys::Principal;
use crate::secret::{AccessToken, Password};
use crate::trace::Recorder;

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
            status: ConnectionStatus::Pending,
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
            (AuthMethod::Basic, Some(CredentialsInput::Basic(BasicCredentials { username, password }))) => {
                Some(Credentials::Basic { username, password: Password::new(password) })
            }
            (AuthMethod::Token, Some(CredentialsInput::Token(TokenCredentials { token }))) => {
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
            record.status = ConnectionStatus::Active;
            record.credentials_sealed = Some(self.seal_credentials(&id, &credentials)?);
            self.store.insert_connection(&record).await?;
            return Ok(ConnectionCreated { id, status: record.status.to_string(), authorize_url: None });
        }
        // The plugin formats the authorize URL before anything is stored: a hook that fails
        // leaves no `pending` connection behind, only the error for the caller.
        let pending = self.begin_authorization(&record, &integration, &plugin).await?;
        self.store.insert_connection(&record).await?;
        let authorize_url = self.save_pending(&record, pending).await?;
        Ok(ConnectionCreated { id, status: record.status.to_string(), authorize_url: Some(authorize_url) })
    }

    /// Starts a new browser authorization for an existing connection. Its current tokens
    /// keep working until the new flow completes.
    pub async fn reconnect(&self, who: &Principal, id: &str) -> Result<ConnectionCreated, ServiceError> {
        let ctx = self.open_connection(who, id, Freshness::Stored).await?;
        let (integration, plugin) = (&ctx.integration, &ctx.plugin);
        if integration.auth_method != AuthMethod::Oauth2 {
            return Err(ServiceError::BadRequest(
                "only oauth2 connections reconnect through the browser; create a new connection with new credentials"
                    .into(),
            ));
        }
        let mut record = ConnectionRecord::clone(&ctx.record);
        let pending = self.begin_authorization(&record, integration, plugin).await?;
        if matches!(record.status, ConnectionStatus::Failed | ConnectionStatus::NeedsReauth) {
            record.status = ConnectionStatus::Pending;
            record.updated_at = now();
            self.store.update_connection(&record).await?;
        }
        let authorize_url = self.save_pending(&record, pending).await?;
        Ok(ConnectionCreated { id: record.id, status: record.status.to_string(), authorize_url: Some(authorize_url) })
    }

    /// The connections the caller may use.
    pub async fn list_connections(&self, who: &Principal) -> Result<Vec<ConnectionView>, ServiceError> {
        Ok(self.store.list_connections().await?.iter().filter(|r| can_use(who, r)).map(connection_view).collect())
    }

    /// One connection the caller may use.
    pub async fn get_connection(&self, who: &Principal, id: &str) -> Result<ConnectionView, ServiceError> {
        Ok(connection_view(self.usable_connection(who, id, Freshness::Cached).await?.as_ref()))
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh(&self, who: &Principal, id: &str) -> Result<ConnectionView, ServiceError> {
        self.usable_connection(who, id, Freshness::Cached).await?;
        Ok(connection_view(&self.refresh_connection(id, Need::Forced).await?))
    }

    /// Revokes at the provider (when the plugin has a revoke request), then deletes. With
    /// `force`, a failed revocation does not stop the delete.
    pub async fn delete_connection(&self, who: &Principal, id: &str, force: bool) -> Result<(), ServiceError> {
        let ConnectionCtx { integration, plugin, state, .. } = self.open_connection(who, id, Freshness::Stored).await?;
        if state.credentials.tokens().is_some()
            && let Err(e) = self.flows.revoke(&plugin, &integration, &state, &Recorder::off()).await
        {
            let message = self.scrub(&integration, &state, &e.to_string());
            if !force {
                return Err(ServiceError::Upstream(format!(
                    "revoking at the provider failed: {message}; retry, or delete with `?force=true` to delete without revoking"
                )));
            }
            tracing::warn!(connection = id, "deleting without revocation: {message}");
        }
        self.store.delete_connection(id).await?;
        Ok(())
    }
}

fn connection_view(r: &ConnectionRecord) -> ConnectionView {
    ConnectionView {
        id: r.id.clone(),
        integration_id: r.integration_id.clone(),
        name: r.name.clone(),
        status: r.status.to_string(),
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
