-- When the admins were last told of a provider's problem that fails jobs (bot/telegram/alerts.py,
-- job_failed): whichever process delivers a failed job claims the alert here, so bot and worker
-- processes, and a restarted one, tell it once per provider and problem within the repeat span.
-- told_at is seconds since the epoch.
CREATE TABLE operator_alerts (
    provider TEXT NOT NULL,
    problem  TEXT NOT NULL,
    told_at  REAL NOT NULL,
    PRIMARY KEY (provider, problem)
);
