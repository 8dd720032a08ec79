"""What the job runner talks to in tests/jobs/, in process: a provider whose answers a test
scripts, and an events sink that records what the runner reported.

The provider has two halves, as a real one does: :class:`FakeBackend` is the provider's side
(its tasks, the script of its answers, every request it got, with when it got it), and
:class:`FakeProvider` is one client of it, a :class:`TaskProvider` as the runner gets it. Two
runners on one database (two workers) each get a client of the same backend, so that a task one
of them submitted is the task the other follows.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from bot.jobs.events import JobEvents
from bot.ops.media import MediaStore
from bot.storage.jobs import Job, JobState
from bot.storage.leases import LeasedJobs, Leases
from providers.base import TaskProvider
from providers.errors import ProviderError
from providers.models import InputImage, Phase, ResultImage, Submission, TaskStatus
from providers.orders import Order

#: A status query's scripted answer: a status to return, or an error to raise.
Answer = TaskStatus | ProviderError


class FakeOrder(Order):
    """The order of the tests' service ("fake")."""

    style: str = "plain"


def pending(progress: int = 0, queue_position: int | None = None) -> TaskStatus:
    return TaskStatus(Phase.PENDING, progress=progress, queue_position=queue_position)


def done(*, data: bytes | None = None, url: str | None = None) -> TaskStatus:
    """A finished task with one result image: its bytes, or a link to fetch them from."""
    return TaskStatus(Phase.DONE, progress=100, images=(ResultImage(url=url, data=data, image_id="img-1"),))


def failed(error: ProviderError) -> TaskStatus:
    return TaskStatus(Phase.FAILED, error=error)


async def until(changed: asyncio.Condition, predicate: Callable[[], bool], timeout: float) -> None:
    """Wait until ``predicate`` holds, looking again each time ``changed`` is notified; raise
    TimeoutError after ``timeout`` seconds."""
    async with changed:
        await asyncio.wait_for(changed.wait_for(predicate), timeout)


async def notify(changed: asyncio.Condition) -> None:
    async with changed:
        changed.notify_all()


@dataclass(frozen=True)
class Submit:
    at: float
    reference: str
    order: Order
    image: InputImage | None
    callback_url: str | None


@dataclass(frozen=True)
class Query:
    #: ``time.monotonic()`` when the query arrived.
    at: float
    task_id: str
    #: Which client asked (its runner's owner).
    client: str


@dataclass
class FakeBackend:
    """The provider's side: the script of its answers and a record of what it was asked."""

    #: Answers to status queries, one per query; the last one is repeated (``[pending()]``: a
    #: task never done).
    answers: list[Answer] = field(default_factory=lambda: [pending()])
    #: What a submission raises instead of creating a task.
    submit_error: ProviderError | None = None
    #: The status a submission answers with: a synchronous provider's result, or a queue's
    #: place; None: only the task's id.
    submit_status: TaskStatus | None = None
    #: Whether the provider confirms dropping a task it is asked to cancel.
    confirms_cancel: bool = True
    submits: list[Submit] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    #: Notified on every request (see :func:`until`).
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    #: Cleared: submissions wait (once recorded) until it is set, as if the provider were slow
    #: to answer; a runner stopped meanwhile leaves its job in ``submitting``.
    submits_flow: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.submits_flow.set()

    def script(self, *answers: Answer) -> None:
        """Answer the next queries with ``answers`` (the last one repeated)."""
        self.answers = list(answers)

    def answer(self) -> Answer:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        await until(self.changed, predicate, timeout)


