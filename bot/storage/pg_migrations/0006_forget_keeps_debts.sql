-- /forget keeps an unpaid refund debt, deletes the user's invoices, and unpaid invoices are
-- purged after a day, as SQLite's migration 0009: the ledger kinds 'debt' and 'debt_carried'
-- (bought credits), payments without a foreign key to invoices, invoices.checked_out_at.
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN
    ('daily_grant', 'admin_grant', 'hold', 'capture', 'release', 'purchase', 'refund', 'debt', 'debt_carried'));
ALTER TABLE ledger ADD CONSTRAINT ledger_debt_is_bought CHECK (kind NOT IN ('debt', 'debt_carried') OR paid = amount);
ALTER TABLE payments DROP CONSTRAINT payments_payload_fkey;
CREATE INDEX payments_payload ON payments(payload);
ALTER TABLE invoices ADD COLUMN checked_out_at DOUBLE PRECISION;
CREATE INDEX invoices_user ON invoices(user_id);
CREATE INDEX invoices_created ON invoices(created_at);
