-- The admin console: sign-in sessions (only the hash of the cookie's id is stored; revoking the key ends them)
-- and each connection's last failed token exchange, redacted. Keep equivalent to ../sqlite/0007_console.sql.
CREATE TABLE console_sessions (
    id_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    key_id     TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

CREATE TABLE failed_exchanges (
    connection_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    kind          TEXT   NOT NULL, -- 'code exchange' or 'refresh'
    at            BIGINT NOT NULL,
    message       TEXT   NOT NULL,
    hint          TEXT,
    trace         TEXT   NOT NULL  -- JSON array of redacted request/answer entries, capped in size
);
