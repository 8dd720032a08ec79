-- Each process's provider counters since it started (bot/ops/presence.py), as JSON: in a bot
-- process and workers, the workers make the provider calls, and /stats adds up every process's.
ALTER TABLE processes ADD COLUMN providers TEXT;
