-- Secret plugin settings (sealed like the client secret), and the refresh token's own expiry, which the API shows
-- and past which a connection needs to be reconnected.
ALTER TABLE integrations ADD COLUMN secret_settings_sealed BYTEA;
ALTER TABLE connections ADD COLUMN refresh_expires_at BIGINT;
