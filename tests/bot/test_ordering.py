"""Placing an order without Telegram: the business half of Confirm."""

from __future__ import annotations

import asyncio

from bot.domain.ordering import Refusal, place_order
from bot.domain.session import PendingOrder
from bot.main.app import running
from bot.storage.jobs import Job
from providers.orders import IdPhotoOrder
from tests.conftest import portrait_jpeg

ORDER = IdPhotoOrder(spec_id=3108, bg_color="FFFFFF", px_width=602, px_height=602, dpi=300)


async def test_place_order_refuses_without_holding_anything(bot):
    await bot.users.ensure(77, 77, "en")
    ref = bot.media.save_input(b"not looked at here")
    where = {"user_id": 77, "chat_id": 77, "status_message_id": None}
    unavailable = await place_order(bot, PendingOrder("no_such_service", ORDER, ref), **where)
    gone = await place_order(bot, PendingOrder("idphoto", ORDER, "inputs/gone.jpg"), **where)
    assert (unavailable, gone) == (Refusal("unavailable"), Refusal("input_gone"))
    assert await bot.db.fetchall("SELECT id FROM jobs") == [] and await bot.ledger.balance(77) == 30


async def test_place_order_holds_stores_and_starts_the_job(bot, picwish):
    await bot.users.ensure(77, 77, "en")
    ref = bot.media.save_input(portrait_jpeg())
    job = await place_order(bot, PendingOrder("idphoto", ORDER, ref), user_id=77, chat_id=77, status_message_id=None)
    assert job.state == "queued" and job.provider == "picwish"
    assert await bot.ledger.balance(77) == 30 - job.price == 24
    await asyncio.wait_for(picwish.task_created.wait(), 10)  # started at once: PicWish has the task


async def test_place_order_refuses_past_the_job_limit_and_the_balance(make_settings, picwish):
    picwish.hold_new_tasks = True  # the first job stays unfinished
    async with running(make_settings(credits__daily_free=10, jobs__max_per_user=1)) as bot:
        for user_id in (77, 78):
            await bot.users.ensure(user_id, user_id, "en")
        ref = bot.media.save_input(portrait_jpeg())
        first = await place_order(bot, PendingOrder("idphoto", ORDER, ref), user_id=77, chat_id=77, status_message_id=1)
        again = await place_order(bot, PendingOrder("idphoto", ORDER, ref), user_id=77, chat_id=77, status_message_id=2)
        costly = ORDER.model_copy(update={"clothes_id": "man_1", "beauty": True, "layout_size": "6inch"})
        price = bot.services["idphoto"].price(costly, bot.settings, "picwish")
        poor = await place_order(bot, PendingOrder("idphoto", costly, ref), user_id=78, chat_id=78, status_message_id=3)
        assert isinstance(first, Job) and again == Refusal("too_many", active=1)
        assert price > 10 and poor == Refusal("not_enough", price=price, balance=10)
        assert len(await bot.db.fetchall("SELECT id FROM jobs")) == 1
        assert (await bot.ledger.balance(77), await bot.ledger.balance(78)) == (10 - first.price, 10)
