-- Which process drives each unfinished job, and until when (bot/jobs.py): a worker claims a job
-- with a lease and renews it while it works; another takes the job over once the lease ran out.
-- lease_until is seconds since the epoch by the database's clock.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until REAL;
-- The jobs that still need work, oldest first, without reading finished ones.
CREATE INDEX jobs_unfinished ON jobs(created_at)
    WHERE state IN ('queued', 'submitting', 'running') OR delivery IS NULL OR delivery = 'sending';
