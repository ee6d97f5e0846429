-- Scheduled prompts (/schedule): each is claimed for a run by moving next_run on, so one process runs it once.
-- They belong to their owner and are erased with the owner's data.
CREATE TABLE schedules (
    id BIGSERIAL PRIMARY KEY,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    cron TEXT NOT NULL,
    zone TEXT NOT NULL,
    described TEXT NOT NULL,
    next_run DOUBLE PRECISION NOT NULL,
    last_run DOUBLE PRECISION,
    runs INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run);
CREATE INDEX schedules_place ON schedules (platform, workspace, channel);
CREATE INDEX schedules_owner ON schedules (platform, owner_id);
