//! Keyway's storage: one async [`Store`] trait with two backends, chosen by the database URL.
//!
//! - **SQLite** (`sqlite:/path/to/keyway.db`) is the embedded default: one file, nothing to install.
//! - **PostgreSQL** (`postgres://user:password@host/db`) is for many host replicas behind a load balancer:
//!   pending flows, tokens, plugins and refresh leases live in the database, so a callback can land on any
//!   replica and a refresh happens once.
//!
//! Both backends run the same queries against equivalent schemas (`migrations/sqlite` and `migrations/postgres`,
//! embedded at compile time and applied by [`connect`]), and pass the same test suite.
//!
//! The store holds plain data and never sees a plaintext secret: `*_sealed` fields are ciphertext that the service
//! seals with the row id as associated data. Times are Unix seconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyway_store::StoreError> {
//! let store = keyway_store::connect("sqlite:/var/lib/keyway/keyway.db").await?;
//! let keys = store.count_api_keys().await?;
//! # let _ = keys; Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod changes;
pub mod console;
mod error;
pub mod events;
mod id;
pub mod links;
mod migrations;
mod postgres;
mod records;
mod sql;
mod sqlite;
mod store;

use std::sync::Arc;

pub use changes::{Change, Watch};
pub use console::{Console, ConsoleSessionRecord, FailedExchangeRecord, SignedInSession};
pub use error::StoreError;
pub use events::{AttemptOutcome, ClaimedDelivery, DeliveryRecord, EventRecord, Outbox, WebhookRecord};
pub use id::new_id;
pub use links::{ConnectLinkRecord, ConnectLinks};
pub use migrations::MigrationStatus;
pub use records::{
    ActionRecord, ApiKeyRecord, ConnectionRecord, ConnectionStatus, IntegrationRecord, PendingFlowRecord, PluginRecord,
    PluginVersion,
};
pub use store::Store;

/// Opens the store that `url` names, creating the schema or bringing it up to date.
///
/// - `sqlite:/path/to/keyway.db` (also `sqlite:///path`, or `sqlite:relative.db`): the file is created if missing
///   (its directory must exist), in WAL mode with foreign keys on and a 5 s busy timeout. `sqlite::memory:` is a
///   private in-memory database that lives as long as the store (one connection; for tests).
/// - `postgres://user:password@host:port/db` (or `postgresql://`): a pool of up to 10 connections. Replicas may
///   start together: migrations take a database lock, so only one applies them.
///
/// Errors say what to fix: [`StoreError::InvalidUrl`] for a URL of another kind, [`StoreError::Database`] when the
/// database cannot be reached or opened, [`StoreError::Migration`] when the schema cannot be brought up to date
/// (for instance, a newer Keyway already migrated it).
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else {
        // Never echo the URL: it may hold a password.
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        Err(StoreError::InvalidUrl(format!(
            "unsupported database URL scheme `{scheme}`: use `sqlite:/path/to/keyway.db` or \
             `postgres://user:password@host:5432/keyway`"
        )))
    }
}
