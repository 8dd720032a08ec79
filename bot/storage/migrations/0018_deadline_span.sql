-- Each job's seconds from its sending to its deadline, as placed (bot/jobs/driver._due_from_now):
-- the deadline runs from each sending, and a job sent again must not carry the time it spent
-- since its first sending into its span. NULL for jobs placed before: their span is read from
-- their deadline and their placing, as before.
ALTER TABLE jobs ADD COLUMN deadline_span REAL;
