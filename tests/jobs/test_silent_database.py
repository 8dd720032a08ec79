"""A job whose driver's write goes to a PostgreSQL connection that fell silent (the server, or
what stands in front of it, takes the bytes and never answers) while the process's other
connections, and new ones, work: the write is given up in time and the job is driven on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.ops.media import MediaStore
from bot.storage.jobs import JobState
from bot.storage.postgres import PostgresStore
from tests.conftest import postgres_schema
from tests.fakes.stalling import StallingRelay
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, MakeWorker, ledger, place, stored
from tests.jobs.fakes import FakeBackend, RecordingEvents, done, pending

#: Seconds a lease lasts; each statement of the job path may wait keeper.STATEMENT_TIMEOUT of it.
LEASE = 3.0
#: The longest the test waits for the job's delivery: a few leases.
DELIVERY_WAIT = 6 * LEASE


@pytest.fixture
async def relay() -> AsyncIterator[StallingRelay]:
    relay = StallingRelay(await postgres_schema())
    await relay.start()
    yield relay
    await relay.stop()


async def test_a_driver_write_on_a_silent_connection_is_given_up_and_the_job_still_delivered(
    relay: StallingRelay, media: MediaStore, backend: FakeBackend, events: RecordingEvents, workers: MakeWorker
) -> None:
    """The driver stores the task's first progress on a connection that never answers again.
    Before, the write had no time limit: it held the driver for good, cancelling it included,
    while the keeper renewed the lease on the other connections; the job was neither finished nor
    taken over, and the user never got the photo. Now the write is given up after
    STATEMENT_TIMEOUT of the lease, the job is handed back as stored, and the next look drives it
    on: the task already sent is followed, not sent again."""
    store = await PostgresStore.open(relay.url)
    worker = workers(store, "a", lease=LEASE)
    try:
        backend.script(pending(progress=10), done(data=RESULT))
        relay.stall_one = b"SET progress"  # the driver's write of the task's progress
        job = await place(worker.repos, media)
        await worker.runner.resume()
        delivered = await events.delivered(job.id, timeout=DELIVERY_WAIT)
        await worker.runner.idle()
        await relay.given_up(1, timeout=LEASE)  # the silent connection was closed
        assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
        assert len(backend.submits) == 1 and {query.task_id for query in backend.queries} == {"task-1"}
        final = await stored(worker.repos, job.id)
        assert (final.state, final.delivery, final.owner) == (JobState.SUCCEEDED, "done", None)
        assert await ledger(worker.repos, job.id) == ["hold", "capture"]
        assert await worker.repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
        assert events.counts() == {job.id: 1}
    finally:
        await worker.runner.stop()
        await relay.stop()  # the silent connection, if still pooled, ends, so the pool can close
        await store.close()
