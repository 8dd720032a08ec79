"""A worker stopping in the loop step something wakes it: a provider's callback wakes a job's driver,
or a job announced when the worker had no room wakes its lease keeper. The stop ends them. Before,
asyncio.wait_for (Python 3.11) returned the wake-up and dropped the cancellation: the driver went on
asking the provider (and a driver whose lease was lost went on driving the job), the keeper went on
renewing, and the stopping worker waited for them for good, until it was killed."""

from __future__ import annotations

import asyncio

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.repositories import Repositories
from tests.jobs.conftest import MakeWorker, place, stored
from tests.jobs.fakes import FakeBackend, pending

#: Seconds a stop may take here: nothing is under way but the waits the stop cancels.
STOP = 5.0


async def test_a_worker_stopping_as_a_callback_wakes_a_job_stops(
    database: Database, repos: Repositories, media: MediaStore, backend: FakeBackend, workers: MakeWorker
) -> None:
    worker = workers(database, public_url="https://bot.example", poll_interval=30, calls_back=True)
    backend.script(pending(progress=10))
    job = await place(repos, media)
    await worker.runner.resume()
    await worker.pauses.wait_for(lambda: len(worker.pauses.asked) == 1)
    await asyncio.sleep(0)  # one step: the driver is in its wait

    worker.runner.wake(job.id)
    await asyncio.wait_for(worker.runner.stop(), STOP)
    assert backend.queries == []  # not asked after the stop
    held = await stored(repos, job.id)
    assert (held.state, held.owner) == (JobState.RUNNING, None)  # given back, for the next worker


async def test_a_worker_stopping_as_a_job_is_announced_stops(
    database: Database, repos: Repositories, workers: MakeWorker
) -> None:
    worker = workers(database)
    await worker.runner.resume()
    await asyncio.sleep(0)  # one step: the lease keeper is in its wait (SQLite answers at once)

    worker.runner.keeper.look_again()
    await asyncio.wait_for(worker.runner.stop(), STOP)
