-- The webhook inbox keeps every update until it is handled, as SQLite's migration 0007.
ALTER TABLE updates ADD COLUMN taken_at DOUBLE PRECISION;
ALTER TABLE updates ADD COLUMN handled_at DOUBLE PRECISION;
CREATE INDEX updates_waiting ON updates(update_id) WHERE taken_at IS NULL;
CREATE INDEX updates_handled ON updates(handled_at) WHERE handled_at IS NOT NULL;
