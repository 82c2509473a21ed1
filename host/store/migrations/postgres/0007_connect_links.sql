-- Connect links: single-use URLs an end user opens to connect an account without an API key. Only the hash of
-- the link's token is stored. Keep equivalent to ../sqlite/0006_connect_links.sql.
CREATE TABLE connect_links (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    token_hash     TEXT COLLATE "C" NOT NULL UNIQUE,
    integration_id TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    name           TEXT,
    inputs         TEXT   NOT NULL, -- JSON array of [name, value] pairs the link fixes
    owner_key_id   TEXT   NOT NULL,
    allowed_keys   TEXT   NOT NULL, -- JSON array of key ids
    created_by     TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    connection_id  TEXT
);
