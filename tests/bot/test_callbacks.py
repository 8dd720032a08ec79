"""Provider callbacks are only wake-ups: early, duplicate or replayed ones change nothing by themselves."""

from __future__ import annotations

import itertools

import httpx

from bot.jobs.driver import POLL_BACKOFF
from bot.main.app import running
from tests.bot.flows import order_enhance, order_portrait, order_until_summary


async def _job(bot):
    (row,) = await bot.db.fetchall("SELECT id FROM jobs")
    return await bot.jobs.get(row["id"])


async def test_picwish_early_duplicate_and_replayed_callbacks(bot, telegram, picwish):
    picwish.hold_new_tasks = True
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await picwish.task_created.wait()
    await telegram.wait_for(lambda: picwish.queries > 0)
    job = await _job(bot)
    url = f"{bot.settings.server.public_url}/callbacks/picwish/{job.id}/{job.callback_secret}"
    claims_done = {"status": 200, "data": {"task_id": job.provider_task_id, "state": 1, "image": "http://x/y.jpg"}}
    async with httpx.AsyncClient() as client:
        early = await client.post(url, json=claims_done)  # out of order: the task is still running
        assert early.status_code == 200
        queries = picwish.queries
        await telegram.wait_for(lambda: picwish.queries > queries)  # woken, it asked PicWish again
        assert user.messages("document") == [] and (await _job(bot)).state == "running"
        picwish.release()
        await user.next_message(kind="document", timeout=15)
        await bot.runner.idle()
        for _ in range(3):  # duplicates and replays after the end
            assert (await client.post(url, json=claims_done)).status_code == 200
    await bot.runner.idle()
    assert len(user.messages("document")) == 1 and len(user.messages("photo")) == 1
    assert await bot.ledger.balance(user.id) == 24 and await bot.ledger.problems() == []


async def test_magictiger_duplicate_callbacks(bot, telegram, tiger):
    tiger.hold = True
    user = telegram.user()
    summary = await order_enhance(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "place 2")
    job = await _job(bot)
    url = f"{bot.settings.server.public_url}/callbacks/magictiger"
    body = {
        "code": 0,
        "msg": "",
        "data": {"taskid": "x", "status": 2, "chtaskid": job.id, "outputurl": "http://x/y.jpg"},
    }
    async with httpx.AsyncClient() as client:
        for _ in range(3):
            answer = await client.post(url, json=body, headers={"token": tiger.token})
            assert answer.json() == {"code": 0, "msg": "", "data": {"success": True}}
        assert (await _job(bot)).state == "running"  # the fake still says: in the queue
        tiger.hold = False
        await user.next_message(kind="document", timeout=15)
        await bot.runner.idle()
        await client.post(url, json=body, headers={"token": tiger.token})
    await bot.runner.idle()
    assert len(user.messages("document")) == 2  # the enhanced photo and its face close-up, each once
    assert await bot.ledger.balance(user.id) == 21 and await bot.ledger.problems() == []


async def test_wanxing_repeated_notifications(bot, telegram, wanxing):
    user = telegram.user()
    summary = await order_portrait(user)
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    job = await _job(bot)
    url = f"{bot.settings.server.public_url}/callbacks/wanxing/{job.id}/{job.callback_secret}"
    async with httpx.AsyncClient() as client:
        for _ in range(3):  # the provider resends until it reads "successfully"; replays change nothing
            answer = await client.post(
                url, json={"job_id": job.provider_task_id, "status": 0, "data": {"result_url": ["http://x/y.jpg"]}}
            )
            assert (answer.status_code, answer.text) == (200, "successfully")
        forged = await client.post(url.replace(job.callback_secret, "forged"), json={})
        assert forged.status_code == 404
    await bot.runner.idle()
    assert len(user.messages("document")) == 1
    assert await bot.ledger.balance(user.id) == 10 and await bot.ledger.problems() == []


async def test_polling_slows_down_and_the_callback_brings_the_result(make_settings, telegram, picwish):
    picwish.hold_new_tasks = True
    settings = make_settings(jobs__max_poll_interval=3600)
    async with running(settings) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await picwish.wait_for(lambda: picwish.queries >= 7)
        first = settings.providers.picwish.poll_interval
        gaps = [b - a for a, b in itertools.pairwise(picwish.query_times)]
        for index, gap in enumerate(gaps[:5]):
            assert gap >= 0.9 * first * POLL_BACKOFF**index  # each wait longer than the one before
        picwish.release()  # the next poll is seconds away: the callback brings the result
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert picwish.queries <= 9
