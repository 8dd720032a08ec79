-- A finished job's result says whether it is a free preview whose exact file is kept to be bought
-- (bot/storage/jobs.JobResult.kept_preview); before, the bot read it from the provider's name.
-- The local engine's finished previews are marked so, so that none is handed out as a result.
UPDATE jobs SET result = json_set(result, '$.kept_preview', json('true'))
WHERE provider = 'local' AND result IS NOT NULL AND json_extract(options, '$.preview') = 1;
