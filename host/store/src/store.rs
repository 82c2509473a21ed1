//! The storage trait the service is written against.

use async_trait::async_trait;

use crate::{
    ActionRecord, ApiKeyRecord, ConnectionRecord, IntegrationRecord, PendingFlowRecord, PluginRecord, PluginVersion,
    StoreError,
};

/// Everything Keyway keeps. Both backends implement it with the same behaviour; the service holds an
/// `Arc<dyn Store>` from [`connect`](crate::connect).
///
/// Lists come back oldest first (by `created_at`, then by id). Inserting a row whose id already exists is a
/// [`StoreError::Conflict`]; updating, deleting or revoking one that does not is [`StoreError::NotFound`].
#[async_trait]
pub trait Store: crate::Outbox + crate::ConnectLinks + crate::Console + Send + Sync + std::fmt::Debug {
    /// Which backend this is: `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Closes every connection, waiting for them to finish what they are doing (on SQLite, this also folds the
    /// write-ahead log into the database file). Call it on shutdown; afterwards every operation fails.
    async fn close(&self);

    /// Starts the change feed (see [`changes`](crate::changes)) and returns its events; it runs
    /// until the receiver is dropped. Needs a tokio runtime.
    fn watch(&self) -> tokio::sync::mpsc::Receiver<crate::Watch>;

    /// How the migrations applied to the database compare with those this build embeds
    /// (`/readyz` asks). A [`StoreError::Database`] when the database cannot be read.
    async fn migration_status(&self) -> Result<crate::MigrationStatus, StoreError>;

    // ---- integrations ----

    /// Stores a new integration. A taken name is a [`StoreError::Conflict`] that names it.
    async fn insert_integration(&self, r: &IntegrationRecord) -> Result<(), StoreError>;
    /// The integration with this id, if any.
    async fn get_integration(&self, id: &str) -> Result<Option<IntegrationRecord>, StoreError>;
    /// The integration with this exact name, if any.
    async fn get_integration_by_name(&self, name: &str) -> Result<Option<IntegrationRecord>, StoreError>;
    /// Every integration, oldest first.
    async fn list_integrations(&self) -> Result<Vec<IntegrationRecord>, StoreError>;
    /// Replaces every field of the integration `r.id` but `created_at`. [`StoreError::NotFound`] if it does not
    /// exist; [`StoreError::Conflict`] if it is renamed to a taken name.
    async fn update_integration(&self, r: &IntegrationRecord) -> Result<(), StoreError>;
    /// Deletes an integration. [`StoreError::Conflict`] while connections use it (delete them first), and
    /// [`StoreError::NotFound`] if it does not exist.
    async fn delete_integration(&self, id: &str) -> Result<(), StoreError>;

    // ---- connections ----

    /// Stores a new connection. [`StoreError::Conflict`] if its integration does not exist (any more).
    async fn insert_connection(&self, r: &ConnectionRecord) -> Result<(), StoreError>;
    /// The connection with this id, if any.
    async fn get_connection(&self, id: &str) -> Result<Option<ConnectionRecord>, StoreError>;
    /// Every connection, oldest first. The service filters what a caller may see.
    async fn list_connections(&self) -> Result<Vec<ConnectionRecord>, StoreError>;
    /// Replaces every field of the connection `r.id` but `created_at`. [`StoreError::NotFound`] if it does not
    /// exist.
    async fn update_connection(&self, r: &ConnectionRecord) -> Result<(), StoreError>;
    /// Deletes a connection, with its pending flows and its refresh lease. [`StoreError::NotFound`] if it does not
    /// exist.
    async fn delete_connection(&self, id: &str) -> Result<(), StoreError>;

    // ---- pending authorizations: single use ----

