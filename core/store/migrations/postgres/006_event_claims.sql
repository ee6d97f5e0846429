-- a token per claim_event call: a claim retried after a lost connection recognises its own row
ALTER TABLE processed_events ADD COLUMN claim TEXT NOT NULL DEFAULT '';
