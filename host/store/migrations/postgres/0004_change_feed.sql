-- The change feed: every committed change to a row that replicas cache is announced on
-- `keyway_changes` as `table:key`, so the other replicas drop their copy. NOTIFY is delivered
-- at commit, and not at all on rollback.
CREATE FUNCTION keyway_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_json jsonb;
    row_key text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_json := to_jsonb(OLD);
    ELSE
        row_json := to_jsonb(NEW);
    END IF;
    IF TG_TABLE_NAME = 'api_keys' THEN
        row_key := row_json ->> 'key_hash';
    ELSIF TG_TABLE_NAME = 'actions' THEN
        row_key := (row_json ->> 'integration_id') || '/' || (row_json ->> 'name');
    ELSE
        row_key := row_json ->> 'id';
    END IF;
    PERFORM pg_notify('keyway_changes', TG_TABLE_NAME || ':' || row_key);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION keyway_notify_change();
CREATE TRIGGER integrations_notify AFTER INSERT OR UPDATE OR DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION keyway_notify_change();
CREATE TRIGGER connections_notify AFTER INSERT OR UPDATE OR DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION keyway_notify_change();
CREATE TRIGGER actions_notify AFTER INSERT OR UPDATE OR DELETE ON actions
    FOR EACH ROW EXECUTE FUNCTION keyway_notify_change();
