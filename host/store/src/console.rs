//! What the admin console keeps: its sign-in sessions, and the last failed token exchange of
//! each connection.
//!
//! A session row holds the SHA-256 of the random id in the browser's cookie, never the id
//! itself, so a copy of the database cannot be replayed as a cookie; any replica that reads
//! the row serves the session. A failed exchange is the redacted trace of the one attempt that
//! last failed, kept in the database (one row per connection, overwritten) so every replica
//! shows the same one.

use crate::StoreError;

/// A signed-in console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    /// SHA-256 of the cookie's session id, hex.
    pub id_hash: String,
    /// The API key the session signed in with; revoking it ends the session.
    pub key_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the session is refused from then on.
    pub expires_at: i64,
}

/// A session with the key it signed in with, as [`Console::get_console_session`] reads them in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInSession {
    /// The session.
    pub session: ConsoleSessionRecord,
    /// The key's name.
    pub key_name: String,
    /// The key's role (`admin`, `member`).
    pub key_role: String,
    /// When the key was revoked, if it was: the session is dead from then on.
    pub key_revoked_at: Option<i64>,
}

/// The last failed code exchange or refresh of a connection, already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedExchangeRecord {
    /// The connection.
    pub connection_id: String,
    /// `code exchange` or `refresh`.
    pub kind: String,
    /// Unix seconds.
    pub at: i64,
    /// What failed, in the words the API gives.
    pub message: String,
    /// What to check, derived from what failed.
    pub hint: Option<String>,
    /// The requests of the attempt and their answers, masked, as JSON (an array of entries).
    pub trace: String,
}

/// The console's half of the store.
#[async_trait::async_trait]
pub trait Console: Send + Sync {
    /// Stores a new session.
    async fn insert_console_session(&self, r: &ConsoleSessionRecord) -> Result<(), StoreError>;
    /// One session and its key, by the session id's hash, whether or not it has expired.
    async fn get_console_session(&self, id_hash: &str) -> Result<Option<SignedInSession>, StoreError>;
    /// Ends one session (sign-out).
    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Removes every session that expired before `now`; how many.
    async fn delete_expired_console_sessions(&self, now: i64) -> Result<u64, StoreError>;
    /// Keeps `r` as its connection's last failed exchange, replacing the one before.
    async fn put_failed_exchange(&self, r: &FailedExchangeRecord) -> Result<(), StoreError>;
    /// A connection's last failed exchange, if one is kept.
    async fn get_failed_exchange(&self, connection_id: &str) -> Result<Option<FailedExchangeRecord>, StoreError>;
}

pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO console_sessions (id_hash, key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
pub(crate) const SELECT_SESSION: &str = "SELECT s.id_hash, s.key_id, s.created_at, s.expires_at, k.name, k.role, \
     k.revoked_at FROM console_sessions s JOIN api_keys k ON k.id = s.key_id WHERE s.id_hash = $1";
pub(crate) const DELETE_SESSION: &str = "DELETE FROM console_sessions WHERE id_hash = $1";
pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM console_sessions WHERE expires_at < $1";
pub(crate) const UPSERT_FAILURE: &str = "INSERT INTO failed_exchanges (connection_id, kind, at, message, hint, trace) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (connection_id) DO UPDATE SET kind = excluded.kind, \
     at = excluded.at, message = excluded.message, hint = excluded.hint, trace = excluded.trace";
pub(crate) const SELECT_FAILURE: &str =
    "SELECT connection_id, kind, at, message, hint, trace FROM failed_exchanges WHERE connection_id = $1";

pub(crate) type SessionRow = (String, String, i64, i64, String, String, Option<i64>);
pub(crate) type FailureRow = (String, String, i64, String, Option<String>, String);

/// Stamps out [`Console`] for a backend's store type.
macro_rules! impl_console {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::console::Console for $store {
            async fn insert_console_session(
                &self,
                r: &$crate::console::ConsoleSessionRecord,
            ) -> Result<(), $crate::StoreError> {
                let result = sqlx::query::<$db>($crate::console::INSERT_SESSION)
                    .bind(&r.id_hash)
                    .bind(&r.key_id)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        Err($crate::StoreError::Conflict(format!("API key `{}` does not exist (any more)", r.key_id)))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn get_console_session(
                &self,
                id_hash: &str,
            ) -> Result<Option<$crate::console::SignedInSession>, $crate::StoreError> {
                let row = sqlx::query_as::<$db, $crate::console::SessionRow>($crate::console::SELECT_SESSION)
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(row.map(|(id_hash, key_id, created_at, expires_at, key_name, key_role, key_revoked_at)| {
                    $crate::console::SignedInSession {
                        session: $crate::console::ConsoleSessionRecord { id_hash, key_id, created_at, expires_at },
                        key_name,
                        key_role,
                        key_revoked_at,
                    }
                }))
            }

            async fn delete_console_session(&self, id_hash: &str) -> Result<(), $crate::StoreError> {
                sqlx::query::<$db>($crate::console::DELETE_SESSION)
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }

            async fn delete_expired_console_sessions(&self, now: i64) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query::<$db>($crate::console::DELETE_EXPIRED_SESSIONS)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(done.rows_affected())
            }

            async fn put_failed_exchange(
                &self,
                r: &$crate::console::FailedExchangeRecord,
            ) -> Result<(), $crate::StoreError> {
                let result = sqlx::query::<$db>($crate::console::UPSERT_FAILURE)
                    .bind(&r.connection_id)
                    .bind(&r.kind)
                    .bind(r.at)
                    .bind(&r.message)
                    .bind(r.hint.as_deref())
                    .bind(&r.trace)
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    // The connection was deleted while its exchange failed: nothing to show it on.
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => Ok(()),
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn get_failed_exchange(
                &self,
                connection_id: &str,
            ) -> Result<Option<$crate::console::FailedExchangeRecord>, $crate::StoreError> {
                let row = sqlx::query_as::<$db, $crate::console::FailureRow>($crate::console::SELECT_FAILURE)
                    .bind(connection_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(row.map(|(connection_id, kind, at, message, hint, trace)| $crate::console::FailedExchangeRecord {
                    connection_id,
                    kind,
                    at,
                    message,
                    hint,
                    trace,
                }))
            }
        }
    };
}
pub(crate) use impl_console;
