"""End-to-end: every process of a deployment on the bot process's /metrics and in /stats
(bot/ops/presence.py), on PostgreSQL with a bot process and a worker process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from bot.main.app import running
from bot.ops.presence import FORGOTTEN_AFTER, Presences
from bot.telegram.conversations.operator import PROCESSES_SHOWN
from providers.localengine import available
from tests.bot.flows import order_until_summary
from tests.conftest import postgres_schema
from tests.fakes.server import free_port

TOKEN = "metrics-token-" + "x" * 32
ADMIN = 9001  # telegram.admin_ids in the test settings


async def _scrape(bot) -> list[str]:
    async with httpx.AsyncClient(base_url=bot.settings.server.public_url) as client:
        page = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    return page.text.splitlines()


async def _scrape_until(bot, shown: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
    """The metrics page once ``shown`` holds of its lines (each process reports itself on its own)."""

    async def until() -> list[str]:
        while not shown(lines := await _scrape(bot)):
            await asyncio.sleep(0.1)
        return lines

    return await asyncio.wait_for(until(), timeout)


async def _reported(bot, process: str, provider: str, calls: int) -> None:
    """Until ``process``'s report (every few seconds) counts ``calls`` calls to ``provider``."""
    while True:
        deployment = await Presences(bot.db).read()
        seen = {each.name: each for each in deployment.processes}.get(process)
        if seen is not None and provider in seen.providers and seen.providers[provider].calls >= calls:
            return
        await asyncio.sleep(0.2)


async def test_metrics_show_each_process_its_jobs_and_engine_and_a_process_gone_silent(
    make_settings, telegram, picwish
):
    url = await postgres_schema()
    async with running(make_settings(database__url=url, server__metrics_token=TOKEN), "bot") as bot:
        async with running(make_settings(database__url=url, server__port=free_port()), "worker") as worker:
            mine, theirs = f'process="{bot.runner.owner}",role="bot"', f'process="{worker.runner.owner}",role="worker"'
            picwish.hold_new_tasks = True  # the order stays in the worker's hands
            user = telegram.user()
            summary = await order_until_summary(user, "Visa", "USA Visa", "White")
            await user.press(summary, "Confirm")
            await picwish.task_created.wait()
            lines = await _scrape_until(bot, lambda lines: f"photobot_process_jobs_held{{{theirs}}} 1.0" in lines)
            assert f"photobot_process_up{{{mine}}} 1.0" in lines and f"photobot_process_up{{{theirs}}} 1.0" in lines
            assert f"photobot_process_jobs_held{{{mine}}} 0.0" in lines
            (seen,) = [line for line in lines if line.startswith(f"photobot_process_seen_ago_seconds{{{theirs}}}")]
            assert 0 <= float(seen.split()[1]) < 30
            if available():  # the worker's engine: nothing under way, no process lost
                assert f"photobot_process_engine_pending{{{theirs}}} 0.0" in lines
                ended = (
                    f'photobot_process_engine_ended{{process="{worker.runner.owner}",reason="crashed",role="worker"}}'
                )
                assert f"{ended} 0.0" in lines
            # The admin sees the same in the chat.
            admin = telegram.user(user_id=ADMIN)
            await admin.send_text("/stats")
            processes = (await admin.next_message("📊")).text.split("\n\n")[-1].splitlines()
            assert processes[0] == "Processes (each reports itself every 10 s):"
            (line,) = [line for line in processes if worker.runner.owner in line]
            assert line.startswith(f"• worker {worker.runner.owner}: seen ") and ", 1 job in hand" in line
            if available():
                assert line.endswith("; local engine: 0 under way or waiting, 0 processes lost (time limit or crash)")
            picwish.release()
            await user.next_message(kind="document", timeout=15)
            await worker.runner.idle()
            # The worker made the PicWish calls; /stats adds up every process's counters (the bot
            # process alone made none, and showed "0 calls, last success never").
            await asyncio.wait_for(_reported(bot, worker.runner.owner, "picwish", picwish.queries + 1), 30)
            await admin.send_text("/stats")
            shown = (await admin.next_message("📊")).text
            assert "\n\nProviders (every process, each since it started):\n" in shown
            (line,) = [line for line in shown.splitlines() if line.startswith("• picwish: ")]
            assert line.startswith(f"• picwish: {picwish.queries + 1} calls, 0% errors, last success 20")
        # The worker stopped and said so: it is not shown.
        lines = await _scrape(bot)
        assert not any(worker.runner.owner in line for line in lines)
        assert f"photobot_process_up{{{mine}}} 1.0" in lines
        assert "photobot_jobs_held_unreported 0.0" in lines
        # A job under the live lease of a process that has no row (an older photobot during an
        # upgrade) is counted apart, on /metrics and in /stats.
        await bot.db.write(f"UPDATE jobs SET delivery = 'sending', owner = 'old:1', lease_until = {bot.db.clock} + 60")
        assert "photobot_jobs_held_unreported 1.0" in await _scrape(bot)
        await admin.send_text("/stats")
        shown = (await admin.next_message("📊")).text
        assert shown.endswith(
            "• ⚠️ unfinished jobs held by a process that does not report itself (an older photobot?): 1"
        )
        await bot.db.write(f"UPDATE jobs SET lease_until = {bot.db.clock} - 1")  # its lease ran out
        assert "photobot_jobs_held_unreported 0.0" in await _scrape(bot)
        # A process killed without a word stops reporting: down, then forgotten after a day.
        clock = bot.db.clock
        await bot.db.write(
            f"INSERT INTO processes (name, role, started_at, seen_at) VALUES ('lost:1', 'worker', 0, {clock} - 100)"
        )
        lines = await _scrape(bot)
        assert 'photobot_process_up{process="lost:1",role="worker"} 0.0' in lines
        await admin.send_text("/stats")
        shown = (await admin.next_message("📊")).text
        assert "• worker lost:1: ⚠️ silent for 2 min" in shown and worker.runner.owner not in shown
        (seen,) = [line for line in lines if line.startswith('photobot_process_seen_ago_seconds{process="lost:1"')]
        assert 100 <= float(seen.split()[1]) < 130
        await bot.db.write("UPDATE processes SET seen_at = seen_at - ? WHERE name = 'lost:1'", (FORGOTTEN_AFTER,))
        assert not any("lost:1" in line for line in await _scrape(bot))
        # Many processes: /stats lists those gone silent first and stays one message; /metrics has all.
        for n in range(2, 15):
            await bot.db.write(
                f"INSERT INTO processes (name, role, started_at, seen_at) VALUES (?, 'worker', 0, {clock} - 100)",
                (f"lost:{n}",),
            )
        await admin.send_text("/stats")
        processes = (await admin.next_message("📊")).text.split("\n\n")[-1].splitlines()
        assert len(processes) == 1 + PROCESSES_SHOWN + 1
        assert all("silent" in line for line in processes[1:-1])
        assert processes[-1] == "• and 2 more (every process is on /metrics)"  # the bot's own among them
        assert sum(line.startswith("photobot_process_up{") for line in await _scrape(bot)) == 14


