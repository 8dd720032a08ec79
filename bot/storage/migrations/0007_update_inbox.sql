-- A webhook update stays in the inbox until its handlers have finished (bot/inbox.py): taken_at
-- marks the updates the handling process took (taken again by the next one if it dies first),
-- handled_at those it finished. A handled update keeps its row, its body emptied, for a day, so
-- that Telegram sending it again is not handled twice. Seconds since the epoch.
ALTER TABLE updates ADD COLUMN taken_at REAL;
ALTER TABLE updates ADD COLUMN handled_at REAL;
CREATE INDEX updates_waiting ON updates(update_id) WHERE taken_at IS NULL;
CREATE INDEX updates_handled ON updates(handled_at) WHERE handled_at IS NOT NULL;
