"""A worker stopped mid-job (a restart, a deploy), and the worker that starts next on the same
database: a task the provider has is followed and delivered once; a job stopped while it was
being submitted is never sent twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.repositories import Repositories
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, MakeWorker, ledger, place, stored
from tests.jobs.fakes import FakeBackend, RecordingEvents, done, pending

OpenDatabase = Callable[[], Awaitable[Database]]


async def test_a_worker_stopped_mid_job_is_resumed_by_the_next_and_the_job_delivered_once(
    database: Database,
    open_database: OpenDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """a submits the task and follows it, then stops: the job stays ``running`` with its task and
    no lease holder. b, a new process on the same database file, claims it at start, asks the
    provider at once (the task may have finished meanwhile) and delivers it."""
    a = workers(database, "a")
    backend.script(pending(progress=30))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: bool(backend.queries))
    await a.runner.stop()

    left = await stored(repos, job.id)
    assert (left.state, left.provider_task_id, left.owner, left.delivery) == (JobState.RUNNING, "task-1", None, None)
    assert await ledger(repos, job.id) == ["hold"] and events.deliveries == []

    backend.script(done(data=RESULT))
    b = workers(await open_database(), "b")
    assert await b.runner.resume() == 1
    delivered = await events.delivered(job.id)
    await b.runner.idle()

    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert len(backend.submits) == 1
    assert [query.client for query in backend.queries][-1] == "b" and b.pauses.asked == []  # asked at once
    final = await stored(b.repos, job.id)
    assert (final.state, final.delivery, final.owner) == (JobState.SUCCEEDED, "done", None)
    assert await ledger(b.repos, job.id) == ["hold", "capture"]
    assert await b.repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert events.counts() == {job.id: 1}


@pytest.mark.parametrize("rerun_safe", [False, True], ids=["paid-submission", "rerun-safe"])
async def test_a_job_found_submitting_is_never_sent_twice(
    rerun_safe: bool,
    database: Database,
    open_database: OpenDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """a is stopped while the provider has not answered its submission, and the provider does not
    answer within the stop's grace (none here): the provider may or may not have the task. The
    next worker fails the job and gives its credits back, without sending it again; only a
    provider whose submission has no side effect (``rerun_safe``) gets it again."""
    a = workers(database, "a", rerun_safe=rerun_safe, stop_grace=0.0)
    backend.submits_flow.clear()
    backend.script(done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.submits) == 1)
    await a.runner.stop()
    left = await stored(repos, job.id)
    assert (left.state, left.provider_task_id, left.owner) == (JobState.SUBMITTING, None, None)

    backend.submits_flow.set()
    b = workers(await open_database(), "b", rerun_safe=rerun_safe)
    assert await b.runner.resume() == 1
    delivered = await events.delivered(job.id)
    await b.runner.idle()

    final = await stored(b.repos, job.id)
    assert events.counts() == {job.id: 1} and final.delivery == "done"
    if rerun_safe:
        assert len(backend.submits) == 2
        assert delivered.job.state == final.state == JobState.SUCCEEDED
        assert await ledger(b.repos, job.id) == ["hold", "capture"]
        assert await b.repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    else:
        assert len(backend.submits) == 1 and backend.queries == []
        assert (final.state, final.error) == (JobState.FAILED, "interrupted")
        assert await ledger(b.repos, job.id) == ["hold", "release"]
        assert await b.repos.ledger.balance(job.user_id) == DAILY_FREE


async def test_a_worker_stopped_while_the_provider_takes_a_submission_lets_it_finish(
    database: Database,
    open_database: OpenDatabase,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """a is stopped (a deploy) while the provider is taking its submission: the stop waits for the
    answer, within its grace, and stores the task before handing the job back; the next worker
    follows that task and delivers the job once, paid (cut, the job was failed as interrupted and
    refunded while the provider charged for the task)."""
    a = workers(database, "a")
    backend.submits_flow.clear()
    backend.script(done(data=RESULT))
    job = await place(repos, media)
    await a.runner.resume()
    await backend.wait_for(lambda: len(backend.submits) == 1)
    stopping = asyncio.create_task(a.runner.stop())
    await a.runner.idle()  # the stop cancelled a's driver, not its submission
    assert not stopping.done() and (await stored(repos, job.id)).state == JobState.SUBMITTING
    backend.submits_flow.set()
    await stopping
    left = await stored(repos, job.id)
    assert (left.state, left.provider_task_id, left.owner) == (JobState.RUNNING, "task-1", None)
    assert backend.queries == [] and events.deliveries == []

    b = workers(await open_database(), "b")
    assert await b.runner.resume() == 1
    delivered = await events.delivered(job.id)
    await b.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and len(backend.submits) == 1
    assert events.counts() == {job.id: 1}
    assert await ledger(b.repos, job.id) == ["hold", "capture"]
