-- A conversation's version: bumped once by every statement that writes its messages, in that statement's own
-- transaction (these statement-level triggers), so a process that keeps a conversation's recent messages in
-- memory (core.store.history) can tell with one cheap read whether anything changed since, whoever wrote it.
ALTER TABLE conversations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION conversation_version_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET version = version + 1 WHERE id IN (SELECT DISTINCT conversation_id FROM new_rows);
    RETURN NULL;
END
$$;

CREATE FUNCTION conversation_version_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET version = version + 1 WHERE id IN (SELECT DISTINCT conversation_id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_added AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_version_new_rows();
CREATE TRIGGER messages_changed AFTER UPDATE ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_version_new_rows();
CREATE TRIGGER messages_removed AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_version_old_rows();
