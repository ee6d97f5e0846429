-- the bot processes sharing this database: a restart interrupts only the answers of dead ones
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);

-- which process is writing a STREAMING answer ('' for answers written before this migration)
ALTER TABLE messages ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';
