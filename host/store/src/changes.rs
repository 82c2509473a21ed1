//! The change feed: which cached rows another writer (or this process) has changed, so that an
//! in-memory cache in front of the store can drop them.
//!
//! - **PostgreSQL:** triggers on `api_keys`, `integrations`, `connections` and `actions` send a
//!   `NOTIFY keyway_changes` naming the row, delivered when its transaction commits; the feed
//!   `LISTEN`s on a connection of its own and reconnects when it is lost.
//! - **SQLite:** one file, usually one process. Triggers log each change to a cached row in
//!   `cache_changes`, in the transaction that makes it. A connection of the feed's own polls
//!   `PRAGMA data_version`, which moves when any other connection commits, and then reads the
//!   log's new entries: a commit that changed no cached row (an event, a pending flow) drops
//!   nothing, and one that did drops only those rows.
//!
//! A cache must trust its entries only between [`Watch::Live`] and the next [`Watch::Lost`]:
//! while the feed is down, changes go unseen.

use std::time::Duration;

use tokio::sync::mpsc;

/// The `NOTIFY` channel the PostgreSQL triggers send on.
pub(crate) const CHANNEL: &str = "keyway_changes";

/// How often the SQLite feed looks for other writers' commits.
const SQLITE_POLL: Duration = Duration::from_millis(200);

/// What changed. Keys are what a cache looks rows up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The API key with this hash.
    ApiKey(String),
    /// The integration with this id.
    Integration(String),
    /// The connection with this id.
    Connection(String),
    /// An integration's declarative action.
    Action {
        /// The integration's id.
        integration_id: String,
        /// The action's name.
        name: String,
    },
    /// Anything may have changed.
    Everything,
}

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// The feed is delivering: from now on every committed change is reported. Anything cached
    /// before may be stale.
    Live,
    /// A committed change.
    Changed(Change),
    /// The feed is down (the connection was lost): changes go unseen until the next `Live`.
    Lost(String),
}

impl Change {
    /// Reads a trigger's payload, `table:key` (the action key is `integration_id/name`).
    pub(crate) fn from_payload(payload: &str) -> Change {
        let Some((table, key)) = payload.split_once(':') else { return Change::Everything };
        match table {
            "api_keys" => Change::ApiKey(key.to_string()),
            "integrations" => Change::Integration(key.to_string()),
            "connections" => Change::Connection(key.to_string()),
            "actions" => match key.split_once('/') {
                Some((integration_id, name)) => {
                    Change::Action { integration_id: integration_id.to_string(), name: name.to_string() }
                }
                None => Change::Everything,
            },
            _ => Change::Everything,
        }
    }
}

/// Runs the PostgreSQL feed until the receiver is dropped.
pub(crate) async fn watch_postgres(pool: sqlx::PgPool, tx: mpsc::Sender<Watch>) {
    let mut backoff = Duration::from_millis(100);
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                if tx.send(Watch::Lost(format!("connecting the change listener: {e}"))).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            if tx.send(Watch::Lost(format!("listening for changes: {e}"))).await.is_err() {
                return;
            }
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(100);
        if tx.send(Watch::Live).await.is_err() {
            return;
        }
        // `try_recv`, not `recv`: `recv` would reconnect a lost connection silently, minus the
        // notifications sent meanwhile. Here a loss is reported, and the listener made anew.
        loop {
            let event = match listener.try_recv().await {
                Ok(Some(notification)) => Watch::Changed(Change::from_payload(notification.payload())),
                Ok(None) => Watch::Lost("the change listener's connection was lost".into()),
                Err(e) => Watch::Lost(format!("the change listener failed: {e}")),
            };
            let lost = matches!(event, Watch::Lost(_));
            if tx.send(event).await.is_err() {
                return;
            }
            if lost {
                break;
            }
        }
    }
}

