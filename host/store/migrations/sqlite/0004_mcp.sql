-- Whether MCP clients get the generic Web API request tool on this integration's connections, besides its actions.
ALTER TABLE integrations ADD COLUMN mcp_web_request INTEGER NOT NULL DEFAULT 1 CHECK (mcp_web_request IN (0, 1));
