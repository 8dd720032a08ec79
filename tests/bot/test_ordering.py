"""Placing an order without Telegram: the business half of Confirm."""

from __future__ import annotations

import asyncio

import pytest

from bot.context import PendingOrder
from bot.ordering import InputGone, OrderUnavailable, place_order
from providers.orders import IdPhotoOrder
from tests.conftest import portrait_jpeg

ORDER = IdPhotoOrder(spec_id=3108, bg_color="FFFFFF", px_width=602, px_height=602, dpi=300)


async def test_place_order_refuses_without_holding_anything(bot):
    await bot.repo.ensure_user(77, 77, "en")
    ref = bot.media.save_input(b"not looked at here")
    with pytest.raises(OrderUnavailable):
        await place_order(
            bot, PendingOrder("no_such_service", ORDER, ref), user_id=77, chat_id=77, status_message_id=None
        )
    with pytest.raises(InputGone):
        await place_order(
            bot, PendingOrder("idphoto", ORDER, "inputs/gone.jpg"), user_id=77, chat_id=77, status_message_id=None
        )
    assert await bot.db.fetchall("SELECT id FROM jobs") == [] and await bot.repo.balance(77) == 30


async def test_place_order_holds_stores_and_starts_the_job(bot, picwish):
    await bot.repo.ensure_user(77, 77, "en")
    ref = bot.media.save_input(portrait_jpeg())
    job = await place_order(bot, PendingOrder("idphoto", ORDER, ref), user_id=77, chat_id=77, status_message_id=None)
    assert job.state == "queued" and job.provider == "picwish"
    assert await bot.repo.balance(77) == 30 - job.price == 24
    await asyncio.wait_for(picwish.task_created.wait(), 10)  # started at once: PicWish has the task
