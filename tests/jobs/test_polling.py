"""Following a task: the waits between polls (backoff, caps, callbacks waking the job), answers
that are garbled or do not come, and the job's deadline."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.jobs.driver import MAX_BAD_ANSWERS, NO_CALLBACK_MAX_POLLS, POLL_BACKOFF
from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import JobState
from bot.storage.repositories import Repositories
from providers.errors import (
    AuthenticationError,
    BadResponse,
    InvalidImage,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimited,
    ServerError,
    UnexpectedStatus,
)
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, DeliverOne, MakeWorker, Worker, ledger, place, stored
from tests.jobs.fakes import Answer, FakeBackend, RecordingEvents, done, failed, pending

PUBLIC_URL = "https://bot.example"
POLL = 0.02


def garbled() -> BadResponse:
    return BadResponse("fake: answer not as documented", provider="fake", data="<html>502</html>")


#: Runs one job to its delivery: ``await run_job(answers, deadline=..., **worker_args)`` places
#: it, scripts the provider's answers to its status queries, runs a worker until the job is
#: delivered; the job's id and the worker.
RunJob = Callable[..., Awaitable[tuple[str, Worker]]]


@pytest.fixture
def run_job(backend: FakeBackend, deliver_one: DeliverOne) -> RunJob:
    async def run(answers: list[Answer], *, deadline: float = 600.0, **worker_args: Any) -> tuple[str, Worker]:
        backend.script(*answers)
        delivered, worker = await deliver_one(deadline=deadline, **{"poll_interval": POLL, **worker_args})
        return delivered.job.id, worker

    return run


async def assert_succeeded(repos: Repositories, events: RecordingEvents, job_id: str) -> None:
    job = await stored(repos, job_id)
    assert (job.state, job.delivery, job.owner) == (JobState.SUCCEEDED, "done", None)
    assert await ledger(repos, job_id) == ["hold", "capture"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert events.counts() == {job_id: 1} and events.delivered_to(job_id)[0].files == (RESULT,)


async def assert_failed(repos: Repositories, events: RecordingEvents, job_id: str, error: str) -> None:
    """Failed with ``error``, its credits given back, delivered once."""
    job = await stored(repos, job_id)
    assert (job.state, job.error, job.delivery, job.owner) == (JobState.FAILED, error, "done", None)
    assert await ledger(repos, job_id) == ["hold", "release"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE
    assert events.counts() == {job_id: 1}


# --- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls_back", "public_url", "waits"),
    [
        # No callbacks: the wait grows by half each time, to NO_CALLBACK_MAX_POLLS poll intervals.
        (False, PUBLIC_URL, [0.02, 0.03, 0.045, 0.06, 0.06, 0.06, 0.06]),
        # Callbacks wake the job: the wait grows to jobs.max_poll_interval (0.1 s here).
        (True, PUBLIC_URL, [0.02, 0.03, 0.045, 0.0675, 0.1, 0.1, 0.1]),
        # A provider that would call back, but the bot has no public URL to call: as without.
        (True, "", [0.02, 0.03, 0.045, 0.06, 0.06, 0.06, 0.06]),
    ],
    ids=["no-callbacks", "callbacks", "callbacks-without-public-url"],
)
async def test_polling_intervals_grow_by_the_backoff_and_are_capped(
    calls_back: bool,
    public_url: str,
    waits: list[float],
    repos: Repositories,
    backend: FakeBackend,
    events: RecordingEvents,
    deliver_one: DeliverOne,
) -> None:
    """Six pending answers, then the result: before each of the seven queries (the first one
    after a poll interval, the task was just created) the runner waits longer, up to its cap."""
    assert (POLL_BACKOFF, NO_CALLBACK_MAX_POLLS) == (1.5, 3)  # the waits below are worked out from them
    backend.script(*[pending(progress=10 * n) for n in range(6)], done(data=RESULT))
    delivered, worker = await deliver_one(
        public_url=public_url, max_poll_interval=0.1, poll_interval=POLL, calls_back=calls_back
    )
    job = delivered.job

    assert worker.pauses.asked == pytest.approx(waits)
    assert len(backend.queries) == len(waits)
    # The queries came no sooner than the waits asked for (the first wait follows the submission).
    times = [backend.submits[0].at] + [query.at for query in backend.queries]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, waits, strict=True)), gaps
    expected_url = f"{PUBLIC_URL}/callbacks/fake/{job.id}/{job.callback_secret}" if public_url else None
    assert backend.submits[0].callback_url == expected_url
    assert [percent for _, percent, _ in events.progressed] == [10, 20, 30, 40, 50]  # 0 % was shown already
    await assert_succeeded(repos, events, job.id)


async def test_a_callback_wakes_the_job_and_the_provider_is_asked_at_once(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """The poll interval is half a minute; the provider's callback (announced on the database, as
    the web server does) ends the wait, and the result is fetched at once."""
    worker = workers(database, public_url=PUBLIC_URL, max_poll_interval=60, poll_interval=30, calls_back=True)
    job = await place(repos, media)
    backend.script(done(data=RESULT))
    await worker.runner.resume()
    await worker.pauses.wait_for(lambda: worker.pauses.asked == [30])
    assert backend.queries == []

    woken = time.monotonic()
    await worker.runner.announce_wake(job.id)
    await events.delivered(job.id, timeout=5)

    assert len(backend.queries) == 1 and backend.queries[0].at - woken < 5
    assert worker.pauses.asked == [30]
    await assert_succeeded(repos, events, job.id)


# --- bad answers and errors ------------------------------------------------------------------


@pytest.mark.parametrize("garbled_answers", range(1, MAX_BAD_ANSWERS), ids=lambda n: f"{n}-garbled")
async def test_a_garbled_answer_or_two_are_tolerated(
    garbled_answers: int, run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    """Fewer than MAX_BAD_ANSWERS garbled answers in a row (a well-formed answer with a status of
    no meaning counts as garbled): the runner asks again, the job succeeds. The user is told of
    the trouble once."""
    bad: list[Answer] = [garbled(), UnexpectedStatus("fake: status 7", provider="fake")]
    bad = bad[:garbled_answers]
    job_id, _ = await run_job([*bad, done(data=RESULT)])
    assert len(backend.queries) == garbled_answers + 1
    assert events.troubled == [job_id]
    await assert_succeeded(repos, events, job_id)


async def test_garbled_answers_count_only_in_a_row(
    run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    """A good answer between them starts the count again; the trouble is told each time it starts."""
    answers: list[Answer] = [garbled(), garbled(), pending(progress=50), garbled(), garbled(), done(data=RESULT)]
    job_id, _ = await run_job(answers)
    assert len(backend.queries) == len(answers)
    assert events.troubled == [job_id, job_id]
    await assert_succeeded(repos, events, job_id)


async def test_max_bad_answers_in_a_row_fail_the_job_and_give_its_credits_back(
    run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    job_id, _ = await run_job([garbled()])
    assert len(backend.queries) == MAX_BAD_ANSWERS
    await assert_failed(repos, events, job_id, BadResponse.code)


@pytest.mark.parametrize(
    "error",
    [
        ProviderConnectionError("fake: cannot connect", provider="fake"),
        ProviderTimeout("fake: timed out", provider="fake"),
        RateLimited("fake: HTTP 429", provider="fake", retry_after=1),
        ServerError("fake: HTTP 503", status=503, provider="fake"),
        ServerError("fake: HTTP 500", status=500, provider="fake"),
        ProviderStatusError("fake: HTTP 408", status=408, provider="fake"),
    ],
    ids=lambda err: type(err).__name__ + str(getattr(err, "status", "")),
)
async def test_transient_errors_are_retried(
    error: ProviderError, run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    """An unreachable, busy or failing provider is asked again, however many times in a row
    (here twice MAX_BAD_ANSWERS): the job succeeds once it answers."""
    failures = 2 * MAX_BAD_ANSWERS
    job_id, _ = await run_job([*[error] * failures, done(data=RESULT)])
    assert len(backend.queries) == failures + 1
    assert events.troubled == [job_id]
    await assert_succeeded(repos, events, job_id)


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (AuthenticationError("fake: HTTP 401", status=401, provider="fake"), "provider_auth"),
        (failed(InvalidImage("fake: no face", provider="fake")), "invalid_image"),
    ],
    ids=["query-refused", "task-failed"],
)
async def test_a_query_refused_or_a_task_failed_ends_the_job_at_once(
    answer: Answer, code: str, run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    job_id, _ = await run_job([answer])
    assert len(backend.queries) == 1
    await assert_failed(repos, events, job_id, code)


# --- deadline --------------------------------------------------------------------------------


@pytest.mark.parametrize("cancellable", [True, False], ids=["cancellable", "not-cancellable"])
async def test_a_task_never_done_fails_at_its_deadline(
    cancellable: bool, run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    """The job's deadline passes while the task is pending: it fails, its credits are given back,
    and a provider that can drop tasks is asked to drop it (no one will fetch its result)."""
    deadline = 0.3
    job_id, worker = await run_job([pending()], deadline=deadline, cancellable=cancellable)
    job = await stored(repos, job_id)
    assert job.deadline is not None
    assert job.deadline <= events.delivered_to(job_id)[0].at < job.deadline + 5  # failed at it, not before
    assert len(backend.queries) > 1 and all(wait <= 3 * POLL for wait in worker.pauses.asked)
    assert backend.cancels == (["task-1"] if cancellable else [])
    await assert_failed(repos, events, job_id, "deadline_exceeded")


async def test_a_job_that_waited_in_the_queue_past_its_deadline_gets_its_whole_time_once_sent(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """A job placed with 10 minutes to finish waits in the queue longer than that (the bot was down,
    every slot busy): once sent, it has its 10 minutes from then. Before, its deadline counted from
    its placing: the provider accepted (and charged for) the task, and the job failed at the first
    poll and was given back."""
    backend.script(pending(), done(data=RESULT))
    job = await place(repos, media, deadline=600.0)
    waited = 3600.0  # as if placed an hour ago
    await database.write(
        "UPDATE jobs SET created_at = created_at - ?, deadline = deadline - ? WHERE id = ?", (waited, waited, job.id)
    )
    worker = workers(database, poll_interval=POLL)
    sent_after = time.time()
    await worker.runner.resume()
    await events.delivered(job.id)
    await worker.runner.idle()
    await assert_succeeded(repos, events, job.id)
    assert len(backend.submits) == 1
    final = await stored(repos, job.id)
    assert final.deadline is not None and sent_after + 600.0 <= final.deadline < time.time() + 600.0


async def test_a_job_sent_again_has_the_span_it_was_placed_with(
    database: Database,
    repos: Repositories,
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    workers: MakeWorker,
) -> None:
    """A job placed an hour ago with 10 minutes, whose deadline its first sending moved (a rerun-safe
    provider's job back in the queue after a restart): sent again, it has 10 minutes, not the hour
    since its placing as well (its deadline minus its placing)."""
    backend.script(done(data=RESULT))
    job = await place(repos, media, deadline=600.0)
    await database.write(
        "UPDATE jobs SET created_at = created_at - 3600, deadline = ? WHERE id = ?", (time.time() + 600, job.id)
    )
    worker = workers(database, poll_interval=POLL)
    sent_after = time.time()
    await worker.runner.resume()
    await events.delivered(job.id)
    final = await stored(repos, job.id)
    assert final.deadline is not None and sent_after + 600.0 <= final.deadline < time.time() + 600.0


async def test_a_provider_unreachable_until_the_deadline_fails_the_job_with_that_error(
    run_job: RunJob, repos: Repositories, backend: FakeBackend, events: RecordingEvents
) -> None:
    job_id, _ = await run_job([ProviderConnectionError("fake: cannot connect", provider="fake")], deadline=0.3)
    assert len(backend.queries) > MAX_BAD_ANSWERS
    await assert_failed(repos, events, job_id, "provider_unreachable")
