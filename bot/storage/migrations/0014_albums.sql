-- Albums (Telegram media groups) sent as one order of ID photos (bot/storage/albums.py).
-- Each part of an album is kept as it arrives, so that a restart while the album is being
-- collected still ends in one album; what its photo came to (stored, or refused and why) is noted
-- once it is taken in, and the album is closed when the person was shown it.
CREATE TABLE album_parts (
    user_id        INTEGER NOT NULL,
    chat_id        INTEGER NOT NULL,
    media_group_id TEXT    NOT NULL,
    message_id     INTEGER NOT NULL,
    kind           TEXT    NOT NULL,            -- photo | document | other (a video, a voice note...)
    file_id        TEXT,
    file_size      INTEGER,
    received_at    REAL    NOT NULL,
    input_ref      TEXT,                        -- the stored photo, once taken in
    width          INTEGER,
    height         INTEGER,
    refusal        TEXT,                        -- or why it was refused (a locale key)
    closed_at      REAL,
    PRIMARY KEY (user_id, media_group_id, message_id)
);
CREATE INDEX album_parts_open ON album_parts(closed_at, received_at);
-- Each job of an album's order once delivered: the last of them sends the zip of the exact files.
CREATE TABLE album_delivered (
    job_id       TEXT PRIMARY KEY,
    order_group  TEXT NOT NULL,
    delivered_at REAL NOT NULL
);
CREATE INDEX album_delivered_group ON album_delivered(order_group);
