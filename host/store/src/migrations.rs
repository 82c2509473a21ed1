//! Whether the database's schema is the one this build expects: the rows of `_sqlx_migrations`
//! against the migrations embedded at compile time. `/readyz` asks, so that a replica whose
//! database is behind (or ahead, after a newer Keyway migrated it) is taken out of rotation
//! with a message saying what to do.

use sqlx::migrate::Migrator;

/// One applied row of `_sqlx_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedMigration {
    pub(crate) version: i64,
    pub(crate) success: bool,
    pub(crate) checksum: Vec<u8>,
}

/// How the applied migrations compare with the embedded ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// How many migrations this build embeds.
    pub expected: usize,
    /// How many of them the database has applied, successfully and unchanged.
    pub applied: usize,
    /// Embedded migrations the database has not applied: `version description`.
    pub missing: Vec<String>,
    /// Versions the database applied that this build does not know: a newer Keyway's.
    pub unknown: Vec<i64>,
    /// Versions applied with another checksum than the embedded file's, or left failed.
    pub mismatched: Vec<i64>,
}

impl MigrationStatus {
    /// Whether every embedded migration is applied, unchanged, and nothing else is.
    pub fn is_current(&self) -> bool {
        self.missing.is_empty() && self.unknown.is_empty() && self.mismatched.is_empty()
    }

    /// What is wrong and what to do about it, or `None` when current.
    pub fn problem(&self) -> Option<String> {
        if !self.missing.is_empty() {
            return Some(format!(
                "the database lacks {} of {} migrations ({}); restart `keyway serve`, which applies them at start",
                self.missing.len(),
                self.expected,
                self.missing.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            return Some(format!(
                "the database has migrations this build does not know (versions {:?}): a newer Keyway migrated it; \
                 run that version, or restore a backup taken before the upgrade",
                self.unknown
            ));
        }
        if !self.mismatched.is_empty() {
            return Some(format!(
                "migrations {:?} were applied from other files than this build's, or failed: restore a backup, or \
                 repair the schema by hand and delete their rows from `_sqlx_migrations`",
                self.mismatched
            ));
        }
        None
    }
}

/// Compares the applied rows with `migrator`'s migrations (up migrations only).
pub(crate) fn compare(migrator: &Migrator, applied: &[AppliedMigration]) -> MigrationStatus {
    let embedded: Vec<_> = migrator.iter().filter(|m| !m.migration_type.is_down_migration()).collect();
    let mut status = MigrationStatus { expected: embedded.len(), ..MigrationStatus::default() };
    for migration in &embedded {
        match applied.iter().find(|row| row.version == migration.version) {
            None => status.missing.push(format!("{} {}", migration.version, migration.description)),
            Some(row) if !row.success || row.checksum != migration.checksum.as_ref() => {
                status.mismatched.push(migration.version)
            }
            Some(_) => status.applied += 1,
        }
    }
    status.unknown = applied
        .iter()
        .filter(|row| !embedded.iter().any(|m| m.version == row.version))
        .map(|row| row.version)
        .collect();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

    fn all_applied() -> Vec<AppliedMigration> {
        SQLITE
            .iter()
            .map(|m| AppliedMigration { version: m.version, success: true, checksum: m.checksum.to_vec() })
            .collect()
    }

    #[test]
    fn every_embedded_migration_applied_is_current() {
        let status = compare(&SQLITE, &all_applied());
        assert!(status.is_current(), "{status:?}");
        assert_eq!((status.applied, status.expected), (SQLITE.iter().count(), SQLITE.iter().count()));
        assert_eq!(status.problem(), None);
    }

    #[test]
    fn a_database_behind_names_what_it_lacks_and_how_to_fix_it() {
        let mut applied = all_applied();
        let last = applied.pop().unwrap();
        let status = compare(&SQLITE, &applied);
        assert!(!status.is_current());
        assert_eq!(status.missing.len(), 1);
        let problem = status.problem().unwrap();
        assert!(problem.contains(&last.version.to_string()), "{problem}");
        assert!(problem.contains("restart `keyway serve`"), "{problem}");
    }

    #[test]
    fn a_database_ahead_or_altered_is_not_current() {
        let mut applied = all_applied();
        applied.push(AppliedMigration { version: 9999, success: true, checksum: vec![1] });
        let status = compare(&SQLITE, &applied);
        assert_eq!(status.unknown, [9999]);
        assert!(status.problem().unwrap().contains("a newer Keyway migrated it"));

        let mut applied = all_applied();
        applied[0].checksum = vec![0; 48];
        applied[1].success = false;
        let status = compare(&SQLITE, &applied);
        assert_eq!(status.mismatched, [applied[0].version, applied[1].version]);
        assert!(!status.is_current());
    }
}
