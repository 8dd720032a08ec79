"""Deleting old photos: people's inputs and results are kept ``database.media_retention_days``,
then deleted, unless an unfinished job or an undelivered result still needs them.

Buttons on old messages (re-edit, retry) already answer "no longer available" when a file is
gone, so nothing else needs to know a sweep happened.

A job may be placed from a photo that has just expired while a sweep runs (a re-edit or Try again
on an old message). So the sweep first finds the expired files, then reads which files jobs need
(a job placed before that read is seen), and checks each file's age once more just before
deleting it: placing a job refreshes its inputs' time (:meth:`MediaStore.claim`, in
``place_order``), so a job placed after that read keeps its input too. Before, the list of files
to keep was read before the folders were walked, and a job placed in between had its input
deleted under it: it failed and was refunded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bot.ops.media import MediaStore
from bot.storage.jobs import Jobs
from bot.storage.store import DATABASE_ERRORS

log = logging.getLogger(__name__)

#: Seconds between two sweeps.
SWEEP_INTERVAL = 3600.0
#: The folders swept; templates are the operator's, not people's, and stay.
SWEPT_FOLDERS = ("inputs", "results")


def expired(root: Path, older_than: float) -> list[str]:
    """The references of the files in the swept folders last changed before ``older_than`` (a
    Unix time)."""
    found = []
    for folder in SWEPT_FOLDERS:
        for path in (root / folder).iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < older_than:
                    found.append(f"{folder}/{path.name}")
    return found


def delete_expired(root: Path, refs: Iterable[str], older_than: float) -> int:
    """Delete the files of ``refs`` still last changed before ``older_than``: one a job was placed
    from since :func:`expired` found it has a fresh time and stays. How many were deleted."""
    removed = 0
    for ref in refs:
        path = root / ref
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
    return removed


def sweep(root: Path, older_than: float, keep: set[str]) -> int:
    """Delete the files in the swept folders last changed before ``older_than`` (a Unix time),
    except the references in ``keep``; how many were deleted."""
    return delete_expired(root, [ref for ref in expired(root, older_than) if ref not in keep], older_than)


class MediaSweeper:
    def __init__(self, jobs: Jobs, media: MediaStore, retention_days: float, interval: float = SWEEP_INTERVAL) -> None:
        self.jobs = jobs
        self.media = media
        self.retention = retention_days * 86400
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        #: Set after every sweep (tests wait on it).
        self.swept = asyncio.Event()
        #: Awaited after the files to keep were read and before any is deleted (tests place a job
        #: at that moment).
        self.before_delete: Callable[[], Awaitable[None]] | None = None

    async def sweep_once(self) -> int:
        """Delete what /forget kept of previews an hour old, always, and, when photos are not kept
        for good (retention above 0), the expired photos no job needs; how many photos were
        deleted."""
        await self.jobs.forget_old_previews(time.time())  # /privacy: kept for about an hour
        removed = 0
        if self.retention > 0:
            older_than = time.time() - self.retention
            candidates = await asyncio.to_thread(expired, self.media.root, older_than)
            if candidates:
                keep = {ref for job in await self.jobs.unfinished() for ref in job.files()}
                if self.before_delete is not None:
                    await self.before_delete()
                doomed = [ref for ref in candidates if ref not in keep]
                removed = await asyncio.to_thread(delete_expired, self.media.root, doomed, older_than)
        if removed:
            log.info("deleted %d stored photos older than %g days", removed, self.retention / 86400)
        self.swept.set()
        return removed

    def start(self) -> None:
        """Sweep now and then every ``interval`` seconds. With retention 0 (photos kept for good)
        too: what /forget kept of free previews must still go after about an hour (before, nothing
        ran then, and it stayed until that person's next preview)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-sweep")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            # The database's errors too (DATABASE_ERRORS holds OSError): before, one ended the
            # loop, and no photo was deleted again until the process restarted.
            except DATABASE_ERRORS as err:
                log.warning("media sweep failed (trying again in %.0f s): %s", self.interval, err)
            except Exception:  # a row it cannot read, say: the next sweep may not meet it
                log.exception("media sweep failed (trying again in %.0f s)", self.interval)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
