//! The queries, shared by both backends.
//!
//! Both schemas have the same tables and columns, and both drivers accept `$N` placeholders, so one SQL text
//! serves SQLite and PostgreSQL alike. [`impl_store!`] stamps out the [`Store`](crate::Store) implementation for
//! each backend's pool type; generic code over `sqlx::Database` would need a bound per column type and query
//! shape, which obscures more than it shares.

use crate::error::corrupt_json;
use crate::{ActionRecord, ConnectionRecord, ConnectionStatus, IntegrationRecord, StoreError};

macro_rules! integration_columns {
    () => {
        "id, name, auth_method, plugin, client_id, client_secret_sealed, site, authorization_url, token_path, \
         revoke_path, scopes, client_auth, issuer, pkce, settings, created_at, updated_at, secret_settings_sealed, \
         mcp_web_request"
    };
}

macro_rules! connection_columns {
    () => {
        "id, integration_id, name, owner_key_id, allowed_keys, status, inputs, metadata, scopes, \
         credentials_sealed, expires_at, last_error, next_retry_at, created_at, updated_at, refresh_expires_at"
    };
}

macro_rules! pending_columns {
    () => {
        "state_hash, connection_id, verifier_sealed, redirect_uri, expires_at, created_at"
    };
}

macro_rules! api_key_columns {
    () => {
        "id, name, role, key_hash, created_at, revoked_at"
    };
}

macro_rules! plugin_columns {
    () => {
        "hash, name, version, bytes, created_at"
    };
}

pub(crate) const INSERT_INTEGRATION: &str = concat!(
    "INSERT INTO integrations (",
    integration_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
);
pub(crate) const SELECT_INTEGRATION: &str =
    concat!("SELECT ", integration_columns!(), " FROM integrations WHERE id = $1");
pub(crate) const SELECT_INTEGRATION_BY_NAME: &str =
    concat!("SELECT ", integration_columns!(), " FROM integrations WHERE name = $1");
pub(crate) const LIST_INTEGRATIONS: &str =
    concat!("SELECT ", integration_columns!(), " FROM integrations ORDER BY created_at, id");
pub(crate) const UPDATE_INTEGRATION: &str = "UPDATE integrations SET name = $2, auth_method = $3, plugin = $4, \
     client_id = $5, client_secret_sealed = $6, site = $7, authorization_url = $8, token_path = $9, \
     revoke_path = $10, scopes = $11, client_auth = $12, issuer = $13, pkce = $14, settings = $15, \
     updated_at = $16, secret_settings_sealed = $17, mcp_web_request = $18 WHERE id = $1";
pub(crate) const DELETE_INTEGRATION: &str = "DELETE FROM integrations WHERE id = $1";
pub(crate) const COUNT_CONNECTIONS_OF: &str = "SELECT COUNT(*) FROM connections WHERE integration_id = $1";

pub(crate) const INSERT_CONNECTION: &str = concat!(
    "INSERT INTO connections (",
    connection_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
);
pub(crate) const SELECT_CONNECTION: &str = concat!("SELECT ", connection_columns!(), " FROM connections WHERE id = $1");
pub(crate) const LIST_CONNECTIONS: &str =
    concat!("SELECT ", connection_columns!(), " FROM connections ORDER BY created_at, id");
pub(crate) const UPDATE_CONNECTION: &str = "UPDATE connections SET integration_id = $2, name = $3, \
     owner_key_id = $4, allowed_keys = $5, status = $6, inputs = $7, metadata = $8, scopes = $9, \
     credentials_sealed = $10, expires_at = $11, last_error = $12, next_retry_at = $13, updated_at = $14, \
     refresh_expires_at = $15 WHERE id = $1";
pub(crate) const DELETE_CONNECTION: &str = "DELETE FROM connections WHERE id = $1";

pub(crate) const INSERT_PENDING: &str =
    concat!("INSERT INTO pending_flows (", pending_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6)");
pub(crate) const TAKE_PENDING: &str =
    concat!("DELETE FROM pending_flows WHERE state_hash = $1 RETURNING ", pending_columns!());
