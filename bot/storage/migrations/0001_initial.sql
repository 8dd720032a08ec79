-- Users, the append-only credit ledger and jobs.
CREATE TABLE users (
    user_id         INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    language        TEXT    NOT NULL,
    language_chosen INTEGER NOT NULL DEFAULT 0,
    first_seen      REAL    NOT NULL
);

CREATE TABLE jobs (
    id                TEXT    PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(user_id),
    chat_id           INTEGER NOT NULL,
    service           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    options           TEXT    NOT NULL,           -- JSON, service-specific
    input_ref         TEXT,                       -- stored input file, relative to the media dir
    price             INTEGER NOT NULL CHECK (price >= 0),
    provider_task_id  TEXT,
    state             TEXT    NOT NULL CHECK (state IN
                        ('queued', 'submitting', 'running', 'succeeded', 'failed', 'cancelled')),
    progress          INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        REAL    NOT NULL,
    updated_at        REAL    NOT NULL,
    deadline          REAL,
    result            TEXT,                       -- JSON, provider result
    error             TEXT,                       -- error code for the user message
    callback_secret   TEXT    NOT NULL,
    status_message_id INTEGER,
    delivery          TEXT    CHECK (delivery IN ('sending', 'done')),
    sent_parts        TEXT    NOT NULL DEFAULT '[]' -- JSON list of delivered parts
);
CREATE INDEX jobs_open ON jobs(state, delivery);
CREATE INDEX jobs_user ON jobs(user_id, state);

CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(user_id),
    kind       TEXT    NOT NULL CHECK (kind IN
                 ('daily_grant', 'admin_grant', 'hold', 'capture', 'release')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    job_id     TEXT    REFERENCES jobs(id),
    day        TEXT,
    note       TEXT,
    created_at REAL    NOT NULL,
    CHECK ((kind IN ('hold', 'capture', 'release')) = (job_id IS NOT NULL))
);
CREATE INDEX ledger_user ON ledger(user_id);
-- One hold per job, and at most one settlement (capture or release) of it.
CREATE UNIQUE INDEX ledger_one_hold ON ledger(job_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_settlement ON ledger(job_id) WHERE kind IN ('capture', 'release');
CREATE UNIQUE INDEX ledger_one_daily_grant ON ledger(user_id, day) WHERE kind = 'daily_grant';

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
