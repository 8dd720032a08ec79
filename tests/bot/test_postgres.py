"""End-to-end on PostgreSQL (``database.url``): one order of each service, from the photo to the
delivered file, with the jobs, the ledger and the users in PostgreSQL; and a restart that finds
the unfinished job there."""

from __future__ import annotations

import asyncio

import pytest

from bot.main.app import running
from tests.bot.flows import order_anime, order_enhance, order_portrait, order_repair, order_until_summary
from tests.conftest import postgres_schema


async def _idphoto(user):
    return await order_until_summary(user, "Visa", "USA Visa", "White")


SERVICES = {
    "idphoto": (_idphoto, 6),
    "anime": (order_anime, 2),
    "portrait": (order_portrait, 20),
    "repair": (order_repair, 8),
    "enhance": (order_enhance, 9),
}


@pytest.mark.parametrize("service", list(SERVICES))
async def test_each_service_end_to_end_on_postgres(make_settings, telegram, picwish, qq, wanxing, hili, tiger, service):
    order, price = SERVICES[service]
    url = await postgres_schema()
    async with running(make_settings(database__url=url)) as bot:
        assert type(bot.db).__name__ == "PostgresStore"
        user = telegram.user(user_id=1201)
        summary = await order(user)
        assert f"Price: {price} credits" in summary.text
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=30)
        await user.edited(summary, "Done!")
        await bot.runner.idle()
        (job,) = await bot.db.fetchall("SELECT service, state, delivery FROM jobs")
        assert (job["service"], job["state"], job["delivery"]) == (service, "succeeded", "done")
        assert await bot.ledger.balance(1201) == 30 - price
        assert await bot.ledger.problems() == []


async def test_a_restarted_bot_finds_the_unfinished_job_in_postgres(make_settings, telegram, picwish):
    url = await postgres_schema()
    picwish.hold_new_tasks = True
    settings = make_settings(database__url=url)
    user = telegram.user(user_id=1202)
    async with running(settings) as bot:
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await picwish.task_created.wait()
    picwish.release()
    async with running(settings) as bot:
        await user.next_message(kind="document", timeout=30)
        await bot.runner.idle()
        assert len(picwish.creates) == 1  # followed, never submitted again
        assert await bot.ledger.problems() == []


async def test_a_second_bot_process_stands_by_for_updates_and_upkeep_and_takes_over(make_settings, telegram):
    """Two bot processes on one database: the first polls Telegram and sweeps old photos, the
    second waits for both; when the first stops, the second does both."""
    from tests.fakes.server import free_port

    url = await postgres_schema()
    user = telegram.user(user_id=1203)
    async with running(make_settings(database__url=url)) as first:
        await asyncio.wait_for(first.sweeper.swept.wait(), 10)
        second_running = running(make_settings(database__url=url, server__port=free_port()))
        second = await second_running.__aenter__()
        try:
            await user.send_text("/start")
            await user.next_message("Send me a photo to begin")
            assert not second.sweeper.swept.is_set()
        except BaseException:
            await second_running.__aexit__(None, None, None)
            raise
    try:
        await asyncio.wait_for(second.sweeper.swept.wait(), 10)  # the upkeep moved over
        await user.send_text("/balance")
        await user.next_message("You have", timeout=15)  # and so did Telegram's updates
    finally:
        await second_running.__aexit__(None, None, None)


async def test_a_callback_to_the_bot_process_wakes_the_job_in_the_worker(make_settings, telegram, picwish):
    """Bot and worker as separate processes (here two in one test): the job is announced to the
    worker, PicWish calls back to the bot's web server, and the worker asks at once instead of
    at its next poll, a minute away."""
    from tests.fakes.server import free_port

    url = await postgres_schema()
    settings = make_settings(database__url=url, providers__picwish__poll_interval=60)
    async with (
        running(settings, "bot") as bot,
        running(
            make_settings(database__url=url, providers__picwish__poll_interval=60, server__port=free_port()), "worker"
        ) as worker,
    ):
        user = telegram.user(user_id=1204)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=10)
        assert picwish.callback_results == [200]
        assert picwish.creates[-1]["callback_url"].startswith(settings.server.public_url + "/callbacks/picwish/")
        await worker.runner.idle()
        job = await bot.db.fetchone("SELECT state, delivery, owner FROM jobs")
        assert (job["state"], job["delivery"], job["owner"]) == ("succeeded", "done", None)
        assert bot.web.bound_port == settings.server.port and worker.web.bound_port is None


async def test_a_bot_process_that_loses_its_right_to_updates_stops(make_settings, telegram):
    """The connection holding the updates right is cut (here by the server, as a network fault
    would): the process must stop handling updates rather than risk a second poller."""
    import asyncpg

    from bot.main.app import run_until_stopped

    url = await postgres_schema()
    stop = asyncio.Event()
    process = asyncio.create_task(run_until_stopped(make_settings(database__url=url), stop))
    user = telegram.user(user_id=1205)
    await user.send_text("/start")
    await user.next_message("Send me a photo to begin")  # it handles updates: it holds the right
    admin = await asyncpg.connect(url)
    try:
        holders = await admin.fetch(  # the updates right of this test's schema (bot/storage/postgres.py)
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint)"
            " = hashtext(current_schema() || ':updates')::bigint"
        )
        assert len(holders) == 1
    finally:
        await admin.close()
    assert await asyncio.wait_for(process, 15) is False  # stopped on its own, not asked to
    assert not stop.is_set()