pub(crate) const DELETE_EXPIRED_PENDING: &str = "DELETE FROM pending_flows WHERE expires_at <= $1";
pub(crate) const MARK_REFRESH_EXPIRED: &str = "UPDATE connections SET status = 'needs_reauth', last_error = $2, \
     next_retry_at = NULL, updated_at = $1 WHERE status = 'active' AND refresh_expires_at <= $1";

pub(crate) const INSERT_API_KEY: &str =
    concat!("INSERT INTO api_keys (", api_key_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6)");
pub(crate) const SELECT_API_KEY_BY_HASH: &str =
    concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE key_hash = $1");
pub(crate) const LIST_API_KEYS: &str = concat!("SELECT ", api_key_columns!(), " FROM api_keys ORDER BY created_at, id");
/// Keeps the first revocation time: revoking twice is harmless.
pub(crate) const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
pub(crate) const COUNT_API_KEYS: &str = "SELECT COUNT(*) FROM api_keys";

pub(crate) const PUT_PLUGIN: &str =
    concat!("INSERT INTO plugins (", plugin_columns!(), ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING");
pub(crate) const SELECT_PLUGIN: &str = concat!("SELECT ", plugin_columns!(), " FROM plugins WHERE hash = $1");
pub(crate) const LIST_PLUGINS: &str = concat!("SELECT ", plugin_columns!(), " FROM plugins ORDER BY created_at, hash");
pub(crate) const LIST_PLUGIN_VERSIONS: &str =
    "SELECT hash, name, version, created_at FROM plugins ORDER BY created_at, hash";
pub(crate) const DELETE_PLUGIN: &str = "DELETE FROM plugins WHERE hash = $1";

macro_rules! action_columns {
    () => {
        "integration_id, name, definition, created_at, updated_at"
    };
}

pub(crate) const INSERT_ACTION: &str =
    concat!("INSERT INTO actions (", action_columns!(), ") VALUES ($1, $2, $3, $4, $5)");
pub(crate) const UPDATE_ACTION: &str =
    "UPDATE actions SET definition = $3, updated_at = $4 WHERE integration_id = $1 AND name = $2";
pub(crate) const SELECT_ACTION: &str =
    concat!("SELECT ", action_columns!(), " FROM actions WHERE integration_id = $1 AND name = $2");
pub(crate) const LIST_ACTIONS: &str =
    concat!("SELECT ", action_columns!(), " FROM actions WHERE integration_id = $1 ORDER BY name");
pub(crate) const DELETE_ACTION: &str = "DELETE FROM actions WHERE integration_id = $1 AND name = $2";

/// One statement, so the database serialises concurrent acquirers: an insert when there is no lease; otherwise
/// an update only when the lease has expired or is the caller's own. Zero rows changed means someone else holds it.
pub(crate) const ACQUIRE_LEASE: &str = "INSERT INTO refresh_leases (connection_id, holder, expires_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE refresh_leases.expires_at <= $4 OR refresh_leases.holder = excluded.holder";
pub(crate) const RELEASE_LEASE: &str = "DELETE FROM refresh_leases WHERE connection_id = $1 AND holder = $2";

/// An `integrations` row as stored: lists and settings are JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct IntegrationRow {
    id: String,
    name: String,
    auth_method: String,
    plugin: String,
    client_id: String,
    client_secret_sealed: Option<Vec<u8>>,
    site: String,
    authorization_url: String,
    token_path: String,
    revoke_path: Option<String>,
    scopes: String,
    client_auth: String,
    issuer: Option<String>,
    pkce: bool,
    settings: String,
    created_at: i64,
    updated_at: i64,
    secret_settings_sealed: Option<Vec<u8>>,
    mcp_web_request: bool,
}

impl IntegrationRow {
    pub(crate) fn into_record(self) -> Result<IntegrationRecord, StoreError> {
        let scopes =
            serde_json::from_str(&self.scopes).map_err(|e| corrupt_json("integrations", &self.id, "scopes", e))?;
        let settings =
            serde_json::from_str(&self.settings).map_err(|e| corrupt_json("integrations", &self.id, "settings", e))?;
        Ok(IntegrationRecord {
            id: self.id,
            name: self.name,
            auth_method: self.auth_method,
            plugin: self.plugin,
            client_id: self.client_id,
            client_secret_sealed: self.client_secret_sealed,
            site: self.site,
            authorization_url: self.authorization_url,
            token_path: self.token_path,
            revoke_path: self.revoke_path,
            scopes,
            client_auth: self.client_auth,
            issuer: self.issuer,
            pkce: self.pkce,
            settings,
            created_at: self.created_at,
            updated_at: self.updated_at,
            secret_settings_sealed: self.secret_settings_sealed,
            mcp_web_request: self.mcp_web_request,
        })
    }
}

