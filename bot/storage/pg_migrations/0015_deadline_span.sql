-- Each job's seconds from its sending to its deadline, as SQLite's migration 0018.
ALTER TABLE jobs ADD COLUMN deadline_span DOUBLE PRECISION;
