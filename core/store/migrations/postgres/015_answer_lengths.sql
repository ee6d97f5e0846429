-- How long answers streamed on a shared platform budget (core.streaming.lengths), so what one process learned paces
-- the next one, and every replica, from its first answer instead of a guess. A budget is a limit (`budget`: e.g.
-- "slack-chat.appendStream") of one workspace (`bucket`: e.g. a Slack team id); a row is one answer's length in
-- seconds and when it ended. Nothing about a person: no user id, no conversation, no text, only durations; so it is
-- not erased with a person's data. Each workspace's budget keeps only its most recent rows
-- (Store.record_answer_lengths).
CREATE TABLE answer_lengths (
    id BIGSERIAL PRIMARY KEY,
    budget TEXT NOT NULL,
    bucket TEXT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX answer_lengths_bucket ON answer_lengths (budget, bucket, id);
CREATE INDEX answer_lengths_recent ON answer_lengths (budget, id);