/// A `connections` row as stored: lists and pairs are JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    id: String,
    integration_id: String,
    name: String,
    owner_key_id: String,
    allowed_keys: String,
    status: String,
    inputs: String,
    metadata: String,
    scopes: Option<String>,
    credentials_sealed: Option<Vec<u8>>,
    expires_at: Option<i64>,
    last_error: Option<String>,
    next_retry_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    refresh_expires_at: Option<i64>,
}

impl ConnectionRow {
    pub(crate) fn into_record(self) -> Result<ConnectionRecord, StoreError> {
        let corrupt = |column, e| corrupt_json("connections", &self.id, column, e);
        let allowed_keys = serde_json::from_str(&self.allowed_keys).map_err(|e| corrupt("allowed_keys", e))?;
        let inputs = serde_json::from_str(&self.inputs).map_err(|e| corrupt("inputs", e))?;
        let metadata = serde_json::from_str(&self.metadata).map_err(|e| corrupt("metadata", e))?;
        let scopes = match &self.scopes {
            Some(scopes) => Some(serde_json::from_str(scopes).map_err(|e| corrupt("scopes", e))?),
            None => None,
        };
        let status = ConnectionStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Database(format!(
                "`connections` row `{}` has status `{}`, which Keyway does not know: it was changed outside \
                 Keyway; set it to `pending`, `active`, `needs_reauth` or `failed`",
                self.id, self.status
            ))
        })?;
        Ok(ConnectionRecord {
            id: self.id,
            integration_id: self.integration_id,
            name: self.name,
            owner_key_id: self.owner_key_id,
            allowed_keys,
            status,
            inputs,
            metadata,
            scopes,
            credentials_sealed: self.credentials_sealed,
            expires_at: self.expires_at,
            last_error: self.last_error,
            next_retry_at: self.next_retry_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            refresh_expires_at: self.refresh_expires_at,
        })
    }
}

/// A list of strings as JSON text.
pub(crate) fn json_strings(items: &[String]) -> String {
    serde_json::Value::from(items).to_string()
}

/// Ordered pairs as JSON text: `[["name","value"],…]`, which keeps order and repeated names.
pub(crate) fn json_pairs(pairs: &[(String, String)]) -> String {
    serde_json::Value::Array(pairs.iter().map(|(k, v)| serde_json::Value::from([k.as_str(), v.as_str()])).collect())
        .to_string()
}

