-- Where a conversation was erased, and when: never its text, owner or title. A thread whose conversation
-- was erased starts fresh; what the platform still shows from before the erasure is never adopted again.
CREATE TABLE erased_threads (
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    erased_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, workspace, channel, thread)
);
