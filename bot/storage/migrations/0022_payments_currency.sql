-- The currency a payment was made in. The bot sells in Telegram Stars (XTR) only, but a payment
-- that matches no invoice of ours is kept for a refund whatever its currency: one in another
-- currency cannot be given back with refundStarPayment (bot/storage/payments.py), and its amount
-- (in `stars`, in the currency's smallest units) is not Stars.
ALTER TABLE payments ADD COLUMN currency TEXT NOT NULL DEFAULT 'XTR';
