CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    UNIQUE (platform, workspace, channel, thread)
);
CREATE INDEX conversations_owner ON conversations (platform, owner_id, updated_at);
CREATE INDEX conversations_idle ON conversations (updated_at);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    author_id TEXT NOT NULL DEFAULT '',
    author_name TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'complete',
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    first_token_ms DOUBLE PRECISION,
    total_ms DOUBLE PRECISION,
    platform_message_id TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_platform_id ON messages (platform_message_id) WHERE platform_message_id <> '';
CREATE INDEX messages_status ON messages (status) WHERE status = 'streaming';

CREATE TABLE settings (
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    scope TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, workspace, scope, scope_id, name)
);

CREATE TABLE usage (
    id BIGSERIAL PRIMARY KEY,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    user_id TEXT NOT NULL,
    conversation_id BIGINT,
    model TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX usage_user ON usage (platform, user_id, created_at);
CREATE INDEX usage_conversation ON usage (conversation_id) WHERE conversation_id IS NOT NULL;

CREATE TABLE processed_events (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, event_id)
);
