-- What a user is in the middle of, as SQLite's migration 0005.
CREATE TABLE sessions (
    user_id    BIGINT PRIMARY KEY,
    data       TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE conversations (
    name     TEXT NOT NULL,
    chat_key TEXT NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (name, chat_key)
);
