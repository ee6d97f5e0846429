-- the bot processes sharing this database: a restart interrupts only the answers of dead ones
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL DEFAULT '',
    pid BIGINT NOT NULL DEFAULT 0,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);

-- which process is writing a STREAMING answer ('' for answers written before this migration)
ALTER TABLE messages ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';
