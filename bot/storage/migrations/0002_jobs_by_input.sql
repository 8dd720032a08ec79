-- Whether a stored photo is the input of any job: asked when a newer photo replaces it.
CREATE INDEX jobs_input ON jobs(input_ref);
