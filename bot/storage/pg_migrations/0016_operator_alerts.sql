-- When the admins were last told of a provider's problem that fails jobs, as SQLite's migration 0019.
CREATE TABLE operator_alerts (
    provider TEXT NOT NULL,
    problem  TEXT NOT NULL,
    told_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, problem)
);
