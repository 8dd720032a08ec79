-- Job leases, as SQLite's migration 0006.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION;
CREATE INDEX jobs_unfinished ON jobs(created_at)
    WHERE state IN ('queued', 'submitting', 'running') OR delivery IS NULL OR delivery = 'sending';
