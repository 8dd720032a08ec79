"""The database failing under the job runner (a connection lost in a failover, a full disk, a lock
held too long): a job whose provider has its task is neither failed nor refunded for it, and is
never left without a driver; the task the provider accepted is stored through a passing error;
the lease keeper's look for jobs cannot hold up its renewals; a restart claims every unfinished
job at once."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import Job, JobState
from bot.storage.leases import Leases
from bot.storage.repositories import Repositories
from providers.errors import ProviderError
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, MakeWorker, ledger, place, stored
from tests.jobs.fakes import FakeBackend, RecordingEvents, UnreachableLeases, done, failed, pending

#: Seconds a lease lasts (the keeper looks for jobs left unclaimed every third of it).
LEASE = 1.5


class FailingDatabase(Database):
    """The test's SQLite database, whose next statements matching a pattern fail as a disk or a
    lost connection makes them fail (``fail``)."""

    faults: list[tuple[re.Pattern[str], int]]
    #: What a failing statement raises: SQLite's error of a disk, unless a test sets another.
    error: Callable[[], Exception] = staticmethod(lambda: sqlite3.OperationalError("disk I/O error"))
    #: Statements that fail only once made: the change is kept, its answer lost (a connection that
    #: dropped after the commit).
    answers_lost: list[tuple[re.Pattern[str], int]]

    def fail(self, pattern: str, times: int) -> None:
        """The next ``times`` statements that match ``pattern`` raise sqlite3.OperationalError."""
        self.faults = [*getattr(self, "faults", []), (re.compile(pattern), times)]

    def lose_answer(self, pattern: str, times: int) -> None:
        """The next ``times`` writes that match ``pattern`` are made, then raise as if their answer
        was lost."""
        self.answers_lost = [*getattr(self, "answers_lost", []), (re.compile(pattern), times)]

    @staticmethod
    def _due(rules: list[tuple[re.Pattern[str], int]], sql: str) -> bool:
        for index, (pattern, left) in enumerate(rules):
            if left and pattern.search(sql):
                rules[index] = (pattern, left - 1)
                return True
        return False

    def _check(self, sql: str) -> None:
        if self._due(getattr(self, "faults", []), sql):
            raise self.error()

    async def write(self, sql: str, params: Any = (), *, timeout: float | None = None) -> int:
        self._check(sql)
        changed = await super().write(sql, params, timeout=timeout)
        if self._due(getattr(self, "answers_lost", []), sql):
            raise sqlite3.OperationalError("disk I/O error")
        return changed

    async def fetchone(self, sql: str, params: Any = (), *, timeout: float | None = None) -> sqlite3.Row | None:
        self._check(sql)
        return await super().fetchone(sql, params, timeout=timeout)


class LookupFailingEvents(RecordingEvents):
    """The runner's events, whose status news fails ``failing`` times as the bot's fails when the
    database cannot give it the user's language."""

    failing = 0

    async def progress(self, job: Job, percent: int, queue_position: int | None) -> None:
        if self.failing:
            self.failing -= 1
            raise sqlite3.OperationalError("database is locked")
        await super().progress(job, percent, queue_position)


@pytest.fixture
def events(media: MediaStore) -> RecordingEvents:
    return LookupFailingEvents(media)


@pytest.fixture
async def failing(tmp_path: Path) -> AsyncIterator[FailingDatabase]:
    """A connection to the test's database file (``database``'s) that fails on demand; set up
    before the workers that use it, so it closes after they stop."""
    db = await FailingDatabase.open(tmp_path / "jobs.sqlite3")
    assert isinstance(db, FailingDatabase)
    yield db
    await db.close()


#: What a query raises when the database fails it: SQLite's error of a disk, and asyncpg's when
#: PostgreSQL ended the pooled connection under the query (a server restart, pg_terminate_backend):
#: not a PostgresError nor an InterfaceError, it was taken for the job's own error.
ERRORS = {
    "sqlite": lambda: sqlite3.OperationalError("disk I/O error"),
    "postgres-connection-ended": lambda: asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    ),
}


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("failures", [1, 3])
async def test_a_database_error_while_a_task_runs_neither_fails_nor_refunds_the_job(
    error: str,
    failures: int,
    failing: FailingDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The provider works on the task when the driver's reads of the job fail (``failures`` in a
    row): the provider will charge for the task, so the job is not failed and refunded for it;
    its lease is handed back, the keeper's next look drives it again, and it is delivered once,
    paid."""
    a = workers(failing, "a", lease=LEASE)
    backend.script(pending(progress=10), pending(progress=10), pending(progress=10), done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.queries) >= 1)
    failing.error = ERRORS[error]
    failing.fail(r"^SELECT \* FROM jobs WHERE id = \?$", failures)

    delivered = await events.delivered(job.id)
    await a.runner.idle()
    final = await stored(repos, job.id)
    assert delivered.job.state == final.state == JobState.SUCCEEDED and final.delivery == "done"
    assert events.counts() == {job.id: 1} and len(backend.submits) == 1
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert failing.faults[0][1] == 0  # every failure happened


async def test_a_task_the_provider_accepted_is_stored_through_a_passing_database_error(
    failing: FailingDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The write that stores the accepted task's id fails twice: it is tried again, the task is
    followed, and the job is delivered once, paid (lost, the job would have been failed as
    interrupted and refunded while the provider charged for the task)."""
    a = workers(failing, "a", lease=LEASE)
    backend.script(done(data=RESULT))
    failing.fail(r"provider_task_id = \?", 2)
    job = await place(repos, media)
    await a.runner.resume()

    await events.delivered(job.id)
    await a.runner.idle()
    final = await stored(repos, job.id)
    assert (final.state, final.provider_task_id) == (JobState.SUCCEEDED, "task-1")
    assert len(backend.submits) == 1 and events.counts() == {job.id: 1}
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert failing.faults[0][1] == 0


