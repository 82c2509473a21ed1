-- The change log behind SQLite's change feed: which cached row each commit changed, so a
-- process's hot-path cache drops that row instead of everything. `PRAGMA data_version` says
-- when another connection committed; this table says what it changed. The payload is
-- PostgreSQL's NOTIFY payload (../postgres/0004_change_feed.sql), `table:key`. A change is
-- logged in the transaction that makes it, so a rollback logs nothing.
--
-- `seq` is the rowid, not AUTOINCREMENT: each entry takes the largest `seq` plus one, and since
-- pruning never deletes the newest entry, `seq` only grows. (AUTOINCREMENT would also write
-- `sqlite_sequence` on every change: measured, it doubled the cost of a one-row write.)
--
-- Every 1,000th entry prunes all but the newest 10,000, so the log holds 10,000 to 11,000.
-- Pruning on each entry cost a one-row write about 10 µs more. A reader that falls behind
-- the pruned entries finds a gap in `seq` and drops everything, as it did for every commit
-- before this table.
CREATE TABLE cache_changes (
    seq     INTEGER NOT NULL PRIMARY KEY,
    payload TEXT    NOT NULL
) STRICT;

CREATE TRIGGER cache_changes_keep_newest AFTER INSERT ON cache_changes WHEN NEW.seq % 1000 = 0 BEGIN
    DELETE FROM cache_changes WHERE seq <= NEW.seq - 10000;
END;

CREATE TRIGGER api_keys_log_insert AFTER INSERT ON api_keys BEGIN
    INSERT INTO cache_changes (payload) VALUES ('api_keys:' || NEW.key_hash);
END;
CREATE TRIGGER api_keys_log_update AFTER UPDATE ON api_keys BEGIN
    INSERT INTO cache_changes (payload) VALUES ('api_keys:' || NEW.key_hash);
END;
CREATE TRIGGER api_keys_log_delete AFTER DELETE ON api_keys BEGIN
    INSERT INTO cache_changes (payload) VALUES ('api_keys:' || OLD.key_hash);
END;

CREATE TRIGGER integrations_log_insert AFTER INSERT ON integrations BEGIN
    INSERT INTO cache_changes (payload) VALUES ('integrations:' || NEW.id);
END;
CREATE TRIGGER integrations_log_update AFTER UPDATE ON integrations BEGIN
    INSERT INTO cache_changes (payload) VALUES ('integrations:' || NEW.id);
END;
CREATE TRIGGER integrations_log_delete AFTER DELETE ON integrations BEGIN
    INSERT INTO cache_changes (payload) VALUES ('integrations:' || OLD.id);
END;

CREATE TRIGGER connections_log_insert AFTER INSERT ON connections BEGIN
    INSERT INTO cache_changes (payload) VALUES ('connections:' || NEW.id);
END;
CREATE TRIGGER connections_log_update AFTER UPDATE ON connections BEGIN
    INSERT INTO cache_changes (payload) VALUES ('connections:' || NEW.id);
END;
CREATE TRIGGER connections_log_delete AFTER DELETE ON connections BEGIN
    INSERT INTO cache_changes (payload) VALUES ('connections:' || OLD.id);
END;

CREATE TRIGGER actions_log_insert AFTER INSERT ON actions BEGIN
    INSERT INTO cache_changes (payload) VALUES ('actions:' || NEW.integration_id || '/' || NEW.name);
END;
CREATE TRIGGER actions_log_update AFTER UPDATE ON actions BEGIN
    INSERT INTO cache_changes (payload) VALUES ('actions:' || NEW.integration_id || '/' || NEW.name);
END;
CREATE TRIGGER actions_log_delete AFTER DELETE ON actions BEGIN
    INSERT INTO cache_changes (payload) VALUES ('actions:' || OLD.integration_id || '/' || OLD.name);
END;
