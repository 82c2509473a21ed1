//! The PostgreSQL backend: a connection pool, shared safely by many host replicas.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::StoreError;
use crate::error::{database_message, migration_error};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// How long `connect` keeps retrying a database that refuses connections (it may be starting up too).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A store in a PostgreSQL database.
pub(crate) struct PostgresStore {
    pool: PgPool,
    /// `user@host:port/database`, never the password: for `Debug` and messages.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to and migrates the database that a `postgres://` URL names.
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        // The parse error never contains the URL, which may hold a password.
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::InvalidUrl(format!(
                "{e}: use `postgres://user:password@host:5432/keyway` (percent-encode special characters in the \
                 password)"
            ))
        })?;
        let target = format!(
            "{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        let failed = |cause: String| {
            StoreError::Database(format!(
                "could not connect to PostgreSQL at `{target}`: {cause}; check that it is running and that the \
                 database URL is right"
            ))
        };
        let pool = match PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => pool,
            // The pool retried a refused connection until its timeout, and says only that it timed out. One direct
            // attempt recovers the cause.
            Err(sqlx::Error::PoolTimedOut) => {
                let cause = match PgConnection::connect_with(&options).await {
                    Ok(conn) => {
                        let _ = conn.close().await;
                        format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
                    }
                    Err(e) => database_message(e),
                };
                return Err(failed(cause));
            }
            Err(e) => return Err(failed(database_message(e))),
        };
        MIGRATOR.run(&pool).await.map_err(migration_error)?;
        Ok(Self { pool, target })
    }
}

impl PostgresStore {
    /// The change feed's task.
    fn change_feed(&self, tx: tokio::sync::mpsc::Sender<crate::Watch>) -> impl Future<Output = ()> + Send + 'static {
        crate::changes::watch_postgres(self.pool.clone(), tx)
    }
}

crate::sql::impl_store!(PostgresStore, sqlx::Postgres, "postgres");
crate::events::impl_outbox!(PostgresStore, sqlx::Postgres);
crate::links::impl_connect_links!(PostgresStore, sqlx::Postgres);
crate::console::impl_console!(PostgresStore, sqlx::Postgres);
