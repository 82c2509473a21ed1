//! Sealing: a connection's credentials as the store keeps them (encrypted, with the row id as
//! associated data), and opened again for the flows.

use keyway_store::{ConnectionRecord, ConnectionStatus};
use serde::{Deserialize, Serialize};

use super::super::{Service, ServiceError, now};
use crate::connection::{ConnectionState, Credentials, Tokens};
use crate::integration::IntegrationConfig;
use crate::secret::{AccessToken, NamedSecretValue, Password, RefreshToken};
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

impl Service {
    /// The flows' view of a stored connection, secrets opened.
    pub(in crate::service) fn connection_state(&self, r: &ConnectionRecord) -> Result<ConnectionState, ServiceError> {
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

    pub(super) fn seal_credentials(&self, id: &str, credentials: &Credentials) -> Result<Vec<u8>, ServiceError> {
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
    pub(in crate::service) fn store_tokens(
        &self,
        record: &mut ConnectionRecord,
        state: &ConnectionState,
        status: ConnectionStatus,
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
        record.status = status;
        record.updated_at = now();
        Ok(())
    }

    /// Masks every secret of the integration and connection in an error message, and clips
    /// it: the message may quote a plugin or a provider at any length.
    pub(in crate::service) fn scrub(
        &self,
        integration: &IntegrationConfig,
        state: &ConnectionState,
        message: &str,
    ) -> String {
        clip_message(crate::flows::secrets_of(integration, state).scrub(message))
    }
}