/// Runs the SQLite feed until the receiver is dropped. `options` open the same file.
pub(crate) async fn watch_sqlite(options: Option<sqlx::sqlite::SqliteConnectOptions>, tx: mpsc::Sender<Watch>) {
    use sqlx::Connection as _;
    // An in-memory database has no other writer: this process's own writes are all there is,
    // and the cache writes those through itself.
    let Some(options) = options else {
        let _ = tx.send(Watch::Live).await;
        tx.closed().await;
        return;
    };
    loop {
        let mut conn = match sqlx::sqlite::SqliteConnection::connect_with(&options).await {
            Ok(conn) => conn,
            Err(e) => {
                if tx.send(Watch::Lost(format!("opening the change watcher: {e}"))).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut log: Option<SqliteLog> = None;
        loop {
            let events = match log.as_mut() {
                None => SqliteLog::open(&mut conn).await.map(|opened| {
                    log = Some(opened);
                    vec![Watch::Live]
                }),
                Some(log) => log.poll(&mut conn).await.map(|changes| changes.into_iter().map(Watch::Changed).collect()),
            };
            let events = events.unwrap_or_else(|e| vec![Watch::Lost(format!("reading the change log: {e}"))]);
            let lost = matches!(events.last(), Some(Watch::Lost(_)));
            for event in events {
                if tx.send(event).await.is_err() {
                    return;
                }
            }
            if lost {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(SQLITE_POLL) => {}
                _ = tx.closed() => return,
            }
        }
    }
}

/// Where a SQLite reader is in the file's change log (`cache_changes`).
#[derive(Debug)]
struct SqliteLog {
    /// `PRAGMA data_version` when last read: it moves when another connection commits.
    version: i64,
    /// The last entry read.
    seq: i64,
}

impl SqliteLog {
    /// Starts reading at the log's end: what was logged before is what a cache that goes live
    /// now has not yet read.
    async fn open(conn: &mut sqlx::SqliteConnection) -> Result<Self, sqlx::Error> {
        let version = Self::data_version(conn).await?;
        // The next entry is exactly one more: pruning never deletes the newest.
        let seq = Self::last_seq(conn).await?;
        Ok(Self { version, seq })
    }

    async fn last_seq(conn: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM cache_changes").fetch_one(conn).await
    }

    /// The changes committed since the last poll, in commit order; `Everything` if entries
    /// were pruned before they were read.
    async fn poll(&mut self, conn: &mut sqlx::SqliteConnection) -> Result<Vec<Change>, sqlx::Error> {
        // The version first: a commit landing between the two reads is read now and seen
        // again as a version change next time, where reading the log first could miss it.
        let version = Self::data_version(conn).await?;
        if version == self.version {
            return Ok(Vec::new());
        }
        self.version = version;
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, payload FROM cache_changes WHERE seq > ? ORDER BY seq")
                .bind(self.seq)
                .fetch_all(&mut *conn)
                .await?;
        let Some(&(last, _)) = rows.last() else {
            // Nothing new, unless the log was emptied by hand and `seq` began again below ours.
            let last = Self::last_seq(conn).await?;
            if last < self.seq {
                self.seq = last;
                return Ok(vec![Change::Everything]);
            }
            return Ok(Vec::new());
        };
        let contiguous = rows[0].0 == self.seq + 1;
        self.seq = last;
        if !contiguous {
            return Ok(vec![Change::Everything]);
        }
        Ok(rows.iter().map(|(_, payload)| Change::from_payload(payload)).collect())
    }

    async fn data_version(conn: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, i64>("PRAGMA data_version").fetch_one(conn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_row_and_anything_else_means_everything() {
        assert_eq!(Change::from_payload("api_keys:abc"), Change::ApiKey("abc".into()));
        assert_eq!(Change::from_payload("connections:con_1"), Change::Connection("con_1".into()));
        assert_eq!(Change::from_payload("integrations:int_1"), Change::Integration("int_1".into()));
        assert_eq!(
            Change::from_payload("actions:int_1/list-things"),
            Change::Action { integration_id: "int_1".into(), name: "list-things".into() }
        );
        assert_eq!(Change::from_payload("actions:broken"), Change::Everything);
        assert_eq!(Change::from_payload("plugins:x"), Change::Everything);
        assert_eq!(Change::from_payload("garbage"), Change::Everything);
    }
}
