-- The currency a payment was made in, as SQLite's migration 0022.
ALTER TABLE payments ADD COLUMN currency TEXT NOT NULL DEFAULT 'XTR';
