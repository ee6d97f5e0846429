CREATE TABLE assistants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '{}',
    starters TEXT NOT NULL DEFAULT '[]',
    web_search INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
-- names are unique among a person's own assistants, and among a workspace's shared ones
CREATE UNIQUE INDEX assistants_personal_name ON assistants (platform, owner_id, lower(name)) WHERE shared = 0;
CREATE UNIQUE INDEX assistants_shared_name ON assistants (platform, workspace, lower(name)) WHERE shared = 1;

-- which provider served the answer, for its price
ALTER TABLE usage ADD COLUMN provider TEXT NOT NULL DEFAULT '';
CREATE INDEX usage_workspace ON usage (platform, workspace, created_at);
