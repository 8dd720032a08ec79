-- An admin's refund (/refund) is decided and reserved in one transaction on the buyer's ledger
-- (bot/storage/payments.py): refund_started_at marks the payment's credits as leaving, so an
-- order placed while Telegram is asked does not spend them; the refund itself sets refunded_at.
-- A reservation left by a process that died in between lapses (ledger.REFUND_RESERVATION seconds).
-- Seconds since the epoch.
ALTER TABLE payments ADD COLUMN refund_started_at REAL;
CREATE INDEX payments_refunding ON payments(charge_id)
    WHERE refund_started_at IS NOT NULL AND refunded_at IS NULL;
