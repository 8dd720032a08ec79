"""Albums: a Telegram media group (up to ten photos or image files sent at once) made into one order
of ID photos.

Telegram sends an album as separate messages sharing a ``media_group_id``, and none of them says it
is the last. Each part is kept here as it arrives (``album_parts``), so a restart while an album is
being collected loses none of it: the album is complete once no part came for a quiet moment
(bot/telegram/conversations/album.py), and that is judged from the rows, whichever process
handles the updates then. What each part came to (a stored photo, or why it was refused) is noted
on its row once taken in, so taking in again after a restart downloads nothing twice; the album is
closed when the person has been shown it.

An album's order is one job per photo (``Jobs.create_many``, one ``order_group``). Each of
them notes here when its delivery reaches its end (``album_delivered``); the one noted last, once
all are, sends the zip of the exact files (bot/telegram/delivery.py). The choice is made again,
the same way, if a restart repeats that step, so the zip goes out once, or twice only when the bot
died between Telegram's answer and the record of it, like every delivered part.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

from bot.storage.store import Row, Store, Tx

#: Telegram's limit of items in one media group; more parts of one group are not kept.
MAX_PARTS = 10


@dataclass(frozen=True)
class AlbumPart:
    """One message of an album, and what it came to once taken in."""

    user_id: int
    chat_id: int
    media_group_id: str
    message_id: int
    #: photo | document | other (anything else Telegram puts in an album: a video, an audio file)
    kind: str
    file_id: str | None
    file_size: int | None
    received_at: float
    input_ref: str | None = None
    width: int | None = None
    height: int | None = None
    refusal: str | None = None
    closed_at: float | None = None

    @property
    def taken_in(self) -> bool:
        return self.input_ref is not None or self.refusal is not None

    @classmethod
    def from_row(cls, row: Row) -> AlbumPart:
        return cls(
            user_id=int(row["user_id"]),
            chat_id=int(row["chat_id"]),
            media_group_id=row["media_group_id"],
            message_id=int(row["message_id"]),
            kind=row["kind"],
            file_id=row["file_id"],
            file_size=row["file_size"],
            received_at=float(row["received_at"]),
            input_ref=row["input_ref"],
            width=row["width"],
            height=row["height"],
            refusal=row["refusal"],
            closed_at=row["closed_at"],
        )


class Albums:
    def __init__(self, db: Store) -> None:
        self.db = db

    async def add_part(self, part: AlbumPart) -> str:
        """Keep a part as it arrives: "added"; "again" for one kept before (Telegram sent the update
        again), "late" when its album was closed already, "full" past :data:`MAX_PARTS`."""

        async def work(tx: Tx) -> str:
            rows = await tx.fetchall(
                "SELECT message_id, closed_at FROM album_parts WHERE user_id = ? AND media_group_id = ?",
                (part.user_id, part.media_group_id),
            )
            if any(int(row["message_id"]) == part.message_id for row in rows):
                return "again"
            if any(row["closed_at"] is not None for row in rows):
                return "late"
            if len(rows) >= MAX_PARTS:
                return "full"
            await tx.execute(
                "INSERT INTO album_parts (user_id, chat_id, media_group_id, message_id, kind, file_id, file_size,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    part.user_id,
                    part.chat_id,
                    part.media_group_id,
                    part.message_id,
                    part.kind,
                    part.file_id,
                    part.file_size,
                    part.received_at,
                ),
            )
            return "added"

        return await self.db.transaction(work, user=part.user_id)

    async def parts(self, user_id: int, media_group_id: str) -> list[AlbumPart]:
        """The album's parts in the order they were sent."""
        rows = await self.db.fetchall(
            "SELECT * FROM album_parts WHERE user_id = ? AND media_group_id = ? ORDER BY message_id",
            (user_id, media_group_id),
        )
        return [AlbumPart.from_row(row) for row in rows]

    async def open_albums(self) -> list[tuple[int, int, str]]:
        """(user, chat, media group) of every album not closed yet: being collected or taken in
        when the process before this one stopped."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT user_id, chat_id, media_group_id FROM album_parts WHERE closed_at IS NULL"
        )
        return [(int(row["user_id"]), int(row["chat_id"]), row["media_group_id"]) for row in rows]

    async def taken_in(
        self,
        part: AlbumPart,
        *,
        ref: str | None = None,
        size: tuple[int, int] | None = None,
        refusal: str | None = None,
    ) -> None:
        """Note what the part came to: its stored photo and its size, or why it was refused."""
        width, height = size if size is not None else (None, None)
        await self.db.write(
            "UPDATE album_parts SET input_ref = ?, width = ?, height = ?, refusal = ?"
            " WHERE user_id = ? AND media_group_id = ? AND message_id = ?",
            (ref, width, height, refusal, part.user_id, part.media_group_id, part.message_id),
        )

    async def close(self, user_id: int, media_group_id: str, shown: Collection[int]) -> list[int]:
        """The person was shown the album, its parts ``shown`` (message ids): it takes no more
        parts, and the user's albums before it are forgotten (their photos went with the
        session's). The message ids of the parts that came while it was being shown, closed
        without being in it: they came too late, as one after the close does."""
        now = time.time()

        async def work(tx: Tx) -> list[int]:
            await tx.execute(
                "DELETE FROM album_parts WHERE user_id = ? AND media_group_id <> ? AND closed_at IS NOT NULL",
                (user_id, media_group_id),
            )
            rows = await tx.fetchall(
                "SELECT message_id FROM album_parts WHERE user_id = ? AND media_group_id = ? AND closed_at IS NULL",
                (user_id, media_group_id),
            )
            await tx.execute(
                "UPDATE album_parts SET closed_at = ? WHERE user_id = ? AND media_group_id = ? AND closed_at IS NULL",
                (now, user_id, media_group_id),
            )
            return sorted(int(row["message_id"]) for row in rows if int(row["message_id"]) not in shown)

        return await self.db.transaction(work, user=user_id)

    async def forget_shown(self, before: float) -> int:
        """Delete the parts of every album shown (closed) before ``before`` (a Unix time); how many.
        Once shown the session holds the album, and a part Telegram sends late comes within
        seconds: the rows then hold nothing the bot needs, only the person's Telegram file ids."""
        return await self.db.write("DELETE FROM album_parts WHERE closed_at < ?", (before,))

    async def drop_open(self, user_id: int) -> int:
        """/cancel while an album arrives: its parts are closed, not taken in, so it is never shown
        (a part still on its way is told it came late); how many parts."""
        return await self.db.write(
            "UPDATE album_parts SET closed_at = ? WHERE user_id = ? AND closed_at IS NULL", (time.time(), user_id)
        )

    async def delivered(self, user_id: int, group: str, job_id: str, jobs: int) -> bool:
        """Note that the delivery of ``job_id``, one of the ``jobs`` of the album's order ``group``,
        reached its end; whether it is the one to send the zip: every job of the order noted, and
        this one last (by time, then id). Asked again after a restart it answers the same."""

        async def work(tx: Tx) -> bool:
            await tx.execute(
                "INSERT INTO album_delivered (job_id, order_group, delivered_at) VALUES (?, ?, ?)"
                " ON CONFLICT (job_id) DO NOTHING",
                (job_id, group, time.time()),
            )
            rows = await tx.fetchall(
                "SELECT job_id, delivered_at FROM album_delivered WHERE order_group = ?"
                " ORDER BY delivered_at DESC, job_id DESC",
                (group,),
            )
            return len(rows) >= jobs and rows[0]["job_id"] == job_id

        return await self.db.transaction(work, user=user_id)


async def forget(tx: Tx, user_id: int) -> None:
    """/forget: the user's albums (their file ids) go."""
    await tx.execute("DELETE FROM album_parts WHERE user_id = ?", (user_id,))
