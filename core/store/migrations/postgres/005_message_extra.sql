-- per-message data that is not text: attachments (resized images, extracted documents) and their notes,
-- as a JSON object (StoredMessage.extra)
ALTER TABLE messages ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