class FakeProvider(TaskProvider[Order]):
    """One client of a :class:`FakeBackend`: what the runner gets as the provider "fake".

    Its declared capabilities (``poll_interval``, ``calls_back``, ``cancellable``, ``rerun_safe``)
    are set per test."""

    name = "fake"

    def __init__(
        self,
        backend: FakeBackend,
        client: str = "",
        *,
        poll_interval: float = 0.02,
        calls_back: bool = False,
        cancellable: bool = False,
        rerun_safe: bool = False,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.client = client
        self.poll_interval = poll_interval
        self.calls_back = calls_back
        self.cancellable = cancellable
        self.rerun_safe = rerun_safe

    async def submit(
        self, order: Order, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        backend = self.backend
        await asyncio.sleep(0)  # the loop's turn, as a real request gives it
        backend.submits.append(Submit(time.monotonic(), reference, order, image, callback_url))
        await notify(backend.changed)
        await backend.submits_flow.wait()
        if backend.submit_error is not None:
            raise backend.submit_error
        return Submission(task_id=f"task-{len(backend.submits)}", status=backend.submit_status)

    async def query(self, task_id: str) -> TaskStatus:
        backend = self.backend
        await asyncio.sleep(0)
        backend.queries.append(Query(time.monotonic(), task_id, self.client))
        await notify(backend.changed)
        answer = backend.answer()
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    async def cancel(self, task_id: str) -> bool:
        self.backend.cancels.append(task_id)
        await notify(self.backend.changed)
        return self.backend.confirms_cancel


@dataclass(frozen=True)
class Delivered:
    """One delivery the sink made: the job as handed over, and the result files it read."""

    job: Job
    files: tuple[bytes, ...]
    #: ``time.time()`` when it was delivered.
    at: float


class RecordingEvents(JobEvents):
    """The runner's events, recorded. Delivering does what the bot's delivery does with the
    database (claims the delivery, then ends it, both through the driver's fenced ``jobs``) and
    reads the result files instead of sending them."""

    def __init__(self, media: MediaStore) -> None:
        self.media = media
        self.progressed: list[tuple[str, int, int | None]] = []
        self.accepted_jobs: list[str] = []
        self.troubled: list[str] = []
        self.deliveries: list[Delivered] = []
        self.changed = asyncio.Condition()

    async def progress(self, job: Job, percent: int, queue_position: int | None) -> None:
        self.progressed.append((job.id, percent, queue_position))
        await notify(self.changed)

    async def accepted(self, job: Job) -> None:
        self.accepted_jobs.append(job.id)
        await notify(self.changed)

    async def trouble(self, job: Job) -> None:
        self.troubled.append(job.id)
        await notify(self.changed)

    async def deliver(self, job: Job, jobs: LeasedJobs) -> None:
        if job.delivery == "done" or (job.delivery is None and not await jobs.begin_delivery(job.id)):
            return
        refs = job.result.files if job.state == JobState.SUCCEEDED and job.result else []
        self.deliveries.append(Delivered(job, tuple(self.media.read(ref) for ref in refs), time.time()))
        await jobs.end_delivery(job.id)
        await notify(self.changed)

    def delivered_to(self, job_id: str) -> list[Delivered]:
        return [d for d in self.deliveries if d.job.id == job_id]

    async def delivered(self, job_id: str, timeout: float = 10.0) -> Delivered:
        """Wait until ``job_id`` was delivered; that delivery."""
        await until(self.changed, lambda: bool(self.delivered_to(job_id)), timeout)
        return self.delivered_to(job_id)[0]

    def counts(self) -> Counter[str]:
        """Deliveries per job."""
        return Counter(d.job.id for d in self.deliveries)


class UnreachableLeases(Leases):
    """A worker's leases whose operations (renewing its leases, claiming jobs) fail while
    ``failing`` is set: its database is out of reach for them (or the worker stalled)."""

    failing = False

    def _check(self) -> None:
        if self.failing:
            raise sqlite3.OperationalError("unable to open database file")

    async def renew(
        self, owner: str, lease: float, job_ids: Collection[str] | None = None, *, timeout: float | None = None
    ) -> set[str]:
        self._check()
        return await super().renew(owner, lease, job_ids, timeout=timeout)

    async def claim(
        self, owner: str, lease: float, limit: int, *, take_over: bool = False, timeout: float | None = None
    ) -> list[str]:
        self._check()
        return await super().claim(owner, lease, limit, take_over=take_over, timeout=timeout)

    async def claim_one(self, job_id: str, owner: str, lease: float, *, timeout: float | None = None) -> bool:
        self._check()
        return await super().claim_one(job_id, owner, lease, timeout=timeout)