    /// Stores a started authorization. [`StoreError::Conflict`] if its connection does not exist (any more) or the
    /// state hash is taken.
    async fn insert_pending(&self, r: &PendingFlowRecord) -> Result<(), StoreError>;
    /// Atomically removes and returns the flow for this state hash (`DELETE … RETURNING`): of any number of
    /// concurrent takers, on any replica, exactly one gets it. An expired flow is returned too, so that the caller
    /// can tell "expired" from "unknown"; checking `expires_at` is the caller's job.
    async fn take_pending(&self, state_hash: &str) -> Result<Option<PendingFlowRecord>, StoreError>;
    /// Deletes the flows expired at `now` (`expires_at <= now`), and returns how many.
    async fn delete_expired_pending(&self, now: i64) -> Result<u64, StoreError>;

    /// Marks `needs_reauth`, with `message` as the last error, every active connection whose
    /// refresh token has expired at `now` (`refresh_expires_at <= now`); returns how many.
    async fn mark_refresh_expired(&self, now: i64, message: &str) -> Result<u64, StoreError>;

    // ---- API keys ----

    /// Stores a new API key. [`StoreError::Conflict`] if the hash (or id) is taken.
    async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The key with this hash, revoked or not: check `revoked_at`.
    async fn get_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Every key, revoked ones included, oldest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Marks the key revoked at `at`. Revoking a revoked key keeps the first time. [`StoreError::NotFound`] if it
    /// does not exist.
    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<(), StoreError>;
    /// How many keys were ever created, revoked ones included: zero means a first start.
    async fn count_api_keys(&self) -> Result<u64, StoreError>;

    // ---- plugins: content-addressed ----

    /// Stores a plugin under its hash. Storing the same hash again does nothing (the first record stays).
    async fn put_plugin(&self, r: &PluginRecord) -> Result<(), StoreError>;
    /// The plugin with this hash, if any.
    async fn get_plugin(&self, hash: &str) -> Result<Option<PluginRecord>, StoreError>;
    /// Every plugin, bytes included, oldest first.
    async fn list_plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;
    /// Every plugin without its bytes, oldest first: what replicas poll for their catalogs.
    async fn list_plugin_versions(&self) -> Result<Vec<PluginVersion>, StoreError>;
    /// Deletes a plugin. [`StoreError::NotFound`] if it does not exist.
    async fn delete_plugin(&self, hash: &str) -> Result<(), StoreError>;

    // ---- declarative actions: unique per integration, deleted with it ----

    /// Stores a new action. [`StoreError::Conflict`] if the integration already has an action of that name, or the
    /// integration does not exist (any more).
    async fn insert_action(&self, r: &ActionRecord) -> Result<(), StoreError>;
    /// Replaces an action's definition and `updated_at`. [`StoreError::NotFound`] if it does not exist.
    async fn update_action(&self, r: &ActionRecord) -> Result<(), StoreError>;
    /// The action of this integration with this name, if any.
    async fn get_action(&self, integration_id: &str, name: &str) -> Result<Option<ActionRecord>, StoreError>;
    /// The integration's actions, by name.
    async fn list_actions(&self, integration_id: &str) -> Result<Vec<ActionRecord>, StoreError>;
    /// Deletes an action. [`StoreError::NotFound`] if it does not exist.
    async fn delete_action(&self, integration_id: &str, name: &str) -> Result<(), StoreError>;

    // ---- refresh leases: one refresh per connection across all replicas ----

    /// Takes the refresh lease of a connection for `ttl_secs` from `now`, if it is free, expired
    /// (`expires_at <= now`), or already `holder`'s (which renews it). `true` means acquired: of concurrent
    /// acquirers on any replica, exactly one gets `true`. [`StoreError::NotFound`] if the connection does not exist.
    async fn try_acquire_refresh_lease(
        &self,
        connection_id: &str,
        holder: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<bool, StoreError>;
    /// Releases the lease if `holder` holds it; otherwise (expired and taken over, or never held) does nothing.
    async fn release_refresh_lease(&self, connection_id: &str, holder: &str) -> Result<(), StoreError>;
}
