-- Every process of the deployment, as SQLite's migration 0015 (bot/ops/presence.py).
CREATE TABLE processes (
    name               TEXT PRIMARY KEY,
    role               TEXT NOT NULL,
    started_at         DOUBLE PRECISION NOT NULL,
    seen_at            DOUBLE PRECISION NOT NULL,
    engine_pending     INTEGER,
    engine_started     INTEGER,
    engine_time_limits INTEGER,
    engine_crashes     INTEGER
);
