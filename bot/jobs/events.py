"""What the job runner tells the outside world, and nothing more: the runner knows no Telegram.

``bot/telegram/delivery.Delivery`` implements :class:`JobEvents` for the bot; tests of the runner
(tests/jobs/) record the events instead.
"""

from __future__ import annotations

from typing import Protocol

from bot.storage.jobs import Job
from bot.storage.leases import LeasedJobs


class DeliveryPostponed(Exception):
    """The user could not be reached; the delivery stays claimed and is tried again later."""


class JobEvents(Protocol):
    """Where a job's progress and outcome go."""

    async def progress(self, job: Job, percent: int, queue_position: int | None) -> None:
        """The provider reported progress, or the job's place in its queue."""

    async def accepted(self, job: Job) -> None:
        """The provider took the task and cannot drop it: cancelling no longer saves anything."""

    async def trouble(self, job: Job) -> None:
        """The provider fails to answer while the runner keeps asking."""

    async def deliver(self, job: Job, jobs: LeasedJobs) -> None:
        """Hand a finished job (succeeded, failed or cancelled) to its user, once, writing through
        the driver's ``jobs`` (fenced by its lease); raise :class:`DeliveryPostponed` to be asked
        again later."""
