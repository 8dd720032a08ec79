-- Several ID-photo sizes from one photo, confirmed together (bot/storage/jobs.Jobs.create_many):
-- one job per size, created in one transaction, each holding its own price and settled on its own;
-- every job of such an order names the order's first job here (NULL for an order of one job).
-- The unfinished-orders limit (jobs.max_per_user) counts an order once.
ALTER TABLE jobs ADD COLUMN order_group TEXT;
