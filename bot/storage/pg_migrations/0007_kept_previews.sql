-- As SQLite's migration 0010: the local engine's finished previews are marked kept_preview in
-- their result (bot/storage/jobs.JobResult), which the bot reads instead of the provider's name.
UPDATE jobs SET result = jsonb_set(result::jsonb, '{kept_preview}', 'true')::text
WHERE provider = 'local' AND result IS NOT NULL AND (options::jsonb ->> 'preview')::boolean;
