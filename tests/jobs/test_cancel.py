"""A user's Cancel: free while the job waits for its turn, and after the provider accepted it only
where the provider drops the task and confirms it; otherwise refused, and the job runs and is paid."""

from __future__ import annotations

import pytest

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.repositories import Repositories
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, USER, MakeWorker, ledger, place, stored
from tests.jobs.fakes import FakeBackend, RecordingEvents, done, pending


async def test_cancel_while_queued_submits_nothing_and_gives_the_credits_back(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """One slot to send jobs: while one job's submission hangs, the other waits in ``queued``.
    Cancelling it settles it at once; the provider never hears of it, and the cancellation is
    delivered. The first job carries on when the provider answers."""
    worker = workers(database, max_concurrent=1)
    backend.submits_flow.clear()
    backend.script(done(data=RESULT))
    placed = [await place(repos, media), await place(repos, media)]
    await worker.runner.resume()
    await backend.wait_for(lambda: len(backend.submits) == 1)
    sent_id = backend.submits[0].reference
    [waiting] = [job for job in placed if job.id != sent_id]
    waiting = await stored(repos, waiting.id)
    assert waiting.state == JobState.QUEUED and worker.runner.cancellable(waiting)

    assert not await worker.runner.cancel(waiting.id, USER + 1)  # only its own user may
    assert await worker.runner.cancel(waiting.id, USER)
    delivered = await events.delivered(waiting.id)
    assert (delivered.job.state, delivered.job.error) == (JobState.CANCELLED, "cancelled")

    backend.submits_flow.set()
    await events.delivered(sent_id)
    await worker.runner.idle()
    assert [submit.reference for submit in backend.submits] == [sent_id]
    cancelled, sent = await stored(repos, waiting.id), await stored(repos, sent_id)
    assert (cancelled.state, cancelled.provider_task_id, cancelled.delivery) == (JobState.CANCELLED, None, "done")
    assert await ledger(repos, waiting.id) == ["hold", "release"]
    assert (sent.state, sent.delivery) == (JobState.SUCCEEDED, "done")
    assert await ledger(repos, sent_id) == ["hold", "capture"]
    assert await repos.ledger.balance(USER) == DAILY_FREE - PRICE
    assert await repos.ledger.problems() == []
    assert events.counts() == {waiting.id: 1, sent_id: 1}
    assert backend.cancels == []


async def test_cancel_after_acceptance_at_a_provider_that_drops_the_task(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The provider drops accepted tasks on request and confirms it: the running job is
    cancelled, its credits given back, and it is no longer polled."""
    worker = workers(database, cancellable=True)
    backend.script(pending(progress=10))
    job = await place(repos, media)
    await worker.runner.resume()
    await backend.wait_for(lambda: bool(backend.queries))
    job = await stored(repos, job.id)
    assert job.state == JobState.RUNNING and worker.runner.cancellable(job)

    assert await worker.runner.cancel(job.id, USER)
    asked = len(backend.queries)
    delivered = await events.delivered(job.id)
    await worker.runner.idle()

    assert (delivered.job.state, delivered.job.error) == (JobState.CANCELLED, "cancelled")
    assert backend.cancels == ["task-1"] and len(backend.queries) == asked
    final = await stored(repos, job.id)
    assert (final.state, final.delivery, final.owner) == (JobState.CANCELLED, "done", None)
    assert await ledger(repos, job.id) == ["hold", "release"]
    assert await repos.ledger.balance(USER) == DAILY_FREE
    assert events.counts() == {job.id: 1}
    assert events.accepted_jobs == []  # the Cancel button stayed: cancelling still saves the work


@pytest.mark.parametrize(
    ("cancellable", "confirms", "asked_to_drop"),
    [(False, True, []), (True, False, ["task-1"])],
    ids=["provider-cannot-drop", "drop-not-confirmed"],
)
async def test_cancel_after_acceptance_is_refused_where_the_task_runs_on_and_the_job_is_paid(
    cancellable: bool,
    confirms: bool,
    asked_to_drop: list[str],
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """A provider that cannot drop an accepted task (it is not asked), or does not confirm
    dropping it: the cancel is refused, the job runs to its result and its credits are captured."""
    worker = workers(database, cancellable=cancellable)
    backend.confirms_cancel = confirms
    backend.script(pending(progress=10))
    job = await place(repos, media)
    await worker.runner.resume()
    await backend.wait_for(lambda: bool(backend.queries))
    job = await stored(repos, job.id)
    assert job.state == JobState.RUNNING and worker.runner.cancellable(job) == cancellable

    assert not await worker.runner.cancel(job.id, USER)
    assert backend.cancels == asked_to_drop
    assert (await stored(repos, job.id)).state == JobState.RUNNING
    assert await ledger(repos, job.id) == ["hold"]

    backend.script(done(data=RESULT))
    delivered = await events.delivered(job.id)
    await worker.runner.idle()
    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert await repos.ledger.balance(USER) == DAILY_FREE - PRICE
    assert events.counts() == {job.id: 1}
    # Told at once that Cancel no longer saves anything (where the provider cannot drop tasks).
    assert events.accepted_jobs == ([] if cancellable else [job.id])
