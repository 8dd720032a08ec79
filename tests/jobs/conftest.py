"""Fixtures for the job runner without Telegram: the real :class:`JobRunner` on SQLite in a temp
folder, an in-process provider whose answers each test scripts (tests/jobs/fakes.py), an events
sink that records what the runner reported, and a loopback server for results fetched by URL.

Poll intervals are hundredths of a second and leases a second and a half, so that the tests are
fast; the runner's waits between polls are recorded (:class:`Pauses`), so that the backoff is
asserted from what the runner asked for, not from timings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.jobs.driver import DriverDeps, wait_or_timeout
from bot.jobs.runner import JobRunner
from bot.jobs.settings import RunnerSettings
from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import Job, JobDraft
from bot.storage.leases import Leases
from bot.storage.repositories import Repositories
from providers.download import Downloader
from tests.fakes.server import LoopbackServer
from tests.jobs.fakes import Delivered, FakeBackend, FakeOrder, FakeProvider, RecordingEvents, notify, until

USER = 1
#: Credits a new user gets (the daily free credits), and what a job costs.
DAILY_FREE = 20
PRICE = 5
#: What the user sent, and what the provider makes of it (JPEG magic: the downloader checks it).
INPUT = b"\xff\xd8\xff\xe0 the user's photo"
RESULT = b"\xff\xd8\xff\xe0 the finished photo"


class Pauses:
    """The runner's waits between polls (its ``pause``), recorded: the seconds each asked for.
    Each wait is then the runner's own (a callback's wake-up ends it early)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.changed = asyncio.Condition()

    async def __call__(self, wake: asyncio.Event, seconds: float) -> None:
        self.asked.append(seconds)
        await notify(self.changed)
        await wait_or_timeout(wake, seconds)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        await until(self.changed, predicate, timeout)


@dataclass
class Worker:
    """One runner (a worker process) with its own client of the fake provider."""

    runner: JobRunner
    repos: Repositories
    provider: FakeProvider
    pauses: Pauses
    downloader: Downloader


#: Makes a worker: ``(store, owner, *, lease=..., max_concurrent=..., public_url=...,
#: max_poll_interval=..., leases=..., stop_grace=..., measure=..., **provider capabilities)``.
MakeWorker = Callable[..., Worker]


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
async def open_database(tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[Database]]]:
    """Opens the test's SQLite database (one file; each call a new connection, as a restarted
    process would open it); closes them all."""
    opened: list[Database] = []

    async def open_one() -> Database:
        db = await Database.open(tmp_path / "jobs.sqlite3")
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        await db.close()


@pytest.fixture
async def database(open_database: Callable[[], Awaitable[Database]]) -> Database:
    return await open_database()


@pytest.fixture
def repos(database: Database) -> Repositories:
    return Repositories.on(database, daily_free=DAILY_FREE)


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def events(media: MediaStore) -> RecordingEvents:
    return RecordingEvents(media)


@pytest.fixture
async def workers(
    media: MediaStore,
    backend: FakeBackend,
    events: RecordingEvents,
    open_database: Callable[[], Awaitable[Database]],
) -> AsyncIterator[MakeWorker]:
    """Makes workers on a database, all reporting to ``events``; stops them all (before the
    databases close)."""
    made: list[Worker] = []

    def make(
        store: Database,
        owner: str = "a",
        *,
        lease: float = 15.0,
        max_concurrent: int = 32,
        public_url: str = "",
        max_poll_interval: float = 15.0,
        leases: Leases | None = None,
        stop_grace: float = 10.0,
        measure: Callable[[Job, Path], Awaitable[dict[str, Any] | None]] | None = None,
        **capabilities: Any,
    ) -> Worker:
        repos = Repositories.on(store, daily_free=DAILY_FREE)
        provider = FakeProvider(backend, owner, **capabilities)
        downloader = Downloader(max_bytes=1024 * 1024, allow_private_addresses=True)
        pauses = Pauses()
        runner = JobRunner(
            repos.jobs,
            leases or repos.leases,
            DriverDeps(
                {"fake": provider}, {"fake": FakeOrder}, media, downloader, events, measure=measure, pause=pauses
            ),
            RunnerSettings(
                lease=lease,
                max_concurrent=max_concurrent,
                max_poll_interval=max_poll_interval,
                public_url=public_url,
                stop_grace=stop_grace,
            ),
            owner=owner,
        )
        worker = Worker(runner, repos, provider, pauses, downloader)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.runner.stop()
        await worker.provider.aclose()
        await worker.downloader.aclose()


#: Runs one job to its delivery: ``await deliver_one(deadline=..., **worker_args)`` makes a worker
#: (``workers``' arguments) on the test's database, places a job, resumes the worker and waits
#: until the job is delivered and the worker idle; the delivery and the worker. The provider's
#: answers are scripted on ``backend`` before.
DeliverOne = Callable[..., Awaitable[tuple[Delivered, Worker]]]


@pytest.fixture
def deliver_one(
    database: Database, repos: Repositories, media: MediaStore, events: RecordingEvents, workers: MakeWorker
) -> DeliverOne:
    async def run(*, deadline: float = 600.0, **worker_args: Any) -> tuple[Delivered, Worker]:
        worker = workers(database, **worker_args)
        job = await place(repos, media, deadline=deadline)
        await worker.runner.resume()
        delivered = await events.delivered(job.id)
        await worker.runner.idle()
        return delivered, worker

    return run


class ResultFiles:
    """A loopback HTTP server for results a provider links to instead of inlining them."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        #: The names fetched, in order.
        self.fetched: list[str] = []
        app = web.Application()
        app.router.add_get("/results/{name}", self._get, name="result")
        self.server = LoopbackServer(app)

    def publish(self, name: str, data: bytes) -> str:
        """Serve ``data``; its URL."""
        self.files[name] = data
        return f"{self.server.url}/results/{name}"

    async def _get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetched.append(name)
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name], content_type="image/jpeg")


@pytest.fixture
async def result_files() -> AsyncIterator[ResultFiles]:
    files = ResultFiles()
    await files.server.start()
    yield files
    await files.server.stop()


async def place(
    repos: Repositories, media: MediaStore, *, user_id: int = USER, price: int = PRICE, deadline: float = 600.0
) -> Job:
    """A job of the service "fake" for the provider "fake", as a conversation places it: the row
    and its credit hold, in one transaction."""
    await repos.users.ensure(user_id, user_id, "en")
    draft = JobDraft(
        user_id=user_id,
        chat_id=user_id,
        service="fake",
        provider="fake",
        options=FakeOrder().model_dump(mode="json"),
        input_ref=media.save_input(INPUT),
        price=price,
        deadline_seconds=deadline,
    )
    return await repos.jobs.create(draft)


async def ledger(repos: Repositories, job_id: str) -> list[str]:
    """The kinds of the job's ledger rows, in order: ``hold``, then ``capture`` or ``release``."""
    rows = await repos.db.fetchall("SELECT kind FROM ledger WHERE job_id = ? ORDER BY id", (job_id,))
    return [row["kind"] for row in rows]


async def stored(repos: Repositories, job_id: str) -> Job:
    job = await repos.jobs.get(job_id)
    assert job is not None
    return job
