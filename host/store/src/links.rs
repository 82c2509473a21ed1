//! Connect links: single-use, expiring URLs that let an end user connect an account without
//! an API key. The store keeps only the hash of a link's token; claiming a link is one
//! conditional `UPDATE`, so of two browsers racing on one link, one wins.

use crate::StoreError;
use crate::error::corrupt_json;

/// A connect link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLinkRecord {
    /// Opaque id (`lnk_…`), for its creator to poll.
    pub id: String,
    /// SHA-256 of the token in the URL, hex.
    pub token_hash: String,
    /// The integration to connect to.
    pub integration_id: String,
    /// The connection's name, if the link fixes it.
    pub name: Option<String>,
    /// The inputs the link fixes; the page asks for the plugin's other inputs.
    pub inputs: Vec<(String, String)>,
    /// The key the connection will belong to.
    pub owner_key_id: String,
    /// Other keys that may use the connection.
    pub allowed_keys: Vec<String>,
    /// The key that made the link.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the link cannot be used from then on.
    pub expires_at: i64,
    /// When it was used, once it has been.
    pub used_at: Option<i64>,
    /// The connection it made.
    pub connection_id: Option<String>,
}

/// The connect links' half of the store.
#[async_trait::async_trait]
pub trait ConnectLinks: Send + Sync {
    /// Stores a new link.
    async fn insert_connect_link(&self, r: &ConnectLinkRecord) -> Result<(), StoreError>;
    /// One link, by id.
    async fn get_connect_link(&self, id: &str) -> Result<Option<ConnectLinkRecord>, StoreError>;
    /// One link, by its token's hash.
    async fn get_connect_link_by_hash(&self, token_hash: &str) -> Result<Option<ConnectLinkRecord>, StoreError>;
    /// Marks the link used at `now` if it is unused and unexpired; `true` if this call did.
    async fn claim_connect_link(&self, token_hash: &str, now: i64) -> Result<bool, StoreError>;
    /// Makes a claimed link usable again (the connection could not be started).
    async fn unclaim_connect_link(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Records the connection a claimed link made.
    async fn set_connect_link_connection(&self, token_hash: &str, connection_id: &str) -> Result<(), StoreError>;
}

macro_rules! link_columns {
    () => {
        "id, token_hash, integration_id, name, inputs, owner_key_id, allowed_keys, created_by, created_at, \
         expires_at, used_at, connection_id"
    };
}

pub(crate) const INSERT_LINK: &str = concat!(
    "INSERT INTO connect_links (",
    link_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(crate) const SELECT_LINK: &str = concat!("SELECT ", link_columns!(), " FROM connect_links WHERE id = $1");
pub(crate) const SELECT_LINK_BY_HASH: &str =
    concat!("SELECT ", link_columns!(), " FROM connect_links WHERE token_hash = $1");
pub(crate) const CLAIM_LINK: &str =
    "UPDATE connect_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
pub(crate) const UNCLAIM_LINK: &str =
    "UPDATE connect_links SET used_at = NULL WHERE token_hash = $1 AND connection_id IS NULL";
pub(crate) const SET_LINK_CONNECTION: &str = "UPDATE connect_links SET connection_id = $2 WHERE token_hash = $1";

pub(crate) type LinkRow =
    (String, String, String, Option<String>, String, String, String, String, i64, i64, Option<i64>, Option<String>);

pub(crate) fn link_of(row: LinkRow) -> Result<ConnectLinkRecord, StoreError> {
    let (
        id,
        token_hash,
        integration_id,
        name,
        inputs,
        owner_key_id,
        allowed,
        created_by,
        created_at,
        expires_at,
        used_at,
        connection_id,
    ) = row;
    let inputs: Vec<(String, String)> =
        serde_json::from_str(&inputs).map_err(|e| corrupt_json("connect_links", &id, "inputs", e))?;
    let allowed_keys: Vec<String> =
        serde_json::from_str(&allowed).map_err(|e| corrupt_json("connect_links", &id, "allowed_keys", e))?;
    Ok(ConnectLinkRecord {
        id,
        token_hash,
        integration_id,
        name,
        inputs,
        owner_key_id,
        allowed_keys,
        created_by,
        created_at,
        expires_at,
        used_at,
        connection_id,
    })
}

/// Stamps out [`ConnectLinks`] for a backend's store type.
macro_rules! impl_connect_links {
    ($store:ty, $db:ty) => {
        impl $store {
            /// The one link `sql` selects by `key` (its id or its token's hash).
            async fn fetch_link(
                &self,
                sql: &'static str,
                key: &str,
            ) -> Result<Option<$crate::links::ConnectLinkRecord>, $crate::StoreError> {
                let row = sqlx::query_as::<$db, $crate::links::LinkRow>(sql)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                row.map($crate::links::link_of).transpose()
            }
        }

        #[async_trait::async_trait]
        impl $crate::links::ConnectLinks for $store {
            async fn insert_connect_link(
                &self,
                r: &$crate::links::ConnectLinkRecord,
            ) -> Result<(), $crate::StoreError> {
                use $crate::links::*;
                let result = sqlx::query::<$db>(INSERT_LINK)
                    .bind(&r.id)
                    .bind(&r.token_hash)
                    .bind(&r.integration_id)
                    .bind(r.name.as_deref())
                    .bind($crate::sql::json_pairs(&r.inputs))
                    .bind(&r.owner_key_id)
                    .bind($crate::sql::json_strings(&r.allowed_keys))
                    .bind(&r.created_by)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .bind(r.used_at)
                    .bind(r.connection_id.as_deref())
                    .execute(&self.pool)
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if $crate::error::is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                        Err($crate::StoreError::Conflict(format!(
                            "integration `{}` does not exist (any more)",
                            r.integration_id
                        )))
                    }
                    Err(e) => Err($crate::error::database_error(e)),
                }
            }

            async fn get_connect_link(
                &self,
                id: &str,
            ) -> Result<Option<$crate::links::ConnectLinkRecord>, $crate::StoreError> {
                self.fetch_link($crate::links::SELECT_LINK, id).await
            }

            async fn get_connect_link_by_hash(
                &self,
                token_hash: &str,
            ) -> Result<Option<$crate::links::ConnectLinkRecord>, $crate::StoreError> {
                self.fetch_link($crate::links::SELECT_LINK_BY_HASH, token_hash).await
            }

            async fn claim_connect_link(&self, token_hash: &str, now: i64) -> Result<bool, $crate::StoreError> {
                use $crate::links::*;
                let done = sqlx::query::<$db>(CLAIM_LINK)
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn unclaim_connect_link(&self, token_hash: &str) -> Result<(), $crate::StoreError> {
                use $crate::links::*;
                sqlx::query::<$db>(UNCLAIM_LINK)
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }

            async fn set_connect_link_connection(
                &self,
                token_hash: &str,
                connection_id: &str,
            ) -> Result<(), $crate::StoreError> {
                use $crate::links::*;
                sqlx::query::<$db>(SET_LINK_CONNECTION)
                    .bind(token_hash)
                    .bind(connection_id)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::error::database_error)?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_connect_links;
