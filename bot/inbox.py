"""Telegram updates that arrive by webhook, kept in the database until the bot process that
handles updates takes them.

Any bot process may receive the webhook (several behind one address): it checks the update,
stores it (a resent update_id is stored once) and answers Telegram only then, so an update it
acknowledged survives its crash. One process at a time, the holder of the updates right
(bot/app.py), takes them from here in update_id order and handles them, with the sessions and
conversation steps it read when it took the right over: one process owns every dialogue, as
with long polling, and another takes over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from telegram import Update

from bot.context import PhotoBotApp
from bot.storage.store import Store

#: Notified with the update_id when an update is stored.
UPDATES_CHANNEL = "photobot_updates"
#: Updates taken at once, and seconds between looks when no notification came (one was missed
#: while the listening connection was being re-established).
BATCH = 100
LOOK_INTERVAL = 5.0


class UpdateInbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def put(self, body: dict[str, Any]) -> None:
        """Keep a checked update (its ``update_id`` an int) for the handling process."""
        update_id = int(body["update_id"])
        await self.store.write(
            "INSERT INTO updates (update_id, body, received_at) VALUES (?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, json.dumps(body, ensure_ascii=False), time.time()),
        )
        await self.store.notify(UPDATES_CHANNEL, str(update_id))

    async def take(self, limit: int = BATCH) -> list[dict[str, Any]]:
        """The oldest kept updates, removed from the inbox (only the handling process takes)."""
        rows = await self.store.fetchall("SELECT update_id, body FROM updates ORDER BY update_id LIMIT ?", (limit,))
        if rows:
            ids = [row["update_id"] for row in rows]
            await self.store.write(f"DELETE FROM updates WHERE update_id IN ({', '.join('?' * len(ids))})", ids)
        return [json.loads(row["body"]) for row in rows]

    async def hand_over(self, app: PhotoBotApp) -> None:
        """Put every kept update, and each one that arrives, on ``app``'s update queue (until cancelled)."""
        arrived = asyncio.Event()
        await self.store.listen(UPDATES_CHANNEL, lambda _update_id: arrived.set())
        while True:
            arrived.clear()
            taken = await self.take()
            for body in taken:
                await app.update_queue.put(Update.de_json(body, app.bot))
            if len(taken) < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), LOOK_INTERVAL)
