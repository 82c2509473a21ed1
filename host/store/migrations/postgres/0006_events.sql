-- Connection lifecycle events and their webhook deliveries: an outbox. A trigger writes the event and one pending
-- delivery per matching webhook in the transaction that changes the connection, so no change commits without its
-- event, whichever statement made it. Keep equivalent to ../sqlite/0005_events.sql. Integers are BIGINT so both
-- backends read them as i64.

-- Where events are POSTed: one integration's, or every integration's (integration_id NULL).
CREATE TABLE webhooks (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    integration_id TEXT COLLATE "C" REFERENCES integrations (id) ON DELETE CASCADE,
    url            TEXT   NOT NULL,
    secret_sealed  BYTEA  NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type           TEXT   NOT NULL,
    connection_id  TEXT COLLATE "C" NOT NULL,
    integration_id TEXT COLLATE "C" NOT NULL,
    status         TEXT   NOT NULL,
    last_error     TEXT,
    at             BIGINT NOT NULL
);

CREATE INDEX events_connection_id ON events (connection_id);

-- One event to one webhook. A replica claims a due delivery by setting `leased_until`, so each attempt is made by
-- one replica; `attempts` counts them.
CREATE TABLE event_deliveries (
    event_seq       BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    webhook_id      TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    PRIMARY KEY (event_seq, webhook_id)
);

CREATE INDEX event_deliveries_due ON event_deliveries (state, next_attempt_at);

CREATE FUNCTION keyway_connection_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    row_data connections;
    new_seq bigint;
    at_now bigint := extract(epoch FROM now())::bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        kind := 'connection.deleted';
        row_data := OLD;
    ELSE
        row_data := NEW;
        IF TG_OP = 'INSERT' THEN
            IF NEW.status = 'active' THEN
                kind := 'connection.active';
            END IF;
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            -- Becoming active, needs_reauth or failed.
            IF NEW.status IN ('active', 'needs_reauth', 'failed') THEN
                kind := 'connection.' || NEW.status;
            END IF;
        ELSIF NEW.status = 'active' AND OLD.last_error IS NOT NULL AND NEW.last_error IS NULL THEN
            -- Staying active, an error cleared by a refresh.
            kind := 'connection.refreshed';
        END IF;
    END IF;
    IF kind IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (type, connection_id, integration_id, status, last_error, at)
        VALUES (kind, row_data.id, row_data.integration_id, row_data.status, row_data.last_error, at_now)
        RETURNING seq INTO new_seq;
    INSERT INTO event_deliveries (event_seq, webhook_id, state, attempts, next_attempt_at)
        SELECT new_seq, w.id, 'pending', 0, at_now FROM webhooks w
        WHERE w.integration_id IS NULL OR w.integration_id = row_data.integration_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER connections_events AFTER INSERT OR UPDATE OR DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION keyway_connection_event();
