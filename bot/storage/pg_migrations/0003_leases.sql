-- Job leases, as SQLite's migration 0006.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION;
CREATE INDEX jobs_unfinished ON jobs(created_at)
    WHERE state IN ('queued', 'submitting', 'running') OR delivery IS NULL OR delivery = 'sending';
-- The summary a job was confirmed from (its nonce): a second Confirm of the same summary, by a
-- bot process that took over before the first one's session was written, finds the job placed.
ALTER TABLE jobs ADD COLUMN order_key TEXT;
CREATE UNIQUE INDEX jobs_one_per_order ON jobs(user_id, order_key) WHERE order_key IS NOT NULL;
-- Telegram updates received by webhook, kept until the bot process that handles updates takes
-- them (bot/inbox.py): any bot process may receive them, one handles them.
CREATE TABLE updates (
    update_id   BIGINT PRIMARY KEY,
    body        TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
-- Each provider's state as every process sees it (bot/health.py, bot/accounts.py): down and why,
-- when it may be offered again (seconds since the epoch), and the paid uses its account has left.
CREATE TABLE provider_state (
    provider   TEXT PRIMARY KEY,
    problem    TEXT,
    retry_at   DOUBLE PRECISION NOT NULL DEFAULT 0,
    uses_left  INTEGER,
    updated_at DOUBLE PRECISION NOT NULL
);
