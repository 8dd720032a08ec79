"""The processes' presence rows (bot/ops/presence.py), on both backends."""

from __future__ import annotations

from bot.ops.presence import FORGOTTEN_AFTER, UP_WITHIN, EngineFigures, Presences


async def test_a_process_reports_itself_updates_its_figures_and_leaves(store):
    presences = Presences(store)
    await presences.report("host:1:aa", "worker", 1000.0, EngineFigures(2, 40, {"time_limit": 1, "crashed": 0}))
    await presences.report("host:2:bb", "bot", 2000.0, None)
    await presences.report("host:1:aa", "worker", 1000.0, EngineFigures(0, 41, {"time_limit": 1, "crashed": 1}))
    worker, bot = await presences.read()
    assert (worker.name, worker.role, worker.started_at, worker.jobs_held) == ("host:1:aa", "worker", 1000.0, 0)
    assert worker.engine == EngineFigures(0, 41, {"time_limit": 1, "crashed": 1}) and worker.up
    assert 0 <= worker.seen_ago < UP_WITHIN
    assert (bot.name, bot.engine) == ("host:2:bb", None)
    await presences.leave("host:1:aa")
    assert [seen.name for seen in await presences.read()] == ["host:2:bb"]


async def test_a_silent_process_is_down_then_forgotten(store):
    presences = Presences(store)
    await presences.report("host:3:cc", "worker", 0.0, None)
    await store.write("UPDATE processes SET seen_at = seen_at - ?", (UP_WITHIN + 5,))
    (silent,) = await presences.read()
    assert not silent.up and UP_WITHIN + 5 <= silent.seen_ago < UP_WITHIN + 60
    await store.write("UPDATE processes SET seen_at = seen_at - ?", (FORGOTTEN_AFTER,))
    assert await presences.read() == []
    assert await store.fetchall("SELECT name FROM processes") == []
