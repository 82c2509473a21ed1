-- Keyway's schema on PostgreSQL. Keep it equivalent to ../sqlite/0001_init.sql: the same tables,
-- columns, keys and checks, so both backends behave the same under the same test suite.
-- Landed migrations are never edited: add 0002_*.sql instead.
--
-- Times are Unix seconds. Lists and maps are JSON *text*, not JSONB, so a value reads back
-- byte for byte as on SQLite. `*_sealed` columns hold ciphertext that only the service can
-- open: the store never sees a plaintext secret. Keys use the "C" collation so that lists
-- ordered by id come out in the same (bytewise) order as on SQLite, whatever the database's
-- locale.

CREATE TABLE integrations (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name                 TEXT    NOT NULL CONSTRAINT integrations_name_key UNIQUE,
    auth_method          TEXT    NOT NULL,
    plugin               TEXT    NOT NULL,
    client_id            TEXT    NOT NULL,
    client_secret_sealed BYTEA,
    site                 TEXT    NOT NULL,
    authorization_url    TEXT    NOT NULL,
    token_path           TEXT    NOT NULL,
    revoke_path          TEXT,
    scopes               TEXT    NOT NULL, -- JSON array of strings
    client_auth          TEXT    NOT NULL,
    issuer               TEXT,
    pkce                 BOOLEAN NOT NULL,
    settings             TEXT    NOT NULL, -- JSON value
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);

CREATE TABLE connections (
    id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    -- RESTRICT: an integration cannot be deleted while connections use it.
    integration_id     TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE RESTRICT,
    name               TEXT    NOT NULL,
    owner_key_id       TEXT    NOT NULL,
    allowed_keys       TEXT    NOT NULL, -- JSON array of key ids
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'needs_reauth', 'failed')),
    inputs             TEXT    NOT NULL, -- JSON array of [name, value] pairs, in order
    metadata           TEXT    NOT NULL, -- JSON array of [name, value] pairs, in order
    scopes             TEXT,             -- JSON array of strings, or NULL when the provider did not say
    credentials_sealed BYTEA,
    expires_at         BIGINT,
    last_error         TEXT,
    next_retry_at      BIGINT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE INDEX connections_integration_id ON connections (integration_id);

-- A started authorization, found by the hash of its `state` (the state itself is never stored).
-- Deleting the connection deletes its pending flows.
CREATE TABLE pending_flows (
    state_hash      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    connection_id   TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    verifier_sealed BYTEA,
    redirect_uri    TEXT    NOT NULL,
    expires_at      BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL
);

CREATE INDEX pending_flows_connection_id ON pending_flows (connection_id);
CREATE INDEX pending_flows_expires_at ON pending_flows (expires_at);

CREATE TABLE api_keys (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    key_hash   TEXT COLLATE "C" NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE, -- SHA-256 hex of the key
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);

-- Plugin components, addressed by the SHA-256 hex of their bytes.
CREATE TABLE plugins (
    hash       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    bytes      BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

-- One refresh per connection across all replicas: whoever holds an unexpired lease refreshes.
CREATE TABLE refresh_leases (
    connection_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    holder        TEXT    NOT NULL,
    expires_at    BIGINT  NOT NULL
);
