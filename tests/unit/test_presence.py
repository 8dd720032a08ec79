"""The processes' presence rows (bot/ops/presence.py), on both backends."""

from __future__ import annotations

import asyncio

from bot.ops.presence import FORGOTTEN_AFTER, UP_WITHIN, EngineFigures, Presences, keep_reporting
from bot.storage.jobs import JobDraft
from bot.storage.repositories import Repositories


async def test_a_process_reports_itself_updates_its_figures_and_leaves(store):
    presences = Presences(store)
    await presences.report("host:1:aa", "worker", EngineFigures(2, 40, {"time_limit": 1, "crashed": 0}))
    await presences.report("host:2:bb", "bot", None)
    (first,) = await store.fetchall("SELECT started_at FROM processes WHERE name = 'host:1:aa'")
    await presences.report("host:1:aa", "worker", EngineFigures(0, 41, {"time_limit": 1, "crashed": 1}))
    worker, bot = (await presences.read()).processes
    assert (worker.name, worker.role, worker.started_at, worker.jobs_held) == (
        "host:1:aa",
        "worker",
        first["started_at"],  # its first report, by the database's clock
        0,
    )
    assert worker.engine == EngineFigures(0, 41, {"time_limit": 1, "crashed": 1}) and worker.up
    assert 0 <= worker.seen_ago < UP_WITHIN
    assert (bot.name, bot.engine) == ("host:2:bb", None)
    await presences.leave("host:1:aa")
    assert [seen.name for seen in (await presences.read()).processes] == ["host:2:bb"]


async def test_a_silent_process_is_down_then_forgotten(store):
    presences = Presences(store)
    await presences.report("host:3:cc", "worker", None)
    await store.write("UPDATE processes SET seen_at = seen_at - ?", (UP_WITHIN + 5,))
    (silent,) = (await presences.read()).processes
    assert not silent.up and UP_WITHIN + 5 <= silent.seen_ago < UP_WITHIN + 60
    await store.write("UPDATE processes SET seen_at = seen_at - ?", (FORGOTTEN_AFTER,))
    assert (await presences.read()).processes == []  # not shown, and the next report of any process deletes it
    await presences.report("host:4:dd", "bot", None)
    assert [row["name"] for row in await store.fetchall("SELECT name FROM processes")] == ["host:4:dd"]


class _Unanswering:
    """A database whose writes never come back (its machine gone, the connection still open)."""

    clock = "0"
    writes = 0

    async def write(self, sql: str, params: tuple[object, ...] = (), *, timeout: float | None = None) -> int:
        self.writes += 1
        await asyncio.Event().wait()
        return 0


async def test_a_process_stops_even_when_the_database_does_not_answer():
    database = _Unanswering()
    reporting = asyncio.create_task(keep_reporting(Presences(database), "host:5:ee", "worker", None, timeout=0.2))
    while database.writes == 0:  # its first report is under way
        await asyncio.sleep(0)
    reporting.cancel()
    await asyncio.wait_for(asyncio.gather(reporting, return_exceptions=True), 5)
    assert reporting.cancelled() and database.writes == 2  # the report, then the row's deletion


async def test_jobs_held_by_a_process_without_a_row_are_counted_apart(store):
    """A process alive (its lease is live) but not reporting itself: an older photobot during an
    upgrade, or one whose reports fail. Its jobs are beside no process, so they are counted apart."""
    repos = Repositories.on(store, daily_free=20)
    await repos.users.ensure(1, 1, "en")
    draft = JobDraft(
        user_id=1,
        chat_id=1,
        service="idphoto",
        provider="picwish",
        options={},
        input_ref="x.jpg",
        price=6,
        deadline_seconds=600,
    )
    job = await repos.jobs.create(draft)
    presences = Presences(store)
    assert (await presences.read()).jobs_unreported == 0  # queued: no one holds it
    await store.write(f"UPDATE jobs SET owner = 'old:1:zz', lease_until = {store.clock} + 60 WHERE id = ?", (job.id,))
    assert (await presences.read()).jobs_unreported == 1
    await presences.report("old:1:zz", "worker", None)  # it reports itself: its jobs are shown beside it
    deployment = await presences.read()
    assert deployment.jobs_unreported == 0 and [seen.jobs_held for seen in deployment.processes] == [1]
    await presences.leave("old:1:zz")
    await store.write(f"UPDATE jobs SET lease_until = {store.clock} - 1 WHERE id = ?", (job.id,))
    assert (await presences.read()).jobs_unreported == 0  # a lease run out is no one's
