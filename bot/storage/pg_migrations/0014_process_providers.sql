-- Each process's provider counters since it started, as SQLite's migration 0017.
ALTER TABLE processes ADD COLUMN providers TEXT;
