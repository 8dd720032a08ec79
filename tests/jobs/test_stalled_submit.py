"""A worker that stalls on its way to a provider, past its lease, while another worker takes its job
over: the job's task is created once, and it is the task the job follows, is paid for and is
delivered from.

Worker b runs in a thread of its own, with its own event loop and connection to the database (as
another process would); worker a runs in the test's loop, and stalls as a whole (its keeper too:
it cannot renew its lease) inside its ``media_link``, the signing of the photo's link that the
driver calls on its way to the provider, until b has acted on the job."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from bot.jobs.driver import DriverDeps
from bot.jobs.runner import JobRunner
from bot.jobs.settings import RunnerSettings
from bot.ops.media import MediaStore
from bot.storage.db import Database
from bot.storage.jobs import Job, JobState
from bot.storage.leases import LeasedJobs
from bot.storage.repositories import Repositories
from providers.download import Downloader
from providers.models import InputImage, Submission
from providers.orders import Order
from tests.jobs.conftest import DAILY_FREE, PRICE, RESULT, ledger, place, stored
from tests.jobs.fakes import FakeBackend, FakeOrder, FakeProvider, RecordingEvents, done

#: Seconds a lease lasts (renewed every third of it).
LEASE = 1.5
#: The longest the test waits for one thing to happen.
WAIT = 20.0
PUBLIC_URL = "https://bot.example"


class LinkedProvider(FakeProvider):
    """A client of the fake provider that fetches the photo by its link (as 玩星 does), and tells
    the test, across threads, that it was asked to create a task."""

    takes_url = True

    def __init__(self, backend: FakeBackend, client: str, asked: threading.Event) -> None:
        super().__init__(backend, client)
        self.asked = asked

    async def submit(
        self, order: Order, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        submission = await super().submit(order, image, callback_url, reference=reference)
        self.asked.set()
        return submission


class TellingEvents(RecordingEvents):
    """Records the deliveries, and tells the test of each across threads (``told``: each event set)."""

    def __init__(self, media: MediaStore, *told: threading.Event) -> None:
        super().__init__(media)
        self.told = told

    async def deliver(self, job: Job, jobs: LeasedJobs) -> None:
        await super().deliver(job, jobs)
        for event in self.told:
            event.set()


def runner(
    store: Database, owner: str, provider: FakeProvider, media: MediaStore, events: RecordingEvents, link: Any
) -> JobRunner:
    repos = Repositories.on(store, daily_free=DAILY_FREE)
    deps = DriverDeps(
        {"fake": provider},
        {"fake": FakeOrder},
        media,
        Downloader(max_bytes=1024 * 1024, allow_private_addresses=True),
        events,
        media_link=link,
    )
    return JobRunner(repos.jobs, repos.leases, deps, RunnerSettings(lease=LEASE, public_url=PUBLIC_URL), owner=owner)


def quick_link(ref: str, until: float | None) -> str:
    return f"{PUBLIC_URL}/media/{ref}"


class WorkerB:
    """Worker b in a thread: resumes, drives what it takes until told to stop."""

    def __init__(self, path: Path, media: MediaStore) -> None:
        self.path = path
        self.media = media
        self.ready, self.stop = threading.Event(), threading.Event()
        #: b asked the provider for a task, or delivered a job.
        self.acted, self.delivered = threading.Event(), threading.Event()
        self.backend: FakeBackend | None = None
        self.events: TellingEvents | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(),), name="worker-b")

    async def _run(self) -> None:
        store = await Database.open(self.path)
        self.backend = FakeBackend()
        self.backend.script(done(data=RESULT))
        provider = LinkedProvider(self.backend, "b", self.acted)
        self.events = TellingEvents(self.media, self.delivered, self.acted)
        b = runner(store, "b", provider, self.media, self.events, quick_link)
        try:
            await b.resume()
            self.ready.set()
            await asyncio.to_thread(self.stop.wait, WAIT * 3)
        finally:
            await b.stop()
            await provider.aclose()
            await store.close()


async def test_a_worker_stalled_on_its_way_to_the_provider_does_not_send_a_job_taken_over(
    tmp_path: Path, database: Database, repos: Repositories, media: MediaStore
) -> None:
    """a takes the job and, on its way to the provider, stalls for longer than its lease; b takes
    the job over meanwhile. Before, a had moved the job to submitting before it signed the photo's
    link: b failed the job as interrupted and gave the credits back, then a sent it and the
    provider made (and charged for) a task that no one followed; the user was told it failed.
    Now the move to submitting is the last step before the provider call, fenced by the lease: a's
    is refused, b sends the job, once, and the user gets the photo."""
    b = WorkerB(tmp_path / "jobs.sqlite3", media)
    b.thread.start()
    a_backend = FakeBackend()
    a_events = RecordingEvents(media)
    stalled = threading.Event()

    def stalling_link(ref: str, until: float | None) -> str:
        if not stalled.is_set():  # the whole of a stops here, its keeper too, until b acted
            stalled.set()
            b.acted.wait(WAIT)
        return quick_link(ref, until)

    a_provider = LinkedProvider(a_backend, "a", threading.Event())
    a = runner(database, "a", a_provider, media, a_events, stalling_link)
    try:
        assert await asyncio.to_thread(b.ready.wait, WAIT)
        assert await a.resume() == 0  # both work before there is a job (on SQLite a resume takes them all)
        job = await place(repos, media)
        assert await repos.leases.claim_one(job.id, "a", LEASE)  # placed and claimed in one loop step
        a.start(job.id)
        assert await asyncio.to_thread(b.delivered.wait, WAIT)
        await a.idle()
    finally:
        b.stop.set()
        await asyncio.to_thread(b.thread.join, WAIT)
        await a.stop()
        await a_provider.aclose()
    assert stalled.is_set()
    assert b.backend is not None and b.events is not None
    created = [*a_backend.submits, *b.backend.submits]
    assert len(created) == 1  # the provider was asked for one task
    final = await stored(repos, job.id)
    assert (final.state, final.delivery, final.error) == (JobState.SUCCEEDED, "done", None)
    assert b.backend.submits and final.provider_task_id == "task-1"  # b's task, the one created
    assert [d.files for d in b.events.deliveries] == [(RESULT,)] and a_events.deliveries == []
    assert await ledger(repos, job.id) == ["hold", "capture"]
    assert await repos.ledger.balance(job.user_id) == DAILY_FREE - PRICE
    assert await repos.ledger.problems() == []
