//! A connection with everything a use of it needs: its integration, the plugin, and the
//! credentials opened. Every use case that works through a connection starts here.

use keyway_store::Store as _;
use std::sync::Arc;
use std::time::SystemTime;

use keyway_store::{ConnectionRecord, ConnectionStatus, IntegrationRecord};

use super::refresh::Need;
use super::{Service, ServiceError};
use crate::connection::ConnectionState;
use crate::engine::LoadedPlugin;
use crate::integration::IntegrationConfig;
use crate::keys::Principal;

/// How current the connection must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Freshness {
    /// Read from the store: for changes to the connection (read, modify, write).
    Stored,
    /// From the hot-path cache: to read it.
    Cached,
    /// From the hot-path cache, active, and refreshed first if its access token is about to
    /// expire: to make API calls with it.
    Callable,
}

/// A connection, opened for one use. Its credentials live only as long as it does.
pub(super) struct ConnectionCtx {
    /// The connection as read.
    pub(super) record: Arc<ConnectionRecord>,
    /// Its integration's row, as read.
    pub(super) integration_record: Arc<IntegrationRecord>,
    /// Its integration, secrets opened.
    pub(super) integration: IntegrationConfig,
    /// The plugin that formats its requests.
    pub(super) plugin: Arc<LoadedPlugin>,
    /// The flows' view of it, credentials opened.
    pub(super) state: ConnectionState,
}

impl Service {
    /// Opens connection `id` for `who`. Anything the caller may not use is "not found", so
    /// ids never leak.
    pub(super) async fn open_connection(
        &self,
        who: &Principal,
        id: &str,
        freshness: Freshness,
    ) -> Result<ConnectionCtx, ServiceError> {
        let record = self.usable_connection(who, id, freshness).await?;
        if freshness == Freshness::Callable {
            require_active(&record)?;
        }
        let mut ctx = self.context_of(record, freshness).await?;
        if freshness == Freshness::Callable
            && ctx
                .state
                .credentials
                .tokens()
                .is_some_and(|t| t.expires_within(self.settings.refresh_margin, SystemTime::now()))
        {
            // Boxed: a refresh's future is most of this one's size, and every request would
            // otherwise carry (and copy) room for the refresh it almost never makes.
            Box::pin(self.refresh_ctx(&mut ctx, Need::Expiring)).await?;
        }
        Ok(ctx)
    }

    /// The context of a connection already read (by a callback, or a refresh).
    pub(super) async fn context_of(
        &self,
        record: Arc<ConnectionRecord>,
        freshness: Freshness,
    ) -> Result<ConnectionCtx, ServiceError> {
        let integration_record = match freshness {
            Freshness::Stored => Arc::new(self.integration_record(&record.integration_id).await?),
            Freshness::Cached | Freshness::Callable => self.cached_integration_record(&record.integration_id).await?,
        };
        let integration = self.config_of(&integration_record)?;
        let plugin = self.plugin_for(&integration).await?;
        let state = self.connection_state(&record)?;
        Ok(ConnectionCtx { record, integration_record, integration, plugin, state })
    }

    /// Refreshes the connection (see [`Service::refresh_connection`]) and takes on what the
    /// store holds afterwards.
    pub(super) async fn refresh_ctx(&self, ctx: &mut ConnectionCtx, need: Need) -> Result<(), ServiceError> {
        let record = self.refresh_connection(&ctx.record.id, need).await?;
        ctx.state = self.connection_state(&record)?;
        ctx.record = Arc::new(record);
        Ok(())
    }

    /// A connection the caller may use; anything else is "not found".
    pub(super) async fn usable_connection(
        &self,
        who: &Principal,
        id: &str,
        freshness: Freshness,
    ) -> Result<Arc<ConnectionRecord>, ServiceError> {
        let record = match freshness {
            Freshness::Stored => self.store.get_connection(id).await?.map(Arc::new),
            Freshness::Cached | Freshness::Callable => self.store.cached_connection(id).await?,
        };
        match record {
            Some(record) if can_use(who, &record) => Ok(record),
            _ => Err(ServiceError::NotFound(format!("no connection `{id}`"))),
        }
    }

    /// The connection `id` as stored, whoever may use it.
    pub(super) async fn connection_record(&self, id: &str) -> Result<ConnectionRecord, ServiceError> {
        self.store.get_connection(id).await?.ok_or_else(|| ServiceError::NotFound(format!("no connection `{id}`")))
    }

    /// The integration `id` from the hot-path cache.
    pub(super) async fn cached_integration_record(&self, id: &str) -> Result<Arc<IntegrationRecord>, ServiceError> {
        self.store.cached_integration(id).await?.ok_or_else(|| ServiceError::NotFound(format!("no integration `{id}`")))
    }

    /// The plugin an integration names, installed.
    pub(super) async fn plugin_for(&self, integration: &IntegrationConfig) -> Result<Arc<LoadedPlugin>, ServiceError> {
        self.plugins.resolve(&integration.plugin).await.map_err(|e| match e {
            crate::registry::RegistryError::NotFound(m) => ServiceError::Conflict(format!(
                "integration `{}` uses a plugin that is not installed: {m}",
                integration.name
            )),
            other => other.into(),
        })
    }
}

/// Whether `who` may use the connection: an admin, its owner, or a key it allows.
pub(super) fn can_use(who: &Principal, r: &ConnectionRecord) -> bool {
    who.is_admin() || r.owner_key_id == who.key_id || r.allowed_keys.contains(&who.key_id)
}

/// Refuses connections that cannot make API calls, saying what to do.
pub(super) fn require_active(record: &ConnectionRecord) -> Result<(), ServiceError> {
    match record.status {
        ConnectionStatus::Active => Ok(()),
        ConnectionStatus::Pending => Err(ServiceError::Conflict(
            "the connection is not connected yet; finish the browser authorization first".into(),
        )),
        other => Err(ServiceError::Conflict(format!(
            "the connection is `{other}`{}; reconnect it",
            record.last_error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
        ))),
    }
}