async def test_a_task_the_provider_accepted_is_stored_however_long_the_database_fails(
    failing: FailingDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The write that stores the accepted task fails six times in a row (a failover takes its
    seconds): it is tried until it is written, and the job is delivered once, paid. Before, it was
    given up after four tries (about three seconds): the job was failed as interrupted and
    refunded while the provider charged for the task."""
    a = workers(failing, "a", lease=LEASE)
    backend.script(done(data=RESULT))
    failing.fail(r"provider_task_id = \?", 6)
    job = await place(repos, media)
    await a.runner.resume()

    delivered = await events.delivered(job.id)
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert len(backend.submits) == 1 and events.counts() == {job.id: 1}
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert failing.faults[0][1] == 0


async def test_a_task_accepted_while_the_database_is_out_of_reach_is_stored_once_it_is_back(
    failing: FailingDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The database goes out of reach as the provider accepts the submission, for longer than the
    worker keeps driving a job it cannot renew: the worker stops driving it, but the write of the
    accepted task goes on (it changes nothing if another worker took the job over) and is made
    once the database is back; the job is then followed and delivered once, paid. Before, the
    write was cut with the driver: the job was failed as interrupted and refunded while the
    provider charged for the task."""
    leases = UnreachableLeases(failing, Repositories.on(failing, daily_free=DAILY_FREE).jobs)
    a = workers(failing, "a", lease=LEASE, leases=leases)
    backend.submits_flow.clear()  # the provider takes the submission when the database is gone
    backend.script(done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.submits) == 1)
    leases.failing = True
    failing.fail(r"provider_task_id = \?", 10_000)
    backend.submits_flow.set()
    await a.runner.idle()  # a stopped driving the job: its lease could not be renewed
    assert (await stored(repos, job.id)).state == JobState.SUBMITTING

    leases.failing = False  # the database is back
    failing.faults.clear()
    delivered = await events.delivered(job.id)
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert len(backend.submits) == 1 and events.counts() == {job.id: 1}
    assert await ledger(repos, job.id) == ["hold", "capture"]


class HangingLooks(Leases):
    """Leases whose look for jobs to claim waits without end after the first (a pool with no
    connection to spare, and no timeout) unless not ``hang``; renewals counted."""

    def __init__(self, *args: Any, hang: bool = True) -> None:
        super().__init__(*args)
        self.hang = hang
        self.looks = 0
        self.renewals = 0
        self.renewed = asyncio.Condition()

    async def claim(
        self, owner: str, lease: float, limit: int, *, take_over: bool = False, timeout: float | None = None
    ) -> list[str]:
        self.looks += 1
        if self.hang and self.looks > 1:
            await asyncio.Event().wait()
        return await super().claim(owner, lease, limit, take_over=take_over, timeout=timeout)

    async def renew(
        self, owner: str, lease: float, job_ids: Collection[str] | None = None, *, timeout: float | None = None
    ) -> set[str]:
        still = await super().renew(owner, lease, job_ids, timeout=timeout)
        async with self.renewed:
            self.renewals += 1
            self.renewed.notify_all()
        return still