/// "1 connection", "2 connections".
pub(crate) fn plural(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The [`Store`](crate::Store) implementation for a struct with a `pool: sqlx::Pool<$db>` field.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            fn watch(&self) -> tokio::sync::mpsc::Receiver<$crate::Watch> {
                let (tx, rx) = tokio::sync::mpsc::channel(256);
                tokio::spawn(self.change_feed(tx));
                rx
            }

            async fn migration_status(&self) -> Result<$crate::MigrationStatus, $crate::StoreError> {
                // `MIGRATOR` is the invoking module's: each backend embeds its own migrations.
                let rows: Vec<(i64, bool, Vec<u8>)> = sqlx::query_as::<$db, (i64, bool, Vec<u8>)>(
                    "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
                )
                .fetch_all(&self.pool)
                .await
                .map_err($crate::error::database_error)?;
                let applied: Vec<_> = rows
                    .into_iter()
                    .map(|(version, success, checksum)| $crate::migrations::AppliedMigration {
                        version,
                        success,
                        checksum,
                    })
                    .collect();
                Ok($crate::migrations::compare(&MIGRATOR, &applied))
            }

            async fn insert_integration(&self, r: &$crate::IntegrationRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(INSERT_INTEGRATION)
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(&r.auth_method)
                    .bind(&r.plugin)
                    .bind(&r.client_id)
                    .bind(r.client_secret_sealed.as_deref())
                    .bind(&r.site)
                    .bind(&r.authorization_url)
                    .bind(&r.token_path)
                    .bind(r.revoke_path.as_deref())
                    .bind(json_strings(&r.scopes))
                    .bind(&r.client_auth)
                    .bind(r.issuer.as_deref())
                    .bind(r.pkce)
                    .bind(r.settings.to_string())
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .bind(r.secret_settings_sealed.as_deref())
                    .bind(r.mcp_web_request)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) => Err(integration_write_error(e, r)),
                }
            }

            async fn get_integration(&self, id: &str) -> Result<Option<$crate::IntegrationRecord>, $crate::StoreError> {
                use $crate::sql::*;
                let row = sqlx::query_as::<$db, IntegrationRow>(SELECT_INTEGRATION)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                row.map(IntegrationRow::into_record).transpose()
            }

            async fn get_integration_by_name(
                &self,
                name: &str,
            ) -> Result<Option<$crate::IntegrationRecord>, $crate::StoreError> {
                use $crate::sql::*;
                let row = sqlx::query_as::<$db, IntegrationRow>(SELECT_INTEGRATION_BY_NAME)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                row.map(IntegrationRow::into_record).transpose()
            }

            async fn list_integrations(&self) -> Result<Vec<$crate::IntegrationRecord>, $crate::StoreError> {
                use $crate::sql::*;
                let rows = sqlx::query_as::<$db, IntegrationRow>(LIST_INTEGRATIONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                rows.into_iter().map(IntegrationRow::into_record).collect()
            }

            async fn update_integration(&self, r: &$crate::IntegrationRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(UPDATE_INTEGRATION)
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(&r.auth_method)
                    .bind(&r.plugin)
                    .bind(&r.client_id)
                    .bind(r.client_secret_sealed.as_deref())
                    .bind(&r.site)
                    .bind(&r.authorization_url)
                    .bind(&r.token_path)
                    .bind(r.revoke_path.as_deref())
                    .bind(json_strings(&r.scopes))
                    .bind(&r.client_auth)
                    .bind(r.issuer.as_deref())
                    .bind(r.pkce)
                    .bind(r.settings.to_string())
                    .bind(r.updated_at)
                    .bind(r.secret_settings_sealed.as_deref())
                    .bind(r.mcp_web_request)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(done) if done.rows_affected() == 0 => Err($crate::StoreError::NotFound),
                    Ok(_) => Ok(()),
                    Err(e) => Err(integration_write_error(e, r)),
                }
            }

            async fn delete_integration(&self, id: &str) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(DELETE_INTEGRATION).bind(id).execute(&self.pool).await;
                match result {
                    Ok(done) if done.rows_affected() == 0 => Err($crate::StoreError::NotFound),
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        // The count may be stale by the time it is read; it only feeds the message.
                        let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>(COUNT_CONNECTIONS_OF)
                            .bind(id)
                            .fetch_one(&self.pool)
                            .await
                            .map_err($crate::error::database_error)?;
                        Err($crate::StoreError::Conflict(format!(
                            "integration `{id}` is still used by {}: delete its {} first",
                            plural(n, "connection"),
                            plural(n, "connection"),
                        )))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn insert_connection(&self, r: &$crate::ConnectionRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(INSERT_CONNECTION)
                    .bind(&r.id)
                    .bind(&r.integration_id)
                    .bind(&r.name)
                    .bind(&r.owner_key_id)
                    .bind(json_strings(&r.allowed_keys))
                    .bind(r.status.as_str())
                    .bind(json_pairs(&r.inputs))
                    .bind(json_pairs(&r.metadata))
                    .bind(r.scopes.as_deref().map(json_strings))
                    .bind(r.credentials_sealed.as_deref())
                    .bind(r.expires_at)
                    .bind(r.last_error.as_deref())
                    .bind(r.next_retry_at)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .bind(r.refresh_expires_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) => Err(connection_write_error(e, r)),
                }
            }

            async fn get_connection(&self, id: &str) -> Result<Option<$crate::ConnectionRecord>, $crate::StoreError> {
                use $crate::sql::*;
                let row = sqlx::query_as::<$db, ConnectionRow>(SELECT_CONNECTION)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                row.map(ConnectionRow::into_record).transpose()
            }

            async fn list_connections(&self) -> Result<Vec<$crate::ConnectionRecord>, $crate::StoreError> {
                use $crate::sql::*;
                let rows = sqlx::query_as::<$db, ConnectionRow>(LIST_CONNECTIONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                rows.into_iter().map(ConnectionRow::into_record).collect()
            }

            async fn update_connection(&self, r: &$crate::ConnectionRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(UPDATE_CONNECTION)
                    .bind(&r.id)
                    .bind(&r.integration_id)
                    .bind(&r.name)
                    .bind(&r.owner_key_id)
                    .bind(json_strings(&r.allowed_keys))
                    .bind(r.status.as_str())
                    .bind(json_pairs(&r.inputs))
                    .bind(json_pairs(&r.metadata))
                    .bind(r.scopes.as_deref().map(json_strings))
                    .bind(r.credentials_sealed.as_deref())
                    .bind(r.expires_at)
                    .bind(r.last_error.as_deref())
                    .bind(r.next_retry_at)
                    .bind(r.updated_at)
                    .bind(r.refresh_expires_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(done) if done.rows_affected() == 0 => Err($crate::StoreError::NotFound),
                    Ok(_) => Ok(()),
                    Err(e) => Err(connection_write_error(e, r)),
                }
            }

            async fn delete_connection(&self, id: &str) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(DELETE_CONNECTION)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn insert_pending(&self, r: &$crate::PendingFlowRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(INSERT_PENDING)
                    .bind(&r.state_hash)
                    .bind(&r.connection_id)
                    .bind(r.verifier_sealed.as_deref())
                    .bind(&r.redirect_uri)
                    .bind(r.expires_at)
                    .bind(r.created_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        Err($crate::StoreError::Conflict(format!(
                            "connection `{}` does not exist (any more): create the connection again",
                            r.connection_id
                        )))
                    }
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                        Err($crate::StoreError::Conflict(
                            "a pending authorization with this state already exists: mint a new state".into(),
                        ))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn take_pending(
                &self,
                state_hash: &str,
            ) -> Result<Option<$crate::PendingFlowRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::PendingFlowRecord>(TAKE_PENDING)
                    .bind(state_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn delete_expired_pending(&self, now: i64) -> Result<u64, $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(DELETE_EXPIRED_PENDING)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(done.rows_affected())
            }

            async fn mark_refresh_expired(&self, now: i64, message: &str) -> Result<u64, $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(MARK_REFRESH_EXPIRED)
                    .bind(now)
                    .bind(message)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(done.rows_affected())
            }

            async fn insert_api_key(&self, r: &$crate::ApiKeyRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(INSERT_API_KEY)
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(&r.role)
                    .bind(&r.key_hash)
                    .bind(r.created_at)
                    .bind(r.revoked_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_unique_violation_on(&e, "api_keys", "key_hash") => {
                        Err($crate::StoreError::Conflict(
                            "an API key with this hash already exists: generate a new key".into(),
                        ))
                    }
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                        Err($crate::StoreError::Conflict(format!("an API key with id `{}` already exists", r.id)))
                    }
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::CheckViolation) => {
                        Err($crate::StoreError::Database(format!(
                            "API key role `{}` is not allowed: use `admin` or `member`",
                            r.role
                        )))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn get_api_key_by_hash(
                &self,
                key_hash: &str,
            ) -> Result<Option<$crate::ApiKeyRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::ApiKeyRecord>(SELECT_API_KEY_BY_HASH)
                    .bind(key_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn list_api_keys(&self) -> Result<Vec<$crate::ApiKeyRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::ApiKeyRecord>(LIST_API_KEYS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn revoke_api_key(&self, id: &str, at: i64) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(REVOKE_API_KEY)
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn count_api_keys(&self) -> Result<u64, $crate::StoreError> {
                use $crate::sql::*;
                let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>(COUNT_API_KEYS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(u64::try_from(n).unwrap_or_default())
            }

            async fn put_plugin(&self, r: &$crate::PluginRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query::<$db>(PUT_PLUGIN)
                    .bind(&r.hash)
                    .bind(&r.name)
                    .bind(&r.version)
                    .bind(r.bytes.as_slice())
                    .bind(r.created_at)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }

            async fn get_plugin(&self, hash: &str) -> Result<Option<$crate::PluginRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::PluginRecord>(SELECT_PLUGIN)
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn list_plugins(&self) -> Result<Vec<$crate::PluginRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::PluginRecord>(LIST_PLUGINS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn list_plugin_versions(&self) -> Result<Vec<$crate::PluginVersion>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::PluginVersion>(LIST_PLUGIN_VERSIONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn delete_plugin(&self, hash: &str) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(DELETE_PLUGIN)
                    .bind(hash)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn insert_action(&self, r: &$crate::ActionRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query::<$db>(INSERT_ACTION)
                    .bind(&r.integration_id)
                    .bind(&r.name)
                    .bind(&r.definition)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| action_write_error(e, r))?;
                Ok(())
            }

            async fn update_action(&self, r: &$crate::ActionRecord) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(UPDATE_ACTION)
                    .bind(&r.integration_id)
                    .bind(&r.name)
                    .bind(&r.definition)
                    .bind(r.updated_at)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn get_action(
                &self,
                integration_id: &str,
                name: &str,
            ) -> Result<Option<$crate::ActionRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::ActionRecord>(SELECT_ACTION)
                    .bind(integration_id)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn list_actions(
                &self,
                integration_id: &str,
            ) -> Result<Vec<$crate::ActionRecord>, $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query_as::<$db, $crate::ActionRecord>(LIST_ACTIONS)
                    .bind(integration_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::database_error)
            }

            async fn delete_action(&self, integration_id: &str, name: &str) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                let done = sqlx::query::<$db>(DELETE_ACTION)
                    .bind(integration_id)
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn try_acquire_refresh_lease(
                &self,
                connection_id: &str,
                holder: &str,
                now: i64,
                ttl_secs: i64,
            ) -> Result<bool, $crate::StoreError> {
                use $crate::sql::*;
                let result = sqlx::query::<$db>(ACQUIRE_LEASE)
                    .bind(connection_id)
                    .bind(holder)
                    .bind(now.saturating_add(ttl_secs))
                    .bind(now)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(done) => Ok(done.rows_affected() == 1),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        Err($crate::StoreError::NotFound)
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn release_refresh_lease(&self, connection_id: &str, holder: &str) -> Result<(), $crate::StoreError> {
                use $crate::sql::*;
                sqlx::query::<$db>(RELEASE_LEASE)
                    .bind(connection_id)
                    .bind(holder)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_store;

/// The error for a failed integration insert or update, naming the rule it broke.
pub(crate) fn integration_write_error(err: sqlx::Error, r: &IntegrationRecord) -> StoreError {
    if crate::error::is_unique_violation_on(&err, "integrations", "name") {
        StoreError::Conflict(format!(
            "an integration named `{}` already exists: choose another name, or change the existing integration",
            r.name
        ))
    } else if crate::error::is_violation(&err, sqlx::error::ErrorKind::UniqueViolation) {
        StoreError::Conflict(format!("an integration with id `{}` already exists", r.id))
    } else {
        crate::error::database_error(err)
    }
}

/// The error for a failed action insert, naming the rule it broke.
pub(crate) fn action_write_error(err: sqlx::Error, r: &ActionRecord) -> StoreError {
    use sqlx::error::ErrorKind;
    if crate::error::is_violation(&err, ErrorKind::ForeignKeyViolation) {
        StoreError::Conflict(format!("integration `{}` does not exist (any more)", r.integration_id))
    } else if crate::error::is_violation(&err, ErrorKind::UniqueViolation) {
        StoreError::Conflict(format!(
            "the integration already has an action named `{}`: replace it with PUT, or choose another name",
            r.name
        ))
    } else {
        crate::error::database_error(err)
    }
}

/// The error for a failed connection insert or update, naming the rule it broke.
pub(crate) fn connection_write_error(err: sqlx::Error, r: &ConnectionRecord) -> StoreError {
    use sqlx::error::ErrorKind;
    if crate::error::is_violation(&err, ErrorKind::ForeignKeyViolation) {
        StoreError::Conflict(format!(
            "integration `{}` does not exist (any more): create it, or connect through an existing one",
            r.integration_id
        ))
    } else if crate::error::is_violation(&err, ErrorKind::UniqueViolation) {
        StoreError::Conflict(format!("a connection with id `{}` already exists", r.id))
    } else {
        crate::error::database_error(err)
    }
}
