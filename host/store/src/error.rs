//! What can go wrong, with what to do about it.

use sqlx::error::ErrorKind;

/// A store operation failed. Each message says what to check or change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The row to update, delete or revoke does not exist.
    #[error("no such record: it does not exist, or was deleted meanwhile; list the records to find the right id")]
    NotFound,
    /// The change would break a rule of the data: a unique name, or a row that others still refer to. The message
    /// names the rule and how to satisfy it, e.g. "an integration named `x` already exists".
    #[error("{0}")]
    Conflict(String),
    /// The database failed, could not be reached, or holds a row it should not.
    #[error("database error: {0}")]
    Database(String),
    /// The schema could not be brought up to date.
    #[error("could not migrate the database schema: {0}")]
    Migration(String),
    /// The database URL is not one Keyway can use.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
}

/// Whether `err` is a unique (or primary key) violation on `table.column`. PostgreSQL names the constraint
/// (`<table>_<column>_key`, as the migrations name them), SQLite the column (`UNIQUE constraint failed: t.c`).
pub(crate) fn is_unique_violation_on(err: &sqlx::Error, table: &str, column: &str) -> bool {
    let Some(db) = err.as_database_error() else { return false };
    if db.kind() != ErrorKind::UniqueViolation {
        return false;
    }
    match db.constraint() {
        Some(constraint) => constraint == format!("{table}_{column}_key"),
        None => db.message().ends_with(&format!("{table}.{column}")),
    }
}

/// Whether `err` is a violation of the given kind.
pub(crate) fn is_violation(err: &sqlx::Error, kind: ErrorKind) -> bool {
    err.as_database_error().is_some_and(|db| {
        db.kind() == kind
            // SQLite reports an `ON DELETE RESTRICT` refusal as SQLITE_CONSTRAINT_TRIGGER, not _FOREIGNKEY.
            || (kind == ErrorKind::ForeignKeyViolation && db.message() == "FOREIGN KEY constraint failed")
    })
}

/// The generic mapping, for errors the operation has no better words for.
pub(crate) fn database_error(err: sqlx::Error) -> StoreError {
    StoreError::Database(match err {
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a database connection: the database is overloaded or unreachable".into()
        }
        sqlx::Error::PoolClosed => "the store was closed: this is a bug in the caller".into(),
        sqlx::Error::Io(e) => format!("lost the connection to the database ({e}): check that it is running"),
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    })
}

/// The words of [`database_error`], to build a longer message around.
pub(crate) fn database_message(err: sqlx::Error) -> String {
    match database_error(err) {
        StoreError::Database(message) => message,
        other => other.to_string(),
    }
}

/// A stored JSON column did not parse: someone changed the row outside Keyway.
pub(crate) fn corrupt_json(table: &str, id: &str, column: &str, err: serde_json::Error) -> StoreError {
    StoreError::Database(format!(
        "`{table}` row `{id}` has invalid JSON in `{column}` ({err}): it was changed outside Keyway; fix or delete \
         the row"
    ))
}

/// Maps a migration failure to a message that says what to do.
pub(crate) fn migration_error(err: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    StoreError::Migration(match err {
        MigrateError::VersionMissing(version) => format!(
            "the database was migrated by a newer Keyway (migration {version} is unknown to this one): run that \
             newer version, or restore a backup taken before the upgrade"
        ),
        MigrateError::VersionMismatch(version) => format!(
            "migration {version} was changed after it was applied to this database: migrations must never be \
             edited once released; restore the original file"
        ),
        MigrateError::Dirty(version) => format!(
            "migration {version} failed part way on an earlier start and left the schema half-changed: restore a \
             backup, or repair the schema by hand and delete its row from `_sqlx_migrations`"
        ),
        other => other.to_string(),
    })
}
