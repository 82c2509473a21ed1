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
        // The timeout also applies to the change feed's connection, which keeps SQLite's handler.
        let options = options.foreign_keys(true).busy_timeout(BUSY_TIMEOUT);
        // sqlx pings a pooled connection before lending it. For SQLite the ping is a round trip
        // to the connection's worker thread that checks only that the thread lives (a dead one
        // fails the query itself just as clearly); the code exchange's three statements each paid
        // it (issue #11: exchanges/s at c=8 went from 1323 to about 1800 without it).
        // Each connection then swaps SQLite's millisecond busy sleeps for `busy_wait`'s.
        let pool_options = pool_options.test_before_acquire(false).after_connect(|conn, _| {
            Box::pin(async move {
                let mut handle = conn.lock_handle().await?;
                // SAFETY: the handle is this connection's, locked for the call; the handler is a
                // plain function that touches no state.
                unsafe {
                    libsqlite3_sys::sqlite3_busy_handler(
                        handle.as_raw_handle().as_ptr(),
                        Some(busy_wait),
                        std::ptr::null_mut(),
                    )
                };
                Ok(())
            })
        });
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

/// How long a writer waits for another connection's write lock before the statement fails
/// with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The busy handler of every pooled connection, in place of the one `busy_timeout` installs.
/// SQLite's own sleeps 1, 2, 5, 10, ... ms between tries, so two writers that meet (two code
/// exchanges storing their tokens) cost the loser a millisecond or more for a lock held for
/// tens of microseconds. This one waits [`busy_delay`]. It runs on the connection's own worker
/// thread, so sleeping blocks no async task.
extern "C" fn busy_wait(_: *mut std::ffi::c_void, tries: std::ffi::c_int) -> std::ffi::c_int {
    match busy_delay(u32::try_from(tries).unwrap_or(0)) {
        Some(delay) => {
            std::thread::sleep(delay);
            1
        }
        None => 0,
    }
}

/// How long to wait before try `tries + 1` at a lock another connection holds: 20 µs,
/// doubling to 1.28 ms, then 1.28 ms a try; `None` (give up: "database is locked") once the
/// waits add up to [`BUSY_TIMEOUT`].
fn busy_delay(tries: u32) -> Option<Duration> {
    const FIRST_MICROS: u64 = 20;
    const DOUBLINGS: u32 = 6;
    let delay = |n: u32| FIRST_MICROS << n.min(DOUBLINGS);
    let waited = if tries <= DOUBLINGS {
        FIRST_MICROS * ((1 << tries) - 1)
    } else {
        FIRST_MICROS * ((1 << DOUBLINGS) - 1) + u64::from(tries - DOUBLINGS) * delay(DOUBLINGS)
    };
    (Duration::from_micros(waited) < BUSY_TIMEOUT).then(|| Duration::from_micros(delay(tries)))
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
    use std::time::Duration;

    #[test]
    fn a_busy_writer_retries_within_microseconds_and_gives_up_after_the_timeout() {
        assert_eq!(super::busy_delay(0), Some(Duration::from_micros(20)));
        assert_eq!(super::busy_delay(1), Some(Duration::from_micros(40)));
        let delays: Vec<Duration> = (0..).map_while(super::busy_delay).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_micros(1280)), "no wait is longer than 1.28 ms");
        let total: Duration = delays.iter().sum();
        assert!(total >= super::BUSY_TIMEOUT && total < super::BUSY_TIMEOUT + Duration::from_micros(1280), "{total:?}");
    }

    #[tokio::test]
    async fn a_writer_waits_for_another_connections_write_lock_and_then_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("k.db").display());
        let store = super::SqliteStore::connect(&url).await.unwrap();
        let mut holder = store.pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
        });
        // Another pooled connection meets the held lock, waits in the busy handler, then writes.
        sqlx::query("CREATE TABLE waited (x INTEGER)").execute(&store.pool).await.unwrap();
        release.await.unwrap();
    }

    /// A store on a file in a temporary directory (kept while the first is), and its change
    /// feed, live.
    async fn live_store() -> (tempfile::TempDir, super::SqliteStore, tokio::sync::mpsc::Receiver<crate::Watch>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("k.db").display());
        let store = super::SqliteStore::connect(&url).await.unwrap();
        let mut feed = store.watch();
        assert_eq!(next(&mut feed).await, crate::Watch::Live);
        (dir, store, feed)
    }

    /// The next event on `feed`, within 10 s.
    async fn next(feed: &mut tokio::sync::mpsc::Receiver<crate::Watch>) -> crate::Watch {
        tokio::time::timeout(Duration::from_secs(10), feed.recv()).await.expect("an event within 10 s").unwrap()
    }

    // Every 1,000th entry prunes all but the newest 10,000. A reader that has not read the ones
    // pruned cannot know what they changed, so it drops everything, then reads row by row again.
    #[tokio::test]
    async fn a_reader_behind_the_pruned_change_log_drops_everything_then_resumes() {
        use crate::{Change, Watch};
        let (_dir, store, mut feed) = live_store().await;

        let many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 11000) \
                    INSERT INTO cache_changes (payload) SELECT 'connections:con_' || i FROM n";
        sqlx::query(many).execute(&store.pool).await.unwrap();
        let (count, first): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), MIN(seq) FROM cache_changes").fetch_one(&store.pool).await.unwrap();
        assert_eq!((count, first), (10_000, 1_001), "the 11,000th entry pruned all but the newest 10,000");
        assert_eq!(next(&mut feed).await, Watch::Changed(Change::Everything));

        sqlx::query("INSERT INTO cache_changes (payload) VALUES ('api_keys:abc')").execute(&store.pool).await.unwrap();
        assert_eq!(next(&mut feed).await, Watch::Changed(Change::ApiKey("abc".into())));

        // Emptied by hand, the log numbers from 1 again: below where the reader is, so it
        // drops everything rather than wait for entries past its old place.
        let mut tx = store.pool.begin().await.unwrap();
        sqlx::query("DELETE FROM cache_changes").execute(&mut *tx).await.unwrap();
        sqlx::query("INSERT INTO cache_changes (payload) VALUES ('api_keys:again')").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(next(&mut feed).await, Watch::Changed(Change::Everything));
        sqlx::query("INSERT INTO cache_changes (payload) VALUES ('api_keys:next')").execute(&store.pool).await.unwrap();
        assert_eq!(next(&mut feed).await, Watch::Changed(Change::ApiKey("next".into())));
    }

    // A rolled-back write logs nothing, and leaves no gap that would drop everything.
    #[tokio::test]
    async fn a_rolled_back_change_is_not_reported() {
        use crate::{Change, Watch};
        let (_dir, store, mut feed) = live_store().await;

        let mut tx = store.pool.begin().await.unwrap();
        sqlx::query("INSERT INTO cache_changes (payload) VALUES ('api_keys:rolled-back')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        sqlx::query("INSERT INTO cache_changes (payload) VALUES ('api_keys:kept')").execute(&store.pool).await.unwrap();
        assert_eq!(next(&mut feed).await, Watch::Changed(Change::ApiKey("kept".into())));
    }

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