#: Records, as a process's row goes, how many jobs it still held under a live lease.
_LEAVING_AUDIT = (
    "CREATE TABLE left_holding (name TEXT, held BIGINT)",
    """CREATE FUNCTION note_leaving() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO left_holding SELECT OLD.name, COUNT(*) FROM jobs
            WHERE owner = OLD.name AND lease_until >= EXTRACT(EPOCH FROM clock_timestamp());
        RETURN OLD;
    END $$""",
    "CREATE TRIGGER leaving AFTER DELETE ON processes FOR EACH ROW EXECUTE FUNCTION note_leaving()",
)


async def test_a_stopping_worker_hands_its_jobs_back_before_its_row_goes_and_the_next_one_delivers(
    make_settings, telegram, picwish
):
    """A worker stopping with a job in hand gives the job back first and deletes its row after: in
    between, the job would show as held by a process that does not report itself (for up to the
    lease's length). The database itself records the order, by a trigger on the row's deletion."""
    url = await postgres_schema()
    async with running(make_settings(database__url=url, server__metrics_token=TOKEN), "bot") as bot:
        for statement in _LEAVING_AUDIT:
            await bot.db.write(statement)
        picwish.hold_new_tasks = True
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        async with running(make_settings(database__url=url, server__port=free_port()), "worker") as worker:
            owner = worker.runner.owner
            await user.press(summary, "Confirm")
            await picwish.task_created.wait()
            held = f'photobot_process_jobs_held{{process="{owner}",role="worker"}} 1.0'
            await _scrape_until(bot, lambda lines: held in lines)
        left = await bot.db.report("SELECT held FROM left_holding WHERE name = ?", (owner,))
        assert [row["held"] for row in left] == [0]
        assert "photobot_jobs_held_unreported 0.0" in await _scrape(bot)
        # The next worker takes the job over and delivers it, once.
        async with running(make_settings(database__url=url, server__port=free_port()), "worker") as second:
            picwish.release()
            await user.next_message(kind="document", timeout=15)
            await second.runner.idle()
        (done,) = await bot.db.report("SELECT COUNT(*) AS n FROM jobs WHERE state = 'succeeded' AND delivery = 'done'")
        assert done["n"] == 1
