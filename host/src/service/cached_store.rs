//! The store as the service sees it: every write drops what it changed from the hot-path cache
//! once it is committed, and the `cached_*` reads go through the cache.
//!
//! Writing through here, rather than at each call site, means no service path can change a row
//! and forget the cache. The trait's own `get_*` methods read the store, for the paths that must
//! see the latest row (a refresh under its lock, a read-modify-write).

use std::sync::Arc;

use async_trait::async_trait;
use keyway_store::{
    ActionRecord, ApiKeyRecord, Change, ConnectionRecord, IntegrationRecord, MigrationStatus, PendingFlowRecord,
    PluginRecord, PluginVersion, Store, StoreError, Watch,
};

use super::cache::HotCache;
use crate::metrics;

/// A [`Store`] with the hot-path cache in front of it.
#[derive(Debug)]
pub(crate) struct CachedStore {
    inner: Arc<dyn Store>,
    cache: Arc<HotCache>,
}

impl CachedStore {
    pub(crate) fn new(inner: Arc<dyn Store>, cache: Arc<HotCache>) -> Self {
        Self { inner, cache }
    }

    /// The API key with this hash, from the cache when it is there.
    pub(crate) async fn cached_api_key(&self, hash: &str) -> Result<Option<Arc<ApiKeyRecord>>, StoreError> {
        let fetch = || self.inner.get_api_key_by_hash(hash);
        self.cache.read_through(metrics::CACHE_API_KEYS, &self.cache.keys, hash, fetch).await
    }

    /// The integration with this id, from the cache when it is there.
    pub(crate) async fn cached_integration(&self, id: &str) -> Result<Option<Arc<IntegrationRecord>>, StoreError> {
        self.cache
            .read_through(metrics::CACHE_INTEGRATIONS, &self.cache.integrations, id, || self.inner.get_integration(id))
            .await
    }

    /// The connection with this id, from the cache when it is there.
    pub(crate) async fn cached_connection(&self, id: &str) -> Result<Option<Arc<ConnectionRecord>>, StoreError> {
        self.cache
            .read_through(metrics::CACHE_CONNECTIONS, &self.cache.connections, id, || self.inner.get_connection(id))
            .await
    }

    /// The integration's declarative action `name`, from the cache when it is there.
    pub(crate) async fn cached_action(
        &self,
        integration_id: &str,
        name: &str,
    ) -> Result<Option<Arc<ActionRecord>>, StoreError> {
        let key = (integration_id.to_string(), name.to_string());
        self.cache
            .read_through(metrics::CACHE_ACTIONS, &self.cache.actions, &key, || {
                self.inner.get_action(integration_id, name)
            })
            .await
    }

    /// Drops `change` from the cache once `result` is in: committed or not, the cached copy may
    /// no longer be the stored one.
    fn wrote<T>(&self, result: Result<T, StoreError>, change: Change) -> Result<T, StoreError> {
        self.cache.changed(&change);
        result
    }
}

fn action_change(integration_id: &str, name: &str) -> Change {
    Change::Action { integration_id: integration_id.to_string(), name: name.to_string() }
}

