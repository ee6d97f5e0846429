-- 1 when the provider reported no usage and the tokens were counted from the text (an estimate)
ALTER TABLE usage ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
