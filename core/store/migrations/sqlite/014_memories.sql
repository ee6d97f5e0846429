-- Memory the person controls (core.memory): facts a person said yes to keeping, used only in their own answers in
-- that workspace. Erased by /memory forget and clear, and with the person's data. Whether memory is on is a
-- setting (scope user, the workspace's own place), not a row here.
CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    fact TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX memories_owner ON memories (platform, user_id, workspace);