#[async_trait]
impl Store for CachedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn close(&self) {
        self.inner.close().await
    }
    fn watch(&self) -> tokio::sync::mpsc::Receiver<Watch> {
        self.inner.watch()
    }
    async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        self.inner.migration_status().await
    }

    async fn insert_integration(&self, r: &IntegrationRecord) -> Result<(), StoreError> {
        self.inner.insert_integration(r).await
    }
    async fn get_integration(&self, id: &str) -> Result<Option<IntegrationRecord>, StoreError> {
        self.inner.get_integration(id).await
    }
    async fn get_integration_by_name(&self, name: &str) -> Result<Option<IntegrationRecord>, StoreError> {
        self.inner.get_integration_by_name(name).await
    }
    async fn list_integrations(&self) -> Result<Vec<IntegrationRecord>, StoreError> {
        self.inner.list_integrations().await
    }
    async fn update_integration(&self, r: &IntegrationRecord) -> Result<(), StoreError> {
        self.wrote(self.inner.update_integration(r).await, Change::Integration(r.id.clone()))
    }
    async fn delete_integration(&self, id: &str) -> Result<(), StoreError> {
        self.wrote(self.inner.delete_integration(id).await, Change::Integration(id.to_string()))
    }

    async fn insert_connection(&self, r: &ConnectionRecord) -> Result<(), StoreError> {
        self.inner.insert_connection(r).await
    }
    async fn get_connection(&self, id: &str) -> Result<Option<ConnectionRecord>, StoreError> {
        self.inner.get_connection(id).await
    }
    async fn list_connections(&self) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.inner.list_connections().await
    }
    async fn update_connection(&self, r: &ConnectionRecord) -> Result<(), StoreError> {
        self.wrote(self.inner.update_connection(r).await, Change::Connection(r.id.clone()))
    }
    async fn delete_connection(&self, id: &str) -> Result<(), StoreError> {
        self.wrote(self.inner.delete_connection(id).await, Change::Connection(id.to_string()))
    }

    async fn insert_pending(&self, r: &PendingFlowRecord) -> Result<(), StoreError> {
        self.inner.insert_pending(r).await
    }
    async fn take_pending(&self, state_hash: &str) -> Result<Option<PendingFlowRecord>, StoreError> {
        self.inner.take_pending(state_hash).await
    }
    async fn delete_expired_pending(&self, now: i64) -> Result<u64, StoreError> {
        self.inner.delete_expired_pending(now).await
    }
    async fn mark_refresh_expired(&self, now: i64, message: &str) -> Result<u64, StoreError> {
        let result = self.inner.mark_refresh_expired(now, message).await;
        // Any number of connections: a rare sweep, so dropping them all is cheap enough.
        if !matches!(result, Ok(0)) {
            self.cache.changed(&Change::Everything);
        }
        result
    }

    async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError> {
        self.inner.insert_api_key(r).await
    }
    async fn get_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.get_api_key_by_hash(key_hash).await
    }
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.list_api_keys().await
    }
    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        // Keys are cached by hash, and the id does not name one: the revoked key's hash is read
        // back so that exactly it is dropped.
        let hash = self.inner.list_api_keys().await?.into_iter().find(|k| k.id == id).map(|k| k.key_hash);
        let result = self.inner.revoke_api_key(id, at).await;
        self.cache.changed(&hash.map_or(Change::Everything, Change::ApiKey));
        result
    }
    async fn count_api_keys(&self) -> Result<u64, StoreError> {
        self.inner.count_api_keys().await
    }

    async fn put_plugin(&self, r: &PluginRecord) -> Result<(), StoreError> {
        self.inner.put_plugin(r).await
    }
    async fn get_plugin(&self, hash: &str) -> Result<Option<PluginRecord>, StoreError> {
        self.inner.get_plugin(hash).await
    }
    async fn list_plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.inner.list_plugins().await
    }
    async fn list_plugin_versions(&self) -> Result<Vec<PluginVersion>, StoreError> {
        self.inner.list_plugin_versions().await
    }
    async fn delete_plugin(&self, hash: &str) -> Result<(), StoreError> {
        self.inner.delete_plugin(hash).await
    }

    async fn insert_action(&self, r: &ActionRecord) -> Result<(), StoreError> {
        self.wrote(self.inner.insert_action(r).await, action_change(&r.integration_id, &r.name))
    }
    async fn update_action(&self, r: &ActionRecord) -> Result<(), StoreError> {
        self.wrote(self.inner.update_action(r).await, action_change(&r.integration_id, &r.name))
    }
    async fn get_action(&self, integration_id: &str, name: &str) -> Result<Option<ActionRecord>, StoreError> {
        self.inner.get_action(integration_id, name).await
    }
    async fn list_actions(&self, integration_id: &str) -> Result<Vec<ActionRecord>, StoreError> {
        self.inner.list_actions(integration_id).await
    }
    async fn delete_action(&self, integration_id: &str, name: &str) -> Result<(), StoreError> {
        self.wrote(self.inner.delete_action(integration_id, name).await, action_change(integration_id, name))
    }

    async fn try_acquire_refresh_lease(
        &self,
        connection_id: &str,
        holder: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<bool, StoreError> {
        self.inner.try_acquire_refresh_lease(connection_id, holder, now, ttl_secs).await
    }
    async fn release_refresh_lease(&self, connection_id: &str, holder: &str) -> Result<(), StoreError> {
        self.inner.release_refresh_lease(connection_id, holder).await
    }
}

