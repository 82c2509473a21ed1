//! The integration service: what `keyway serve` does, independent of HTTP.
//!
//! It owns the store, the master key and the flows; handlers in `server` only translate
//! between HTTP and these methods. Every secret is sealed before it reaches the store, with
//! its row as associated data.

mod action_session;
mod actions;
mod cache;
mod cached_store;
mod connections;
pub mod console;
mod context;
pub mod events;
mod integrations;
mod keys;
pub mod links;
pub mod model;
mod plugins;
mod refresh;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyway_store::{Store, StoreError};

use crate::crypto::{CryptoError, Sealer};
use crate::flows::{FlowError, Flows};
use crate::integration::FieldError;
use crate::registry::PluginRegistry;

pub use cache::DEFAULT_ENTRIES as DEFAULT_CACHE_ENTRIES;
pub use connections::{CallbackError, CallbackOutcome};
pub use refresh::RefreshPolicy;

/// Why a service call failed. Each maps to one HTTP status; 4xx messages say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field is invalid (400 `invalid_field`).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The request cannot be served as asked (400).
    #[error("{0}")]
    BadRequest(String),
    /// No API key, or an unknown or revoked one (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role does not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that id that the caller may see (404).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with what exists (409).
    #[error("{0}")]
    Conflict(String),
    /// An action reached its call cap or its deadline, or a hook its cap on requests (422).
    #[error("{0}")]
    LimitExceeded(String),
    /// The integration already runs as many plugin calls as it may (503, with `Retry-After`).
    #[error("{message}")]
    Busy {
        /// Which quota is full.
        message: String,
        /// When to retry.
        retry_after: Duration,
    },
    /// The provider or app failed or could not be reached (502).
    #[error("{0}")]
    Upstream(String),
    /// A bug or an infrastructure failure (500). The detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("not found".into()),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<crate::registry::RegistryError> for ServiceError {
    fn from(e: crate::registry::RegistryError) -> Self {
        use crate::registry::RegistryError;
        match e {
            RegistryError::Invalid(e) => ServiceError::BadRequest(e.to_string()),
            RegistryError::Conflict(m) => ServiceError::Conflict(m),
            RegistryError::NotFound(m) => ServiceError::NotFound(m),
            RegistryError::Store(e) => e.into(),
        }
    }
}

impl From<CryptoError> for ServiceError {
    fn from(e: CryptoError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

/// Settings the service needs at run time.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// How long a `state` stays valid.
    pub state_ttl: Duration,
    /// Refresh this long before the access token expires.
    pub refresh_margin: Duration,
    /// How long an admin console sign-in lasts.
    pub console_session_ttl: Duration,
    /// Retries of a refresh that met 429 or 5xx.
    pub refresh_policy: RefreshPolicy,
    /// Per-invocation bounds on custom actions.
    pub action_limits: crate::actions::ActionLimits,
    /// How many API keys, integrations, connections and actions (each) the hot-path cache
    /// keeps; 0 turns it off, and every request reads the database.
    pub cache_entries: usize,
    /// Webhook delivery: retries and their backoff, the poll interval, the claim lease.
    pub events: events::EventSettings,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            state_ttl: Duration::from_secs(600),
            refresh_margin: Duration::from_secs(300),
            console_session_ttl: crate::config::DEFAULT_CONSOLE_SESSION_TTL,
            refresh_policy: RefreshPolicy::default(),
            action_limits: crate::actions::ActionLimits::default(),
            cache_entries: cache::DEFAULT_ENTRIES,
            events: events::EventSettings::default(),
        }
    }
}

/// The service. Share it behind an `Arc`.
#[derive(Debug)]
pub struct Service {
    /// The store behind the hot-path cache: writes through it drop what they change.
    store: Arc<cached_store::CachedStore>,
    /// The same store, as the trait object callers outside the service use.
    dyn_store: Arc<dyn Store>,
    sealer: Sealer,
    flows: Flows,
    plugins: Arc<PluginRegistry>,
    settings: ServiceSettings,
    refresh: refresh::SingleFlight,
}

impl Service {
    /// Assembles the service from its parts. Inside a tokio runtime, the hot-path cache
    /// follows the store's change feed (see [`cache`]); outside one, or with
    /// `cache_entries` 0, every request reads the store.
    pub fn new(
        store: Arc<dyn Store>,
        sealer: Sealer,
        flows: Flows,
        plugins: Arc<PluginRegistry>,
        settings: ServiceSettings,
    ) -> Self {
        let cache = Arc::new(cache::HotCache::new(settings.cache_entries));
        if settings.cache_entries > 0 && tokio::runtime::Handle::try_current().is_ok() {
            cache::HotCache::follow(&cache, store.as_ref());
        }
        let store = Arc::new(cached_store::CachedStore::new(store, cache));
        let dyn_store: Arc<dyn Store> = store.clone();
        Self { store, dyn_store, sealer, flows, plugins, settings, refresh: refresh::SingleFlight::new() }
    }

    /// The store. Writes through it keep the hot-path cache right; write through nothing else.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.dyn_store
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &Arc<PluginRegistry> {
        &self.plugins
    }

    /// The flows.
    pub fn flows(&self) -> &Flows {
        &self.flows
    }
}

/// Refuses callers without the admin role; `what` names the task ("managing plugins").
pub(crate) fn require_admin(who: &crate::keys::Principal, what: &str) -> Result<(), ServiceError> {
    if who.is_admin() { Ok(()) } else { Err(ServiceError::Forbidden(format!("{what} needs an admin key"))) }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    crate::connection::unix_seconds(SystemTime::now()) as i64
}

/// RFC 3339 for a Unix time, as the API returns times.
pub fn rfc3339(unix: i64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

impl From<FlowError> for ServiceError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Config(m) => ServiceError::BadRequest(m),
            FlowError::Callback(m) => ServiceError::BadRequest(m),
            FlowError::Plugin(e) => e.into(),
            other => ServiceError::Upstream(other.to_string()),
        }
    }
}

impl From<crate::engine::CallError> for ServiceError {
    fn from(e: crate::engine::CallError) -> Self {
        use crate::engine::CallError;
        match e {
            CallError::Busy { retry_after, .. } => ServiceError::Busy { message: e.to_string(), retry_after },
            CallError::Limit { .. } => ServiceError::LimitExceeded(e.to_string()),
            other => ServiceError::Upstream(other.to_string()),
        }
    }
}
