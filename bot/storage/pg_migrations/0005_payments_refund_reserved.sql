-- A refund reserves the payment's credits while Telegram is asked, as SQLite's migration 0008.
ALTER TABLE payments ADD COLUMN refund_started_at DOUBLE PRECISION;
CREATE INDEX payments_refunding ON payments(charge_id)
    WHERE refund_started_at IS NOT NULL AND refunded_at IS NULL;