/// Events and webhooks are never cached: each call goes to the store.
#[async_trait]
impl keyway_store::Outbox for CachedStore {
    async fn insert_webhook(&self, r: &keyway_store::WebhookRecord) -> Result<(), StoreError> {
        self.inner.insert_webhook(r).await
    }
    async fn get_webhook(&self, id: &str) -> Result<Option<keyway_store::WebhookRecord>, StoreError> {
        self.inner.get_webhook(id).await
    }
    async fn list_webhooks(&self) -> Result<Vec<keyway_store::WebhookRecord>, StoreError> {
        self.inner.list_webhooks().await
    }
    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete_webhook(id).await
    }
    async fn claim_deliveries(
        &self,
        now: i64,
        leased_until: i64,
        limit: i64,
    ) -> Result<Vec<keyway_store::ClaimedDelivery>, StoreError> {
        self.inner.claim_deliveries(now, leased_until, limit).await
    }
    async fn record_attempt(
        &self,
        event_seq: i64,
        webhook_id: &str,
        outcome: &keyway_store::AttemptOutcome,
    ) -> Result<(), StoreError> {
        self.inner.record_attempt(event_seq, webhook_id, outcome).await
    }
    async fn prune_events(&self, before: i64) -> Result<u64, StoreError> {
        self.inner.prune_events(before).await
    }
    async fn list_events(
        &self,
        connection_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(keyway_store::EventRecord, Vec<keyway_store::DeliveryRecord>)>, StoreError> {
        self.inner.list_events(connection_id, limit).await
    }
}

/// Connect links are never cached: each call goes to the store.
#[async_trait]
impl keyway_store::ConnectLinks for CachedStore {
    async fn insert_connect_link(&self, r: &keyway_store::ConnectLinkRecord) -> Result<(), StoreError> {
        self.inner.insert_connect_link(r).await
    }
    async fn get_connect_link(&self, id: &str) -> Result<Option<keyway_store::ConnectLinkRecord>, StoreError> {
        self.inner.get_connect_link(id).await
    }
    async fn get_connect_link_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<keyway_store::ConnectLinkRecord>, StoreError> {
        self.inner.get_connect_link_by_hash(token_hash).await
    }
    async fn claim_connect_link(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        self.inner.claim_connect_link(token_hash, now).await
    }
    async fn unclaim_connect_link(&self, token_hash: &str) -> Result<(), StoreError> {
        self.inner.unclaim_connect_link(token_hash).await
    }
    async fn set_connect_link_connection(&self, token_hash: &str, connection_id: &str) -> Result<(), StoreError> {
        self.inner.set_connect_link_connection(token_hash, connection_id).await
    }
}

/// Console sessions and failed exchanges are never cached: each call goes to the store.
#[async_trait]
impl keyway_store::Console for CachedStore {
    async fn insert_console_session(&self, r: &keyway_store::ConsoleSessionRecord) -> Result<(), StoreError> {
        self.inner.insert_console_session(r).await
    }
    async fn get_console_session(&self, id_hash: &str) -> Result<Option<keyway_store::SignedInSession>, StoreError> {
        self.inner.get_console_session(id_hash).await
    }
    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.inner.delete_console_session(id_hash).await
    }
    async fn delete_expired_console_sessions(&self, now: i64) -> Result<u64, StoreError> {
        self.inner.delete_expired_console_sessions(now).await
    }
    async fn put_failed_exchange(&self, r: &keyway_store::FailedExchangeRecord) -> Result<(), StoreError> {
        self.inner.put_failed_exchange(r).await
    }
    async fn get_failed_exchange(
        &self,
        connection_id: &str,
    ) -> Result<Option<keyway_store::FailedExchangeRecord>, StoreError> {
        self.inner.get_failed_exchange(connection_id).await
    }
}
