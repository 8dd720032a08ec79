-- Invitations, as SQLite's migration 0012: codes, who came through whose code and the bonus they
-- earned, fingerprints of everyone who used /forget, and the ledger kind 'invite_bonus'.
CREATE TABLE invite_codes (
    code       TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE invitations (
    invitee_id  BIGINT  PRIMARY KEY,
    inviter_id  BIGINT  NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    rewarded_at DOUBLE PRECISION,
    bonus       INTEGER,
    job_id      TEXT,
    CHECK (invitee_id <> inviter_id),
    CHECK ((rewarded_at IS NULL) = (bonus IS NULL) AND (rewarded_at IS NULL) = (job_id IS NULL))
);
CREATE INDEX invitations_inviter ON invitations(inviter_id);
CREATE UNIQUE INDEX invitations_job ON invitations(job_id) WHERE job_id IS NOT NULL;
CREATE TABLE former_users (
    fingerprint TEXT PRIMARY KEY,
    forgot_at   DOUBLE PRECISION NOT NULL
);
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN
    ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund', 'debt', 'debt_carried',
     'invite_bonus'));
ALTER TABLE ledger ADD CONSTRAINT ledger_invite_bonus_is_free CHECK (kind <> 'invite_bonus' OR (paid = 0 AND note IS NOT NULL));
CREATE UNIQUE INDEX ledger_one_invite_bonus ON ledger(user_id, note) WHERE kind = 'invite_bonus';
