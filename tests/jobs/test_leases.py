"""Two workers on one database: a renewed lease keeps a job with its worker; once that worker
stops renewing (it stalled, or stopped), the other takes the job over, follows the task already
submitted (never sending it again) and delivers it once; the stale worker's writes change
nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.leases import Leases
from bot.storage.repositories import Repositories
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, MakeWorker, ledger, place, stored
from tests.jobs.fakes import FakeBackend, RecordingEvents, UnreachableLeases, done, pending

#: Seconds a lease lasts: renewed every third of it, given up after GIVE_UP of it without a
#: renewal, taken over once it ran out.
LEASE = 1.5


async def lease_left(repos: Repositories, job_id: str) -> tuple[str | None, float]:
    """The job's lease holder, and the seconds its lease still runs by the database's clock."""
    row = await repos.db.fetchone(
        f"SELECT owner, COALESCE(lease_until - {repos.db.clock}, 0) AS left FROM jobs WHERE id = ?", (job_id,)
    )
    assert row is not None
    return row["owner"], float(row["left"])


@pytest.mark.parametrize("how", ["stalled", "stopped"])
async def test_a_renewed_lease_keeps_the_job_and_another_worker_takes_it_over_when_renewals_stop(
    how: str,
    database: Database,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """a submits the job's task and follows it, renewing its lease, while b looks for jobs to
    take. Then a stalls (its lease operations fail: it stops driving the job before its lease
    runs out) or stops (it gives the lease back); b takes the job over and finishes it."""
    a_leases = UnreachableLeases(database, Repositories.on(database, daily_free=DAILY_FREE).jobs)
    a = workers(database, "a", lease=LEASE, leases=a_leases)
    b = workers(database, "b", lease=LEASE)
    repos = b.repos
    # Both work before there is a job: on SQLite a worker's resume takes every unfinished job.
    assert await a.runner.resume() == 0 and await b.runner.resume() == 0
    backend.script(pending(progress=10))
    job = await place(repos, media)
    # Placed and claimed by a within one step of the event loop (SQLite answers at once): b's
    # look for unclaimed jobs cannot come in between.
    assert await repos.leases.claim_one(job.id, "a", LEASE)
    a.runner.start(job.id)

    # For longer than a lease a follows the task and renews its lease; b, looking for jobs
    # every third of a lease, never takes it.
    await backend.wait_for(lambda: bool(backend.queries))
    started = backend.queries[0].at
    await backend.wait_for(lambda: backend.queries[-1].at > started + 1.5 * LEASE)
    owner, left = await lease_left(repos, job.id)
    assert owner == "a" and left > 0
    assert {query.client for query in backend.queries} == {"a"}

    if how == "stalled":  # a can no longer renew (nor claim); its driver stops before the lease runs out
        a_leases.failing = True
    else:
        await a.runner.stop()  # gives the lease back: b takes the job at its next look
    await backend.wait_for(lambda: any(query.client == "b" for query in backend.queries))
    by_a = [query.at for query in backend.queries if query.client == "a"]
    by_b = [query.at for query in backend.queries if query.client == "b"]
    assert max(by_a) < min(by_b)  # never driven by both at once
    running = await stored(repos, job.id)
    assert (running.state, running.owner, running.provider_task_id) == (JobState.RUNNING, "b", "task-1")

    # The stale worker's writes, fenced by the lease, change nothing.
    stale = a.runner.fenced
    assert not await stale.holds(job.id)
    assert not await stale.settle(running, JobState.FAILED, error="interrupted")
    assert not await stale.transition(job.id, (JobState.RUNNING,), JobState.QUEUED)
    assert not await stale.update(job.id, progress=99)
    await stale.hand_back(job.id)
    assert await stored(repos, job.id) == running
    assert await ledger(repos, job.id) == ["hold"]

    backend.script(done(data=RESULT))
    delivered = await events.delivered(job.id)
    await b.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert len(backend.submits) == 1  # followed, never submitted again
    assert {query.task_id for query in backend.queries} == {"task-1"}
    final = await stored(repos, job.id)
    assert (final.state, final.delivery, final.owner) == (JobState.SUCCEEDED, "done", None)
    assert not await stale.end_delivery(job.id)
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert await repos.ledger.problems() == []
    assert events.counts() == {job.id: 1}


async def test_a_worker_does_not_take_a_job_whose_lease_another_renews(
    database: Database,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """Starting a job (as a new job's announcement does) claims it only if no one else's lease
    on it runs: b's driver gives up at once and the job stays a's."""
    a = workers(database, "a", lease=LEASE)
    b = workers(database, "b", lease=LEASE)
    backend.script(pending())
    job = await place(a.repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: bool(backend.queries))
    b.runner.start(job.id)
    await b.runner.idle()
    owner, left = await lease_left(a.repos, job.id)
    assert owner == "a" and left > 0
    assert (await stored(a.repos, job.id)).state == JobState.RUNNING
    assert {query.client for query in backend.queries} == {"a"} and len(backend.submits) == 1


class SlowRenewals(Leases):
    """A worker's leases whose job claims and lease renewals wait, each for its own event, while
    ``hold`` is set: a test orders a claim and a renewal that overlap."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.hold = False
        self.claiming, self.claim_go = asyncio.Event(), asyncio.Event()
        self.renewing, self.renew_go, self.renewed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def claim_one(self, job_id: str, owner: str, lease: float, *, timeout: float | None = None) -> bool:
        if self.hold:
            self.claiming.set()
            await self.claim_go.wait()
        return await super().claim_one(job_id, owner, lease, timeout=timeout)

    async def renew(
        self, owner: str, lease: float, job_ids: Collection[str] | None = None, *, timeout: float | None = None
    ) -> set[str]:
        if not (self.hold and self.claiming.is_set()):
            return await super().renew(owner, lease, job_ids, timeout=timeout)
        self.renewing.set()
        await self.renew_go.wait()
        still = await super().renew(owner, lease, job_ids, timeout=timeout)
        self.renewed.set()  # the worker reads ``still`` before the test hears of it
        return still


async def test_a_job_claimed_while_a_renewal_is_under_way_is_not_taken_for_lost(
    database: Database,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """A worker's claim of a new job is under way when its renewal of the leases it holds begins,
    and comes back first: the renewal did not name the new job, so the job's absence from it is no
    sign that another has it. (It was taken for lost: the worker stopped driving it mid-submission,
    and the worker that took it over when the lease ran out failed it as interrupted.)"""
    slow = SlowRenewals(database, Repositories.on(database, daily_free=DAILY_FREE).jobs)
    a = workers(database, "a", lease=LEASE, leases=slow)
    backend.script(pending(progress=10))
    first = await place(a.repos, media)
    assert await a.runner.resume() == 1  # holds one job, so its renewals ask the database
    await backend.wait_for(lambda: bool(backend.queries))
    slow.hold = True
    second = await place(a.repos, media)
    await a.runner.announce(second.id)
    await asyncio.wait_for(slow.claiming.wait(), 5)  # the claim of ``second`` is under way ...
    await asyncio.wait_for(slow.renewing.wait(), 5)  # ... when a renewal of ``first`` begins
    backend.submits_flow.clear()  # the provider is slow to take the submission ...
    slow.claim_go.set()  # ... the claim comes back first, and the job's task is being submitted
    await backend.wait_for(lambda: len(backend.submits) == 2)
    slow.renew_go.set()  # then the renewal, which did not name it
    await asyncio.wait_for(slow.renewed.wait(), 5)  # and what the worker made of it
    slow.hold = False
    backend.submits_flow.set()
    backend.script(done(data=RESULT))
    for job in (first, second):
        delivered = await events.delivered(job.id)
        assert delivered.job.state == JobState.SUCCEEDED
    assert len(backend.submits) == 2
    assert events.counts() == {first.id: 1, second.id: 1}
