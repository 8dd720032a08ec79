-- Invitations (/invite): a person's code for t.me/<bot>?start=<code>, who came through whose code,
-- and the bonus both earned with the invited person's first paid order (bot/storage/invites.py).
CREATE TABLE invite_codes (
    code       TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL UNIQUE,
    created_at REAL    NOT NULL
);
CREATE TABLE invitations (
    invitee_id  INTEGER PRIMARY KEY,            -- once per new person
    inviter_id  INTEGER NOT NULL,
    created_at  REAL    NOT NULL,
    rewarded_at REAL,
    bonus       INTEGER,                        -- credits each of the two got
    job_id      TEXT,                           -- the finished paid order that earned it
    CHECK (invitee_id <> inviter_id),
    CHECK ((rewarded_at IS NULL) = (bonus IS NULL) AND (rewarded_at IS NULL) = (job_id IS NULL))
);
CREATE INDEX invitations_inviter ON invitations(inviter_id);
CREATE UNIQUE INDEX invitations_job ON invitations(job_id) WHERE job_id IS NOT NULL;
-- Keyed fingerprints (bot/storage/ledger.Ledger.fingerprint) of everyone who used /forget:
-- coming back, even through an invitation, they are not a new person.
CREATE TABLE former_users (
    fingerprint TEXT PRIMARY KEY,
    forgot_at   REAL NOT NULL
);

-- The ledger gains 'invite_bonus': free credits (paid = 0) for an invitation, its note the job
-- that earned it. SQLite cannot change a CHECK: the ledger is copied, as in 0009.
DROP TRIGGER ledger_no_update;
DROP TRIGGER ledger_no_delete;
CREATE TABLE ledger_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(user_id),
    kind       TEXT    NOT NULL CHECK (kind IN
                 ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund',
                  'debt', 'debt_carried', 'invite_bonus')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    paid       INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
    job_id     TEXT    REFERENCES jobs(id),
    payment    TEXT,
    day        TEXT,
    note       TEXT,
    created_at REAL    NOT NULL,
    CHECK ((kind IN ('hold', 'capture', 'release')) = (job_id IS NOT NULL)),
    CHECK ((kind IN ('purchase', 'refund')) = (payment IS NOT NULL)),
    CHECK (kind NOT IN ('purchase', 'refund') OR paid = amount),
    CHECK (kind NOT IN ('daily_grant', 'admin_grant', 'invite_bonus') OR paid = 0),
    CHECK (kind NOT IN ('debt', 'debt_carried') OR paid = amount),
    CHECK (kind <> 'invite_bonus' OR note IS NOT NULL)
);
INSERT INTO ledger_new (id, user_id, kind, amount, paid, job_id, payment, day, note, created_at)
    SELECT id, user_id, kind, amount, paid, job_id, payment, day, note, created_at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
CREATE INDEX ledger_user ON ledger(user_id);
CREATE UNIQUE INDEX ledger_one_hold ON ledger(job_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_settlement ON ledger(job_id) WHERE kind IN ('capture', 'release');
CREATE UNIQUE INDEX ledger_one_daily_grant ON ledger(user_id, day) WHERE kind = 'daily_grant';
CREATE UNIQUE INDEX ledger_one_purchase ON ledger(payment) WHERE kind = 'purchase';
CREATE UNIQUE INDEX ledger_one_refund ON ledger(payment) WHERE kind = 'refund';
CREATE UNIQUE INDEX ledger_one_invite_bonus ON ledger(user_id, note) WHERE kind = 'invite_bonus';
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
WHEN NOT (OLD.user_id > 0 AND NEW.user_id < 0 AND NEW.id = OLD.id AND NEW.kind = OLD.kind
          AND NEW.amount = OLD.amount AND NEW.paid = OLD.paid AND NEW.job_id IS OLD.job_id
          AND NEW.payment IS OLD.payment AND NEW.day IS OLD.day AND NEW.note IS OLD.note
          AND NEW.created_at = OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
