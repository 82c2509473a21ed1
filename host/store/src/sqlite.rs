//! The SQLite backend: one database file, in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::error::{database_message, migration_error};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// A store in one SQLite file.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// The file, or `:memory:`, for `Debug` and messages.
    path: String,
    /// How the change feed opens the file; `None` in memory, where nothing else can write.
    watch_options: Option<SqliteConnectOptions>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database that a `sqlite:` URL names.
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: String| {
            StoreError::InvalidUrl(format!(
                "{reason}: use `sqlite:/path/to/keyway.db` (or `sqlite::memory:` for tests)"
            ))
        };
        let options = SqliteConnectOptions::from_str(url).map_err(|e| invalid(format!("`{url}` ({e})")))?;
        let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
        let in_memory = rest.starts_with(":memory:") || rest.contains("mode=memory");

        let (options, pool_options, path) = if in_memory {
            // Every connection would open its own empty database: keep exactly one, forever.
            let pool =
                SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
            (options, pool, ":memory:".to_string())
        } else {
            let file = options.get_filename().to_path_buf();
            if file.as_os_str().is_empty() {
                return Err(invalid("the URL names no file".into()));
            }
            let dir = file.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(invalid(format!(
                    "the directory `{}` does not exist: create it, or name a file in an existing directory",
                    dir.display()
                )));
            }
            // WAL lets readers run while one connection writes, and survives a killed process (synchronous=NORMAL
            // loses at most the last transactions on power loss, never consistency). Writers wait for each other
            // up to the busy timeout instead of failing at once.
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            (options, SqlitePoolOptions::new().max_connections(8), file.display().to_string())
        };
        let options = options.foreign_keys(true).busy_timeout(Duration::from_secs(5));
        // sqlx pings a pooled connection before lending it. For SQLite the ping is a round trip
        // to the connection's worker thread that checks only that the thread lives (a dead one
        // fails the query itself just as clearly); the code exchange's three statements each paid
        // it (issue #11: exchanges/s at c=8 went from 1323 to about 1800 without it).
        let pool_options = pool_options.test_before_acquire(false);
        let watch_options = (!in_memory).then(|| options.clone());

        let pool = pool_options.connect_with(options).await.map_err(|e| {
            let cause = database_message(e);
            StoreError::Database(format!(
                "could not open the SQLite database `{path}`: {cause}; check that the file and its directory are \
                 writable by this user"
            ))
        })?;
        MIGRATOR.run(&pool).await.map_err(migration_error)?;
        Ok(Self { pool, path, watch_options })
    }
}

impl SqliteStore {
    /// The change feed's task.
    fn change_feed(&self, tx: tokio::sync::mpsc::Sender<crate::Watch>) -> impl Future<Output = ()> + Send + 'static {
        crate::changes::watch_sqlite(self.watch_options.clone(), tx)
    }
}

crate::sql::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite");
crate::events::impl_outbox!(SqliteStore, sqlx::Sqlite);
crate::links::impl_connect_links!(SqliteStore, sqlx::Sqlite);
crate::console::impl_console!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use crate::Store as _;

    #[tokio::test]
    async fn a_fresh_database_is_current_and_one_missing_row_is_reported() {
        let store = super::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let status = store.migration_status().await.unwrap();
        assert!(status.is_current(), "{status:?}");
        assert_eq!(status.applied, super::MIGRATOR.iter().count());

        let last = super::MIGRATOR.iter().last().unwrap().version;
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?").bind(last).execute(&store.pool).await.unwrap();
        let status = store.migration_status().await.unwrap();
        assert!(!status.is_current());
        assert!(status.problem().unwrap().contains(&format!("lacks 1 of {} migrations", status.expected)));
    }
}
