-- Connection lifecycle events and their webhook deliveries: an outbox. Triggers write the event and one pending
-- delivery per matching webhook in the transaction that changes the connection, so no change commits without its
-- event, whichever statement made it. Keep equivalent to ../postgres/0006_events.sql.

-- Where events are POSTed: one integration's, or every integration's (integration_id NULL).
CREATE TABLE webhooks (
    id             TEXT    NOT NULL PRIMARY KEY,
    integration_id TEXT    REFERENCES integrations (id) ON DELETE CASCADE,
    url            TEXT    NOT NULL,
    secret_sealed  BLOB    NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    type           TEXT    NOT NULL,
    connection_id  TEXT    NOT NULL,
    integration_id TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    last_error     TEXT,
    at             INTEGER NOT NULL
) STRICT;

CREATE INDEX events_connection_id ON events (connection_id);

-- One event to one webhook. A replica claims a due delivery by setting `leased_until`, so each attempt is made by
-- one replica; `attempts` counts them.
CREATE TABLE event_deliveries (
    event_seq       INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    PRIMARY KEY (event_seq, webhook_id)
) STRICT;

CREATE INDEX event_deliveries_due ON event_deliveries (state, next_attempt_at);

CREATE TRIGGER connections_event_on_insert AFTER INSERT ON connections WHEN NEW.status = 'active'
BEGIN
    INSERT INTO events (type, connection_id, integration_id, status, last_error, at)
        VALUES ('connection.active', NEW.id, NEW.integration_id, NEW.status, NEW.last_error, unixepoch());
    INSERT INTO event_deliveries (event_seq, webhook_id, state, attempts, next_attempt_at)
        SELECT last_insert_rowid(), w.id, 'pending', 0, unixepoch() FROM webhooks w
        WHERE w.integration_id IS NULL OR w.integration_id = NEW.integration_id;
END;

-- Becoming active, needs_reauth or failed; or, staying active, an error cleared by a refresh.
CREATE TRIGGER connections_event_on_update AFTER UPDATE OF status, last_error ON connections
    WHEN (NEW.status <> OLD.status AND NEW.status IN ('active', 'needs_reauth', 'failed'))
      OR (NEW.status = 'active' AND OLD.status = 'active' AND OLD.last_error IS NOT NULL AND NEW.last_error IS NULL)
BEGIN
    INSERT INTO events (type, connection_id, integration_id, status, last_error, at)
        VALUES (CASE WHEN NEW.status = OLD.status THEN 'connection.refreshed' ELSE 'connection.' || NEW.status END,
                NEW.id, NEW.integration_id, NEW.status, NEW.last_error, unixepoch());
    INSERT INTO event_deliveries (event_seq, webhook_id, state, attempts, next_attempt_at)
        SELECT last_insert_rowid(), w.id, 'pending', 0, unixepoch() FROM webhooks w
        WHERE w.integration_id IS NULL OR w.integration_id = NEW.integration_id;
END;

CREATE TRIGGER connections_event_on_delete AFTER DELETE ON connections
BEGIN
    INSERT INTO events (type, connection_id, integration_id, status, last_error, at)
        VALUES ('connection.deleted', OLD.id, OLD.integration_id, OLD.status, OLD.last_error, unixepoch());
    INSERT INTO event_deliveries (event_seq, webhook_id, state, attempts, next_attempt_at)
        SELECT last_insert_rowid(), w.id, 'pending', 0, unixepoch() FROM webhooks w
        WHERE w.integration_id IS NULL OR w.integration_id = OLD.integration_id;
END;
