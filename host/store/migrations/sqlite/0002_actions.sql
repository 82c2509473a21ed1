-- Declarative actions: named, admin-defined series of Web API calls per integration. The definition is the JSON
-- the admin saved, validated by the service before it gets here.
CREATE TABLE actions (
    integration_id TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    definition     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (integration_id, name)
) STRICT;
