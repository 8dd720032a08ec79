-- The free previews of people who used /forget, by fingerprint, as SQLite's migration 0016.
CREATE TABLE forgotten_previews (
    fingerprint TEXT NOT NULL,
    service     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    made_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX forgotten_previews_by_fingerprint ON forgotten_previews(fingerprint, made_at);
