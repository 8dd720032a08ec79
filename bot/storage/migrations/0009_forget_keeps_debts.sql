-- /forget keeps an unpaid refund debt, deletes the user's invoices, and unpaid invoices are
-- purged after a day (bot/storage/users.py Users.forget, bot/storage/payments.py purge_invoices).
--
-- The ledger gains two kinds, both bought credits (paid = amount): 'debt_carried' gives the
-- pseudonym of a user who used /forget while owing credits (a refunded pack already spent) back
-- what they owed, and 'debt' takes it from their Telegram id, so the debt stays with the person
-- and the books still balance. SQLite cannot change a CHECK: the ledger is copied, as in 0004.
DROP TRIGGER ledger_no_update;
DROP TRIGGER ledger_no_delete;
CREATE TABLE ledger_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(user_id),
    kind       TEXT    NOT NULL CHECK (kind IN
                 ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund',
                  'debt', 'debt_carried')),
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
    CHECK (kind NOT IN ('daily_grant', 'admin_grant') OR paid = 0),
    CHECK (kind NOT IN ('debt', 'debt_carried') OR paid = amount)
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
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
WHEN NOT (OLD.user_id > 0 AND NEW.user_id < 0 AND NEW.id = OLD.id AND NEW.kind = OLD.kind
          AND NEW.amount = OLD.amount AND NEW.paid = OLD.paid AND NEW.job_id IS OLD.job_id
          AND NEW.payment IS OLD.payment AND NEW.day IS OLD.day AND NEW.note IS OLD.note
          AND NEW.created_at = OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- A payment no longer needs its invoice: /forget deletes the user's invoices, paid ones too (the
-- payment keeps what a refund needs). SQLite cannot drop a foreign key: payments is copied.
CREATE TABLE payments_new (
    charge_id         TEXT    PRIMARY KEY,
    user_id           INTEGER NOT NULL,
    payload           TEXT    NOT NULL,
    credits           INTEGER NOT NULL,
    stars             INTEGER NOT NULL,
    paid_at           REAL    NOT NULL,
    refunded_at       REAL,
    refund_started_at REAL
);
INSERT INTO payments_new (charge_id, user_id, payload, credits, stars, paid_at, refunded_at, refund_started_at)
    SELECT charge_id, user_id, payload, credits, stars, paid_at, refunded_at, refund_started_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_user ON payments(user_id, paid_at);
CREATE INDEX payments_refunding ON payments(charge_id)
    WHERE refund_started_at IS NOT NULL AND refunded_at IS NULL;
CREATE INDEX payments_payload ON payments(payload);

-- When Telegram's pre-checkout for an invoice was answered yes (seconds since the epoch): an
-- invoice is purged a day after it was made and after its last checkout, unless it was paid, so
-- a payment whose update was lost still finds its invoice when it is reconciled.
ALTER TABLE invoices ADD COLUMN checked_out_at REAL;
CREATE INDEX invoices_user ON invoices(user_id);
CREATE INDEX invoices_created ON invoices(created_at);
