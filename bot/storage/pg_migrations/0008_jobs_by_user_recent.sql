-- As SQLite's migration 0011: a person's orders, newest first (/orders).
CREATE INDEX jobs_user_recent ON jobs(user_id, created_at DESC, id DESC);
