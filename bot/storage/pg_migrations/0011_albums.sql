-- Albums, as SQLite's migration 0014: the parts kept as they arrive, and the delivered jobs of an
-- album's order (the last sends the zip).
CREATE TABLE album_parts (
    user_id        BIGINT  NOT NULL,
    chat_id        BIGINT  NOT NULL,
    media_group_id TEXT    NOT NULL,
    message_id     BIGINT  NOT NULL,
    kind           TEXT    NOT NULL,            -- photo | document | other (a video, a voice note...)
    file_id        TEXT,
    file_size      BIGINT,
    received_at    DOUBLE PRECISION NOT NULL,
    input_ref      TEXT,                        -- the stored photo, once taken in
    width          INTEGER,
    height         INTEGER,
    refusal        TEXT,                        -- or why it was refused (a locale key)
    closed_at      DOUBLE PRECISION,
    PRIMARY KEY (user_id, media_group_id, message_id)
);
CREATE INDEX album_parts_open ON album_parts(closed_at, received_at);
-- Each job of an album's order once delivered: the last of them sends the zip of the exact files.
CREATE TABLE album_delivered (
    job_id       TEXT PRIMARY KEY,
    order_group  TEXT NOT NULL,
    delivered_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX album_delivered_group ON album_delivered(order_group);
