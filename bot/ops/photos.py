"""How much of people's photos the bot keeps on disk, and when it refuses to keep more.

Only the latest photo a user has not ordered with is kept: a new photo, /cancel or a session
dropped for quietness deletes the one before unless a job uses it. A user's stored bytes (that
photo plus the inputs and results of their jobs) have a cap, and while the disk has less free
space than configured no new photo is taken at all and /healthz says so. Jobs' own files are
kept for ``database.media_retention_days`` (bot/ops/retention.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

from bot.ops.media import MediaStore
from bot.storage.jobs import Jobs


class PhotoKeeper:
    def __init__(
        self,
        jobs: Jobs,
        media: MediaStore,
        *,
        max_user_bytes: int,
        min_free_bytes: int,
        retention_days: float,
        database_path: Path | None,
    ) -> None:
        self.jobs = jobs
        self.media = media
        self.max_user_bytes = max_user_bytes
        self.min_free_bytes = min_free_bytes
        self.retention = retention_days * 86400
        #: The folders whose free space counts: the media folder and an SQLite database's.
        self.folders = (media.root, database_path.parent) if database_path is not None else (media.root,)

    def free_bytes(self) -> int:
        return min(shutil.disk_usage(folder).free for folder in self.folders)

    def disk_low(self) -> bool:
        """True while a folder has less free space than ``database.min_free_disk_mb``."""
        return self.free_bytes() < self.min_free_bytes

    async def in_use(self, ref: str) -> bool:
        return await self.jobs.input_used(ref)

    async def discard(self, ref: str | None) -> None:
        """Delete a photo the user did not order with (kept if a job uses it)."""
        if ref is not None and not await self.in_use(ref):
            await asyncio.to_thread(self.media.delete, ref)

    async def stored_bytes(self, user_id: int) -> int:
        """Bytes of the user's jobs' files still on disk (inputs and results)."""
        since = time.time() - self.retention if self.retention else 0.0
        refs = {ref for job in await self.jobs.of_user_since(user_id, since) for ref in job.files()}
        return await asyncio.to_thread(self._sizes, refs)

    def _sizes(self, refs: set[str]) -> int:
        total = 0
        for ref in refs:
            with contextlib.suppress(FileNotFoundError, ValueError):
                total += self.media.path(ref).stat().st_size
        return total

    async def over_cap(self, user_id: int, incoming: int) -> bool:
        """Whether storing ``incoming`` more bytes would take the user past ``database.max_user_mb``."""
        return await self.stored_bytes(user_id) + incoming > self.max_user_bytes
