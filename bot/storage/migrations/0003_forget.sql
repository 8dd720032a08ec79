-- /forget: a user's rows move to a pseudonym (a negative id) so the ledger still balances.
-- The ledger stays append-only except for exactly that move: a positive user id becoming a
-- negative one with every other column unchanged.
DROP TRIGGER ledger_no_update;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
WHEN NOT (OLD.user_id > 0 AND NEW.user_id < 0 AND NEW.id = OLD.id AND NEW.kind = OLD.kind
          AND NEW.amount = OLD.amount AND NEW.job_id IS OLD.job_id AND NEW.day IS OLD.day
          AND NEW.note IS OLD.note AND NEW.created_at = OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Keyed fingerprints of users who used /forget today: coming back the same day does not bring
-- a second daily top-up. Rows from earlier days are deleted.
CREATE TABLE forgotten_today (
    fingerprint TEXT PRIMARY KEY,
    day         TEXT NOT NULL
);
