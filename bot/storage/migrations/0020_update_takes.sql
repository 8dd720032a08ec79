-- How many times each update was taken from the inbox (bot/telegram/inbox.py): one taken
-- MAX_TAKES times and never finished (the process handling it died each time) is dropped, so that
-- it does not kill every process that takes it again.
ALTER TABLE updates ADD COLUMN takes INTEGER NOT NULL DEFAULT 0;
