"""Deleting old photos: people's inputs and results are kept ``database.media_retention_days``,
then deleted, unless an unfinished job or an undelivered result still needs them.

Buttons on old messages (re-edit, retry) already answer "no longer available" when a file is
gone, so nothing else needs to know a sweep happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from bot.ops.media import MediaStore
from bot.storage.jobs import Jobs

log = logging.getLogger(__name__)

#: Seconds between two sweeps.
SWEEP_INTERVAL = 3600.0
#: The folders swept; templates are the operator's, not people's, and stay.
SWEPT_FOLDERS = ("inputs", "results")


def sweep(root: Path, older_than: float, keep: set[str]) -> int:
    """Delete the files in the swept folders last changed before ``older_than`` (a Unix time),
    except the references in ``keep``; how many were deleted."""
    removed = 0
    for folder in SWEPT_FOLDERS:
        for path in (root / folder).iterdir():
            if f"{folder}/{path.name}" in keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
    return removed


class MediaSweeper:
    def __init__(self, jobs: Jobs, media: MediaStore, retention_days: float, interval: float = SWEEP_INTERVAL) -> None:
        self.jobs = jobs
        self.media = media
        self.retention = retention_days * 86400
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        #: Set after every sweep (tests wait on it).
        self.swept = asyncio.Event()

    async def sweep_once(self) -> int:
        await self.jobs.forget_old_previews(time.time())  # /privacy: kept for about an hour
        keep = {ref for job in await self.jobs.unfinished() for ref in job.files()}
        removed = await asyncio.to_thread(sweep, self.media.root, time.time() - self.retention, keep)
        if removed:
            log.info("deleted %d stored photos older than %g days", removed, self.retention / 86400)
        self.swept.set()
        return removed

    def start(self) -> None:
        """Sweep now and then every ``interval`` seconds; nothing when retention is 0 (keep all)."""
        if self.retention > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-sweep")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except OSError as err:
                log.warning("media sweep failed: %s", err)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
