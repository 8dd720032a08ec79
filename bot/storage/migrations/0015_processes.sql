-- Every process of the deployment (bot/ops/presence.py): each writes its row every few seconds and
-- deletes it as it stops, so the bot process's /metrics shows the workers too (they have no HTTP
-- port). seen_at is seconds since the epoch by the database's clock; the engine's figures are the
-- process's own local engine's (NULL without one): calls under way or waiting, calls since start,
-- processes killed at the time limit and crashed since start.
CREATE TABLE processes (
    name               TEXT PRIMARY KEY,
    role               TEXT NOT NULL,
    started_at         REAL NOT NULL,
    seen_at            REAL NOT NULL,
    engine_pending     INTEGER,
    engine_started     INTEGER,
    engine_time_limits INTEGER,
    engine_crashes     INTEGER
);
