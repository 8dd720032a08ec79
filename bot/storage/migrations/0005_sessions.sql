-- What a user is in the middle of (the photo sent, the order on the summary, the step of each
-- menu), so that a restarted bot, or another bot process, carries on where the user was.
CREATE TABLE sessions (
    user_id    INTEGER PRIMARY KEY,
    data       TEXT    NOT NULL,  -- JSON, bot/persistence.py
    updated_at REAL    NOT NULL
);
CREATE TABLE conversations (
    name     TEXT NOT NULL,  -- the service's conversation
    chat_key TEXT NOT NULL,  -- JSON [chat id, user id]
    state    TEXT NOT NULL,  -- JSON
    PRIMARY KEY (name, chat_key)
);
