-- How many times each update was taken from the inbox, as SQLite's migration 0020.
ALTER TABLE updates ADD COLUMN takes INTEGER NOT NULL DEFAULT 0;
