"""Provider callbacks are only wake-ups: early, duplicate or replayed ones change nothing by themselves."""

from __future__ import annotations

import httpx

from tests.bot.flows import order_until_summary
from tests.conftest import portrait_jpeg


async def _job(bot):
    (row,) = await bot.db.fetchall("SELECT id FROM jobs")
    return await bot.repo.get_job(row["id"])


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
    assert await bot.repo.balance(user.id) == 24 and await bot.repo.ledger_problems() == []


async def test_magictiger_duplicate_callbacks(bot, telegram, tiger):
    tiger.hold = True
    user = telegram.user()
    await user.send_photo(portrait_jpeg(300, 400))
    menu = await user.next_message("What would you like")
    await user.press(menu, "Enhance")
    await user.edited(menu, "Which enhancement")
    await user.press(menu, "Sharpen & enhance")
    summary = await user.edited(menu, "Please check your order")
    await user.press(summary, "Confirm")
    await user.edited(summary, "place 2")
    job = await _job(bot)
    url = f"{bot.settings.server.public_url}/callbacks/magictiger"
    body = {"code": 0, "msg": "", "data": {"taskid": "x", "status": 2, "chtaskid": job.id, "outputurl": "http://x/y.jpg"}}
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
    assert len(user.messages("document")) == 1
    assert await bot.repo.balance(user.id) == 21 and await bot.repo.ledger_problems() == []


async def test_wanxing_repeated_notifications(bot, telegram, wanxing):

    user = telegram.user()
    await user.send_document(portrait_jpeg(), "me.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "AI portrait")
    gallery = await user.next_message(kind="photo")
    await user.press(gallery, "Choose this one")
    summary = await user.next_message("Please check your order")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    job = await _job(bot)
    url = f"{bot.settings.server.public_url}/callbacks/wanxing/{job.id}/{job.callback_secret}"
    async with httpx.AsyncClient() as client:
        for _ in range(3):  # the provider resends until it reads "successfully"; replays change nothing
            answer = await client.post(url, json={"job_id": job.provider_task_id, "status": 0,
                                                   "data": {"result_url": ["http://x/y.jpg"]}})
            assert (answer.status_code, answer.text) == (200, "successfully")
        forged = await client.post(url.replace(job.callback_secret, "forged"), json={})
        assert forged.status_code == 404
    await bot.runner.idle()
    assert len(user.messages("document")) == 1
    assert await bot.repo.balance(user.id) == 10 and await bot.repo.ledger_problems() == []
