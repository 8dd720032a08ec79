-- The free previews a person made in the last hour, kept by the keyed fingerprint of their id when
-- they use /forget (their jobs move to a pseudonym): the hourly bound on previews holds across it.
-- Rows older than the bound's hour are deleted by the next /forget.
CREATE TABLE forgotten_previews (
    fingerprint TEXT NOT NULL,
    service     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    made_at     REAL NOT NULL
);
CREATE INDEX forgotten_previews_by_fingerprint ON forgotten_previews(fingerprint, made_at);
