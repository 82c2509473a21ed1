-- Keyway's schema on SQLite. Keep it equivalent to ../postgres/0001_init.sql: the same tables,
-- columns, keys and checks, so both backends behave the same under the same test suite.
-- Landed migrations are never edited: add 0002_*.sql instead.
--
-- STRICT tables make SQLite refuse a value of the wrong type, as PostgreSQL does.
-- Times are Unix seconds. Lists and maps are JSON text. `*_sealed` columns hold ciphertext
-- that only the service can open: the store never sees a plaintext secret.

CREATE TABLE integrations (
    id                   TEXT    NOT NULL PRIMARY KEY,
    name                 TEXT    NOT NULL UNIQUE,
    auth_method          TEXT    NOT NULL,
    plugin               TEXT    NOT NULL,
    client_id            TEXT    NOT NULL,
    client_secret_sealed BLOB,
    site                 TEXT    NOT NULL,
    authorization_url    TEXT    NOT NULL,
    token_path           TEXT    NOT NULL,
    revoke_path          TEXT,
    scopes               TEXT    NOT NULL, -- JSON array of strings
    client_auth          TEXT    NOT NULL,
    issuer               TEXT,
    pkce                 INTEGER NOT NULL CHECK (pkce IN (0, 1)),
    settings             TEXT    NOT NULL, -- JSON value
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE connections (
    id                 TEXT    NOT NULL PRIMARY KEY,
    -- RESTRICT: an integration cannot be deleted while connections use it.
    integration_id     TEXT    NOT NULL REFERENCES integrations (id) ON DELETE RESTRICT,
    name               TEXT    NOT NULL,
    owner_key_id       TEXT    NOT NULL,
    allowed_keys       TEXT    NOT NULL, -- JSON array of key ids
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'needs_reauth', 'failed')),
    inputs             TEXT    NOT NULL, -- JSON array of [name, value] pairs, in order
    metadata           TEXT    NOT NULL, -- JSON array of [name, value] pairs, in order
    scopes             TEXT,             -- JSON array of strings, or NULL when the provider did not say
    credentials_sealed BLOB,
    expires_at         INTEGER,
    last_error         TEXT,
    next_retry_at      INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX connections_integration_id ON connections (integration_id);

-- A started authorization, found by the hash of its `state` (the state itself is never stored).
-- Deleting the connection deletes its pending flows.
CREATE TABLE pending_flows (
    state_hash      TEXT    NOT NULL PRIMARY KEY,
    connection_id   TEXT    NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    verifier_sealed BLOB,
    redirect_uri    TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX pending_flows_connection_id ON pending_flows (connection_id);
CREATE INDEX pending_flows_expires_at ON pending_flows (expires_at);

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    key_hash   TEXT    NOT NULL UNIQUE, -- SHA-256 hex of the key
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

-- Plugin components, addressed by the SHA-256 hex of their bytes.
CREATE TABLE plugins (
    hash       TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    bytes      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One refresh per connection across all replicas: whoever holds an unexpired lease refreshes.
CREATE TABLE refresh_leases (
    connection_id TEXT    NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    holder        TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
