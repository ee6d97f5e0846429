-- Each person's own Hugging Face account (/account connect): who they are on the Hub and their token, encrypted
-- with ACCOUNTS_KEY (never stored here). Erased by /account disconnect and with the person's data.
CREATE TABLE accounts (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    hub_name TEXT NOT NULL DEFAULT '',
    token TEXT NOT NULL,
    connected_at REAL NOT NULL,
    PRIMARY KEY (platform, user_id)
);
