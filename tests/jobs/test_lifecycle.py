"""A job from queued to delivered: what is stored (state, result, the ledger, the lease) and what
the runner reported."""

from __future__ import annotations

import pytest

from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.repositories import Repositories
from providers.errors import QuotaExceeded
from tests.jobs.conftest import (
    DAILY_FREE,
    INPUT,
    PRICE,
    RESULT,
    DeliverOne,
    MakeWorker,
    ResultFiles,
    ledger,
    place,
    stored,
)
from tests.jobs.fakes import FakeBackend, FakeOrder, RecordingEvents, done, pending


@pytest.mark.parametrize("inlined", [True, False], ids=["bytes", "url"])
async def test_a_job_runs_to_success_and_is_delivered_once(
    inlined: bool,
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
    result_files: ResultFiles,
) -> None:
    """The provider takes the task, reports 40 %, then the result: inlined, or as a link the
    runner downloads. The result is stored, the credits captured, the lease given back, and the
    job delivered once, with the result."""
    worker = workers(database)
    job = await place(repos, media)
    assert await ledger(repos, job.id) == ["hold"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    result = done(data=RESULT) if inlined else done(url=result_files.publish("result.jpg", RESULT))
    backend.script(pending(progress=40), result)
    await worker.runner.resume()

    delivered = await events.delivered(job.id)
    await worker.runner.idle()

    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    [submit] = backend.submits
    assert (submit.reference, submit.order, submit.callback_url) == (job.id, FakeOrder(), None)
    assert submit.image is not None and submit.image.data == INPUT
    assert [query.task_id for query in backend.queries] == ["task-1", "task-1"]
    assert result_files.fetched == ([] if inlined else ["result.jpg"])
    final = await stored(repos, job.id)
    assert (final.state, final.progress, final.provider_task_id) == (JobState.SUCCEEDED, 100, "task-1")
    assert (final.delivery, final.owner, final.error) == ("done", None, None)
    assert final.result is not None and [media.read(ref) for ref in final.result.files] == [RESULT]
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert await repos.ledger.problems() == []
    assert events.counts() == {job.id: 1}
    assert events.accepted_jobs == [job.id]  # the provider cannot drop the task: Cancel is gone
    assert events.progressed == [(job.id, 40, None)]
    assert events.troubled == []


async def test_a_submission_the_provider_refuses_fails_the_job_and_gives_the_credits_back(
    repos: Repositories, backend: FakeBackend, events: RecordingEvents, deliver_one: DeliverOne
) -> None:
    backend.submit_error = QuotaExceeded("fake: no uses left", status=402, provider="fake")
    delivered, _worker = await deliver_one()
    job = delivered.job

    assert (delivered.job.state, delivered.job.error) == (JobState.FAILED, "provider_quota")
    assert len(backend.submits) == 1 and backend.queries == []
    final = await stored(repos, job.id)
    assert (final.state, final.delivery, final.owner) == (JobState.FAILED, "done", None)
    assert await ledger(repos, job.id) == ["hold", "release"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE
    assert events.counts() == {job.id: 1}


async def test_a_rerun_safe_providers_pending_task_is_submitted_once_and_followed(
    repos: Repositories, backend: FakeBackend, events: RecordingEvents, deliver_one: DeliverOne
) -> None:
    """A provider whose submission has no side effect (``rerun_safe``: a job interrupted by a
    restart is run again) and that answers with a pending task: the driver that just submitted it
    follows it; it does not take its own running job for an interrupted one and send it again."""
    backend.script(pending(progress=50), done(data=RESULT))
    delivered, _worker = await deliver_one(rerun_safe=True)
    job = delivered.job

    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert len(backend.submits) == 1 and len(backend.queries) == 2
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert events.counts() == {job.id: 1}


@pytest.mark.parametrize("answer", ["result", "queue-position"])
async def test_what_the_submission_answers_with(
    answer: str, repos: Repositories, backend: FakeBackend, events: RecordingEvents, deliver_one: DeliverOne
) -> None:
    """A synchronous provider answers the submission with the result: the job is finished without
    a status query. A queue answers with the task's place in it, shown at once (in place of the
    "accepted" note: the status message shows the place)."""
    backend.submit_status = done(data=RESULT) if answer == "result" else pending(queue_position=3)
    backend.script(done(data=RESULT))
    delivered, _worker = await deliver_one()
    job = delivered.job

    assert delivered.job.state == JobState.SUCCEEDED and delivered.files == (RESULT,)
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert events.counts() == {job.id: 1}
    if answer == "result":
        assert backend.queries == [] and events.progressed == [] and events.accepted_jobs == []
    else:
        assert len(backend.queries) == 1
        assert events.progressed == [(job.id, 0, 3)] and events.accepted_jobs == []
