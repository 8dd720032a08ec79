-- Which takeover of the updates right took each update from the inbox, as SQLite's migration 0021.
ALTER TABLE updates ADD COLUMN taken_by BIGINT;
CREATE TABLE update_takeovers (generation BIGINT NOT NULL);
INSERT INTO update_takeovers (generation) VALUES (0);
