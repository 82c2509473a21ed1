-- The admin console: sign-in sessions (only the hash of the cookie's id is stored; revoking the key ends them)
-- and each connection's last failed token exchange, redacted. Keep equivalent to ../postgres/0008_console.sql.
CREATE TABLE console_sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    key_id     TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

CREATE TABLE failed_exchanges (
    connection_id TEXT    NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL, -- 'code exchange' or 'refresh'
    at            INTEGER NOT NULL,
    message       TEXT    NOT NULL,
    hint          TEXT,
    trace         TEXT    NOT NULL  -- JSON array of redacted request/answer entries, capped in size
) STRICT;