async def test_a_look_for_jobs_that_hangs_does_not_stop_the_renewals(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The keeper's look for jobs to claim hangs: it gives up in time, as a renewal does, and the
    renewals go on, so the job keeps its lease and its driver (before, the keeper waited in that
    look for good: no renewal, no giving up, and the lease ran out under a driver that could
    still send a task another worker would fail as interrupted)."""
    leases = HangingLooks(repos.db, repos.jobs)
    a = workers(database, "a", lease=LEASE, leases=leases)
    backend.script(pending(progress=10))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.queries) >= 1)
    async with leases.renewed:
        await asyncio.wait_for(leases.renewed.wait_for(lambda: leases.looks >= 3 and leases.renewals >= 3), 10)
    held = await stored(repos, job.id)
    assert held.owner == "a" and held.state == JobState.RUNNING
    backend.script(done(data=RESULT))
    await events.delivered(job.id)
    assert len(backend.submits) == 1 and events.counts() == {job.id: 1}


async def test_a_restart_claims_every_unfinished_job_batch_after_batch(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    workers: MakeWorker,
) -> None:
    """150 unfinished jobs at start, claimed 100 at a time: the second batch holds the other 50
    (it took the first 100 again, and those 50 waited for the next look)."""
    backend.submits_flow.clear()
    ids = {(await place(repos, media, price=0)).id for _ in range(150)}
    a = workers(database, "a", stop_grace=0.0)
    assert await a.runner.resume() == 150
    assert a.runner.driving() == 150
    rows = await repos.db.fetchall("SELECT id FROM jobs WHERE owner = 'a'")
    assert {row["id"] for row in rows} == ids


async def test_a_task_id_stored_though_its_answer_was_lost_is_taken_as_stored(
    failing: FailingDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The write that stores the accepted task is made but its answer lost: trying it again finds the
    job running with that task, held here, and that is this driver's own change. A synchronous
    provider's result, which came with the submission, is delivered (before, the driver took the
    change for another worker's and dropped the result; the provider is never asked again)."""
    a = workers(failing, "a", lease=LEASE)
    backend.submit_status = done(data=RESULT)
    backend.script(failed(ProviderError("asked again")))
    failing.lose_answer(r"provider_task_id = \?", 1)
    job = await place(repos, media)
    await a.runner.resume()

    delivered = await events.delivered(job.id)
    await a.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert backend.queries == [] and len(backend.submits) == 1
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert failing.answers_lost[0][1] == 0


async def test_an_os_error_of_the_disk_not_the_database_still_fails_the_job_once(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The result cannot be written (the results folder is not a folder): an OSError, but not the
    database's. The job fails and its credits are released, once, as before: it is not left for
    another look (which would download and fail again, without end)."""
    a = workers(database, "a", lease=LEASE)
    backend.script(done(data=RESULT))
    results = media.root / "results"
    results.rmdir()
    results.write_bytes(b"")
    job = await place(repos, media)
    await a.runner.resume()

    delivered = await events.delivered(job.id)
    await a.runner.idle()
    assert (delivered.job.state, delivered.job.error) == (JobState.FAILED, "internal_error")
    assert len(backend.queries) == 1 and len(backend.submits) == 1
    assert await ledger(repos, job.id) == ["hold", "release"]


async def test_a_stopping_worker_keeps_renewing_its_leases_while_a_submission_finishes(
    database: Database,
    open_database: Callable[[], Awaitable[Database]],
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """a stops while the provider takes longer than a lease to answer its submission: a's leases
    are renewed through the stop's grace, so no other worker takes the job over and fails it as
    interrupted meanwhile; the task is stored, and the next worker follows it (before, the keeper
    stopped first and the lease ran out under the submission)."""
    leases = HangingLooks(repos.db, repos.jobs, hang=False)
    a = workers(database, "a", lease=LEASE, leases=leases)
    backend.submits_flow.clear()
    backend.script(done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.submits) == 1)
    stopping = asyncio.create_task(a.runner.stop())
    await a.runner.idle()  # the stop cancelled a's driver, not its submission
    renewed = leases.renewals
    async with leases.renewed:  # a lease and more
        await asyncio.wait_for(leases.renewed.wait_for(lambda: leases.renewals >= renewed + 4), 10)
    held = await stored(repos, job.id)
    assert (held.state, held.owner) == (JobState.SUBMITTING, "a") and not stopping.done()
    backend.submits_flow.set()
    await stopping
    left = await stored(repos, job.id)
    assert (left.state, left.provider_task_id, left.owner) == (JobState.RUNNING, "task-1", None)

    b = workers(await open_database(), "b", lease=LEASE)
    await b.runner.resume()
    delivered = await events.delivered(job.id)
    assert delivered.job.state == JobState.SUCCEEDED and len(backend.submits) == 1
    assert await ledger(repos, job.id) == ["hold", "capture"]


async def test_a_status_that_cannot_be_shown_for_the_database_fails_nothing(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """Showing the task's progress fails twice (the database could not give the user's language):
    the job is followed on and delivered, paid (before, it was failed and refunded while the
    provider charged for the task)."""
    assert isinstance(events, LookupFailingEvents)
    events.failing = 2
    a = workers(database, "a", lease=LEASE)
    backend.script(pending(progress=10), pending(progress=40), pending(progress=70), done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()

    delivered = await events.delivered(job.id)
    await a.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and events.failing == 0
    assert len(backend.submits) == 1 and events.counts() == {job.id: 1}
    assert await ledger(repos, job.id) == ["hold", "capture"]


async def test_a_result_whose_measure_fails_for_the_database_is_delivered_without_it(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """Measuring the finished photo for its caption reads the database (a bought preview's
    placement), which fails: the photo is delivered without its measurements, paid (before, the
    job failed and was refunded while the provider charged for the task)."""
    measured: list[Path] = []

    async def measure(job: Job, photo: Path) -> dict[str, Any] | None:
        measured.append(photo)
        raise sqlite3.OperationalError("database is locked")

    a = workers(database, "a", lease=LEASE, measure=measure)
    backend.script(done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()

    delivered = await events.delivered(job.id)
    await a.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,) and len(measured) == 1
    assert delivered.job.result is not None and delivered.job.result.placement is None
    assert delivered.job.result.unmeasured  # its caption says it could not be measured
    assert await ledger(repos, job.id) == ["hold", "capture"]
