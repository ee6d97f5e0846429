-- A conversation's version: bumped by every write to its messages, in the writing statement's own transaction
-- (these triggers), so a process that keeps a conversation's recent messages in memory (core.store.history)
-- can tell with one cheap read whether anything changed since, whoever wrote it. The insert trigger also moves
-- updated_at on, which add_message used to do with a second statement.
ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN
    UPDATE conversations SET version = version + 1, updated_at = NEW.created_at WHERE id = NEW.conversation_id;
END;

CREATE TRIGGER messages_changed AFTER UPDATE ON messages BEGIN
    UPDATE conversations SET version = version + 1 WHERE id IN (OLD.conversation_id, NEW.conversation_id);
END;

CREATE TRIGGER messages_removed AFTER DELETE ON messages BEGIN
    UPDATE conversations SET version = version + 1 WHERE id = OLD.conversation_id;
END;
