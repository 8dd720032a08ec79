-- Telegram Stars: credit packs bought and refunded. The ledger gains two kinds, 'purchase' and
-- 'refund', each naming its Telegram payment (charge id) and at most once per payment, and a
-- column `paid`: the part of a row's amount that is bought credits. Holds take free credits
-- first (the daily top-up and admin grants) and bought ones after; the daily top-up counts free
-- credits only, so bought credits are never eaten by it. SQLite cannot change a CHECK, so the
-- ledger is copied into a new table (every existing row is free credits: paid = 0).
DROP TRIGGER ledger_no_update;
DROP TRIGGER ledger_no_delete;
CREATE TABLE ledger_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(user_id),
    kind       TEXT    NOT NULL CHECK (kind IN
                 ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund')),
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
    CHECK (kind NOT IN ('daily_grant', 'admin_grant') OR paid = 0)
);
INSERT INTO ledger_new (id, user_id, kind, amount, paid, job_id, payment, day, note, created_at)
    SELECT id, user_id, kind, amount, 0, job_id, NULL, day, note, created_at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
CREATE INDEX ledger_user ON ledger(user_id);
CREATE UNIQUE INDEX ledger_one_hold ON ledger(job_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_settlement ON ledger(job_id) WHERE kind IN ('capture', 'release');
CREATE UNIQUE INDEX ledger_one_daily_grant ON ledger(user_id, day) WHERE kind = 'daily_grant';
-- A payment adds its credits once, and is taken back at most once.
CREATE UNIQUE INDEX ledger_one_purchase ON ledger(payment) WHERE kind = 'purchase';
CREATE UNIQUE INDEX ledger_one_refund ON ledger(payment) WHERE kind = 'refund';
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
WHEN NOT (OLD.user_id > 0 AND NEW.user_id < 0 AND NEW.id = OLD.id AND NEW.kind = OLD.kind
          AND NEW.amount = OLD.amount AND NEW.paid = OLD.paid AND NEW.job_id IS OLD.job_id
          AND NEW.payment IS OLD.payment AND NEW.day IS OLD.day AND NEW.note IS OLD.note
          AND NEW.created_at = OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Invoices the bot sent: the payload is a random token, bound to the user and the pack (its
-- credits and Stars as offered, so a later price change does not alter an invoice in hand).
CREATE TABLE invoices (
    payload    TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    pack_id    TEXT    NOT NULL,
    credits    INTEGER NOT NULL CHECK (credits > 0),
    stars      INTEGER NOT NULL CHECK (stars > 0),
    created_at REAL    NOT NULL
);

-- Payments received. The buyer's Telegram id stays (also after /forget): a refund is made to it.
CREATE TABLE payments (
    charge_id   TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    payload     TEXT    NOT NULL REFERENCES invoices(payload),
    credits     INTEGER NOT NULL,
    stars       INTEGER NOT NULL,
    paid_at     REAL    NOT NULL,
    refunded_at REAL
);
CREATE INDEX payments_user ON payments(user_id, paid_at);
