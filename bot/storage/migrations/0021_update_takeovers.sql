-- Which takeover of the updates right took each update from the inbox (bot/telegram/inbox.py).
-- Each bot process that takes the right over counts one more in update_takeovers and takes under
-- that number: a process that lost the right without knowing it yet (its lock's connection broke)
-- finds a newer number and takes nothing more, hands back only what it took itself, and the one
-- taking over takes again what earlier ones left only once they cannot still be handling it.
ALTER TABLE updates ADD COLUMN taken_by INTEGER;
CREATE TABLE update_takeovers (generation INTEGER NOT NULL);
INSERT INTO update_takeovers (generation) VALUES (0);
