"""The job runner's leases, fenced (issue 24): a worker that lost a job's lease, or may be about
to, does not act on it. Runners are driven directly (no Application), on both backends where
both have the case, against the fake PicWish and, for deliveries, the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram import Bot

from bot.config import parse_settings
from bot.jobs.driver import DriverDeps
from bot.jobs.runner import JobRunner
from bot.jobs.settings import RunnerSettings
from bot.ops.media import MediaStore
from bot.ops.provider_state import ProviderStates
from bot.storage.jobs import JobDraft, JobState
from bot.storage.repositories import Repositories
from bot.storage.store import Store
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.delivery import Delivery
from bot.telegram.ui.results import plain_result
from providers.download import Downloader
from providers.orders import IdPhotoOrder
from providers.picwish import PicwishClient
from tests.conftest import portrait_jpeg
from tests.fakes.picwish import FakePicwish
from tests.fakes.telegram_api import FakeTelegram

ORDER = IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="FFFFFF")


@pytest.fixture
async def bot_api(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
    await bot.initialize()
    yield bot
    await bot.shutdown()


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
async def runners(media: MediaStore, picwish: FakePicwish, bot_api: Bot) -> AsyncIterator[Callable[..., JobRunner]]:
    """Makes job runners (workers) on a store, each with its own PicWish client; stops them all."""
    made: list[tuple[JobRunner, PicwishClient, Downloader]] = []
    settings = parse_settings({}, env={})

    def make(store: Store, owner: str, *, lease: float = 15.0) -> JobRunner:
        repos = Repositories.on(store, daily_free=20)
        client = PicwishClient(picwish.api_key, base_url=picwish.base_url, poll_interval=0.05)
        downloader = Downloader(max_bytes=20 * 1024 * 1024, allow_private_addresses=True)
        delivery = Delivery(
            bot_api,
            repos.users,
            media,
            OperatorAlerts(bot_api, repos.users, (), ProviderStates(store)),
            lambda job, index, data, lang: plain_result(job, index, data, lang, settings),
        )
        deps = DriverDeps({"picwish": client}, {"idphoto": IdPhotoOrder}, media, downloader, delivery)
        runner = JobRunner(repos.jobs, repos.leases, deps, RunnerSettings(lease=lease), owner=owner)
        made.append((runner, client, downloader))
        return runner

    yield make
    for runner, client, downloader in made:
        await runner.stop()
        await client.aclose()
        await downloader.aclose()


async def _place(repos: Repositories, media: MediaStore, user_id: int) -> str:
    await repos.users.ensure(user_id, user_id, "en")
    draft = JobDraft(
        user_id=user_id,
        chat_id=user_id,
        service="idphoto",
        provider="picwish",
        options=ORDER.model_dump(mode="json"),
        input_ref=media.save_input(portrait_jpeg()),
        price=6,
        deadline_seconds=600,
    )
    return (await repos.jobs.create(draft)).id


async def test_a_worker_does_not_submit_a_job_another_took_over(store, runners, media, picwish, telegram):
    """Worker a's lease on the job ran out (a lease of -1 s: run out at once) and worker b claimed
    it before a's driver got to it: a stops, and PicWish never hears of the job from a; b sends it
    once and delivers it."""
    repos = Repositories.on(store, daily_free=20)
    job_id = await _place(repos, media, 1)
    a, b = runners(store, "a"), runners(store, "b")
    assert await repos.leases.claim_one(job_id, "a", lease=-1)
    a.start(job_id, claimed_at=time.monotonic())
    assert await repos.leases.claim_one(job_id, "b", lease=30)  # a's lease ran out: b may take the job
    await a.idle()
    assert picwish.creates == []
    job = await repos.jobs.get(job_id)
    assert job is not None and (job.state, job.owner) == (JobState.QUEUED, "b")
    b.start(job_id)  # b holds it: its own claim stands
    await telegram.wait_for(lambda: telegram.sent_to(1, "document"), 15)
    await b.idle()
    assert len(picwish.creates) == 1
    job = await repos.jobs.get(job_id)
    assert job is not None and (job.state, job.delivery, job.owner) == (JobState.SUCCEEDED, "done", None)
    assert await repos.ledger.problems() == []


async def test_a_worker_whose_lease_ran_out_sends_nothing_and_begins_no_delivery(
    store, runners, media, picwish, telegram
):
    """Worker a's lease ran out (-1 s) and no other worker took the job yet (a's keeper stalled):
    a does not send it to PicWish (a worker taking it over would find it submitting and fail it as
    interrupted while PicWish charged for the task), and it begins no delivery (a worker taking
    over would send the same parts again). The job, handed back, is sent once at the next claim."""
    repos = Repositories.on(store, daily_free=20)
    job_id = await _place(repos, media, 1)
    a = runners(store, "a")
    assert await repos.leases.claim_one(job_id, "a", lease=-1)
    a.start(job_id, claimed_at=time.monotonic())
    await a.idle()
    assert picwish.creates == []
    job = await repos.jobs.get(job_id)
    assert job is not None and (job.state, job.owner) == (JobState.QUEUED, None)
    await store.write(f"UPDATE jobs SET state = 'failed', owner = 'a', lease_until = {store.clock} - 1")
    assert not await repos.leases.leased("a", 30).begin_delivery(job_id)
    await store.write("UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL")
    a.start(job_id)
    await telegram.wait_for(lambda: telegram.sent_to(1, "document"), 15)
    await a.idle()
    assert len(picwish.creates) == 1
    job = await repos.jobs.get(job_id)
    assert job is not None and (job.state, job.delivery, job.owner) == (JobState.SUCCEEDED, "done", None)
    assert await repos.ledger.problems() == []


async def test_a_worker_whose_renewals_fail_stops_driving_before_its_lease_runs_out(runners, media, picwish, telegram):
    """Worker a follows a task at PicWish when every connection of its pool stays busy: its lease
    renewals cannot get one (they give up after a sixth of the lease) and, two thirds of the lease
    after the last renewal that worked, a stops driving the job, while its lease still runs, so
    that no other worker can have taken it yet. Once the lease ran out, b takes the job over and
    follows the task a created, which is never sent again."""
    from bot.storage.postgres import PostgresStore
    from tests.conftest import postgres_schema

    lease = 3.0
    url = await postgres_schema()
    a_store, b_store = await PostgresStore.open(url, max_size=2), await PostgresStore.open(url)
    repos = Repositories.on(b_store, daily_free=20)
    a, b = runners(a_store, "a", lease=lease), runners(b_store, "b", lease=lease)
    try:
        picwish.hold_new_tasks = True
        job_id = await _place(repos, media, 7)
        await a.resume()
        await picwish.wait_for(lambda: picwish.queries)  # a submitted the task and follows it
        driver = a._tasks[job_id]
        busy = [await a_store.pool.acquire() for _ in range(2)]  # a's pool has no connection to spare
        try:
            done, _ = await asyncio.wait({driver}, timeout=lease)
            assert driver in done, "a kept driving a job whose lease it could not renew"
            row = await b_store.fetchone(
                f"SELECT owner, lease_until - {b_store.clock} AS left FROM jobs WHERE id = ?", (job_id,)
            )
            # Stopped before anyone else could take it: at the latest GIVE_UP of the lease after its
            # last renewal, sooner where its own read found no connection in time.
            assert row["owner"] == "a" and row["left"] > 0
        finally:
            for conn in busy:
                await a_store.pool.release(conn)
        await b.resume()
        picwish.release()
        await telegram.wait_for(lambda: telegram.sent_to(7, "document"), 15)
        assert len(picwish.creates) == 1
        assert await repos.ledger.problems() == []
    finally:
        await a.stop()
        await b.stop()
        await a_store.close()
        await b_store.close()


def test_every_write_of_the_job_driver_names_the_lease_holder():
    """bot/jobs/ and bot/telegram/delivery.py change jobs only through LeasedJobs (``self.fenced``
    in the driver, the lease keeper and the runner, the ``jobs`` handed to a delivery); the jobs
    repository's unfenced writes serve a user's own Cancel (the provider has not heard of the job,
    or confirmed dropping it: the driver's ``cancel`` and ``_drop_running``)."""
    import ast
    import inspect

    import bot.jobs.driver
    import bot.jobs.keeper
    import bot.jobs.runner
    import bot.telegram.delivery

    writes = {"transition", "update", "settle", "begin_delivery", "record_part", "end_delivery", "hand_back"}
    fenced = {
        bot.jobs.driver: "self.fenced",
        bot.jobs.keeper: "self.fenced",
        bot.jobs.runner: "self.fenced",
        bot.telegram.delivery: "jobs",
    }
    allowed = {bot.jobs.driver: {"cancel", "_drop_running"}}
    found = []
    for module, receiver in fenced.items():
        tree = ast.parse(inspect.getsource(module))
        for function in ast.walk(tree):
            if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            if function.name in allowed.get(module, set()):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in writes
                    and ast.unparse(node.func.value) != receiver
                ):
                    found.append(f"{module.__name__}.{function.name}: {ast.unparse(node.func)}")
    assert found == []


def test_two_workers_collecting_one_job_never_write_the_same_file(media):
    """A stale worker and the one that took its job over may both store its result: each writes
    files of its own (and through a temporary file of its own), and the result names the files
    of the settlement that counted."""
    first, second = media.save_result("job", 0, b"\xff\xd8\xff first"), media.save_result("job", 0, b"\xff\xd8\xff 2nd")
    assert first != second
    assert media.read(first) == b"\xff\xd8\xff first" and media.read(second) == b"\xff\xd8\xff 2nd"
    assert not list(media.root.glob("results/*.tmp"))
