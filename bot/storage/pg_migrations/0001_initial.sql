-- PostgreSQL: the same tables, indexes and rules as the SQLite migrations 0001-0004 end with
-- (users, jobs, the append-only credit ledger with its payment kinds, invoices, payments, and
-- the fingerprints of today's /forget). Timestamps are seconds since the epoch, as in SQLite.
CREATE TABLE users (
    user_id         BIGINT  PRIMARY KEY,
    chat_id         BIGINT  NOT NULL,
    language        TEXT    NOT NULL,
    language_chosen INTEGER NOT NULL DEFAULT 0,
    first_seen      DOUBLE PRECISION NOT NULL
);

CREATE TABLE jobs (
    id                TEXT    PRIMARY KEY,
    user_id           BIGINT  NOT NULL REFERENCES users(user_id),
    chat_id           BIGINT  NOT NULL,
    service           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    options           TEXT    NOT NULL,
    input_ref         TEXT,
    price             INTEGER NOT NULL CHECK (price >= 0),
    provider_task_id  TEXT,
    state             TEXT    NOT NULL CHECK (state IN
                        ('queued', 'submitting', 'running', 'succeeded', 'failed', 'cancelled')),
    progress          INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        DOUBLE PRECISION NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL,
    deadline          DOUBLE PRECISION,
    result            TEXT,
    error             TEXT,
    callback_secret   TEXT    NOT NULL,
    status_message_id BIGINT,
    delivery          TEXT    CHECK (delivery IN ('sending', 'done')),
    sent_parts        TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX jobs_open ON jobs(state, delivery);
CREATE INDEX jobs_user ON jobs(user_id, state);
CREATE INDEX jobs_input ON jobs(input_ref);

CREATE TABLE ledger (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users(user_id),
    kind       TEXT    NOT NULL CHECK (kind IN
                 ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    paid       INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
    job_id     TEXT    REFERENCES jobs(id),
    payment    TEXT,
    day        TEXT,
    note       TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    CHECK ((kind IN ('hold', 'capture', 'release')) = (job_id IS NOT NULL)),
    CHECK ((kind IN ('purchase', 'refund')) = (payment IS NOT NULL)),
    CHECK (kind NOT IN ('purchase', 'refund') OR paid = amount),
    CHECK (kind NOT IN ('daily_grant', 'admin_grant') OR paid = 0)
);
CREATE INDEX ledger_user ON ledger(user_id);
CREATE UNIQUE INDEX ledger_one_hold ON ledger(job_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_settlement ON ledger(job_id) WHERE kind IN ('capture', 'release');
CREATE UNIQUE INDEX ledger_one_daily_grant ON ledger(user_id, day) WHERE kind = 'daily_grant';
CREATE UNIQUE INDEX ledger_one_purchase ON ledger(payment) WHERE kind = 'purchase';
CREATE UNIQUE INDEX ledger_one_refund ON ledger(payment) WHERE kind = 'refund';

-- Append-only, but for /forget's move of a user's rows to a pseudonym (a positive id to a
-- negative one, every other column unchanged).
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.user_id > 0 AND NEW.user_id < 0 AND NEW.id = OLD.id
       AND NEW.kind = OLD.kind AND NEW.amount = OLD.amount AND NEW.paid = OLD.paid
       AND NEW.job_id IS NOT DISTINCT FROM OLD.job_id AND NEW.payment IS NOT DISTINCT FROM OLD.payment
       AND NEW.day IS NOT DISTINCT FROM OLD.day AND NEW.note IS NOT DISTINCT FROM OLD.note
       AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TABLE forgotten_today (
    fingerprint TEXT PRIMARY KEY,
    day         TEXT NOT NULL
);

CREATE TABLE invoices (
    payload    TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL,
    pack_id    TEXT    NOT NULL,
    credits    INTEGER NOT NULL CHECK (credits > 0),
    stars      INTEGER NOT NULL CHECK (stars > 0),
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE payments (
    charge_id   TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL,
    payload     TEXT    NOT NULL REFERENCES invoices(payload),
    credits     INTEGER NOT NULL,
    stars       INTEGER NOT NULL,
    paid_at     DOUBLE PRECISION NOT NULL,
    refunded_at DOUBLE PRECISION
);
CREATE INDEX payments_user ON payments(user_id, paid_at);
