-- A person's orders, newest first (/orders: bot/storage/jobs.Jobs.recent). The index
-- jobs_user (user_id, state) finds them but not in order: every job of the user would be sorted.
CREATE INDEX jobs_user_recent ON jobs(user_id, created_at DESC, id DESC);
