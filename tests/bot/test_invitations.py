"""End to end: /invite gives a link; someone new who starts the bot through it earns themselves and
the inviter free credits when their first paid order is delivered (once, across a restart, told to
both in their own language); nothing for oneself, for someone who had used the bot, after /forget,
or for an unknown code; admins see it in /stats."""

from __future__ import annotations

import re

import pytest

from bot.main.app import running
from bot.storage.invites import Invites
from bot.storage.ledger import Credits
from tests.bot.flows import album_summary, order_finished
from tests.conftest import portrait_jpeg, postgres_schema

LINK = re.compile(r"https://t\.me/photobot_test_bot\?start=([A-Za-z0-9_-]+)")


async def _code(user) -> str:
    await user.send_text("/invite")
    message = await user.next_message("t.me/")
    found = LINK.search(message.text)
    assert found is not None, message.text
    return found.group(1)


async def _start(user, text: str) -> None:
    await user.send_text(text)
    await user.next_message("Send me a photo to begin")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_newcomer_and_the_inviter_each_earn_the_bonus_once_with_the_first_paid_order(
    make_settings, telegram, picwish, backend
):
    settings = make_settings(database__url=await postgres_schema()) if backend == "postgres" else make_settings()
    inviter = telegram.user(user_id=8001, language_code="zh-hans")
    newcomer, admin = telegram.user(user_id=8002), telegram.user(user_id=9001)
    async with running(settings) as bot:
        await inviter.send_text("/invite")
        offer = await inviter.next_message("用这个链接邀请朋友")
        assert "你们各得 5 免费积分" in offer.text
        code = LINK.search(offer.text).group(1)  # type: ignore[union-attr]
        await _start(newcomer, f"/start {code}")
        assert (await Invites(bot.db).figures()).invited == 1

    async with running(settings) as bot:  # restarted between the link and the order
        await order_finished(newcomer, "Visa", "USA Visa", "White")
        told = await newcomer.next_message("🎁", timeout=15)
        assert told.text == (
            "🎁 Your first paid order since you were invited: you and the person who invited you each get"
            " 5 free credits."
        )
        assert (await inviter.next_message("🎁")).text == "🎁 你邀请的朋友收到了首个付费订单：你获得 5 免费积分。"
        assert await bot.ledger.credits(newcomer.id) == Credits(30 - 6 + 5, 0)  # free credits, never bought ones
        assert await bot.ledger.balance(inviter.id) == 35

        await order_finished(newcomer, "Visa", "USA Visa", "White")  # a second order: nothing more
        await bot.runner.idle()
        assert await bot.ledger.balance(newcomer.id) == 30 - 12 + 5 and await bot.ledger.balance(inviter.id) == 35
        assert [m.text for m in newcomer.messages() if m.text.startswith("🎁")] == [told.text]
        assert len([m for m in inviter.messages() if m.text.startswith("🎁")]) == 1
        assert await bot.ledger.problems() == []

        await admin.send_text("/stats")
        stats = await admin.next_message("📊")
        assert stats.text.count("Invitations: 1 person came invited, 1 earned the bonus; 10 bonus credits given") == 2


async def test_no_bonus_for_oneself_a_known_person_a_returning_one_or_an_unknown_code(make_settings, telegram, picwish):
    inviter = telegram.user(user_id=8011)
    known, returning, stranger = telegram.user(user_id=8012), telegram.user(user_id=8013), telegram.user(user_id=8014)
    async with running(make_settings()) as bot:
        code = await _code(inviter)
        await _start(inviter, f"/start {code}")  # oneself
        await _start(known, "/start")  # had used the bot before the link
        await _start(known, f"/start {code}")
        await _start(returning, "/start")
        await returning.send_text("/forget")
        ask = await returning.next_message("Go ahead?")
        await returning.press(ask, "Delete everything")
        await returning.edited(ask, "Done.")
        await bot.db.write("DELETE FROM forgotten_today")  # days later: today's free credits again
        await _start(returning, f"/start {code}")  # after /forget: not new
        await _start(stranger, "/start a-code-nobody-has")
        assert await bot.db.fetchall("SELECT * FROM invitations") == []

        for user in (known, returning, stranger):
            await order_finished(user, "Visa", "USA Visa", "White")
        await bot.runner.idle()
        assert [await bot.ledger.balance(user.id) for user in (inviter, known, returning, stranger)] == [30, 24, 24, 24]
        assert not any(m.text.startswith("🎁") for u in (inviter, known, returning, stranger) for m in u.messages())
        assert await bot.ledger.problems() == []


async def test_no_invitations_when_the_bonus_is_zero(make_settings, telegram):
    async with running(make_settings(credits__invite_bonus=0)):
        user = telegram.user(user_id=8021)
        await user.send_text("/invite")
        await user.next_message("This bot does not offer invitations.")
        assert "invite" not in [c["command"] for c in telegram.commands[""]]


async def test_an_inviter_who_blocked_the_bot_costs_the_newcomer_nothing_of_the_album(bot, telegram, picwish):
    """The bonus note to an inviter who blocked the bot is refused (403): the newcomer still gets
    every file of the order that earned it, the album's zip included, and both bonuses stand."""
    inviter, newcomer = telegram.user(user_id=8101), telegram.user(user_id=8102)
    await _start(newcomer, f"/start {await _code(inviter)}")
    telegram.block(inviter.id)
    await newcomer.send_album([portrait_jpeg(), portrait_jpeg(900, 1000)])
    summary = await album_summary(newcomer, await newcomer.next_message("Album of 2 photos"))
    await newcomer.press(summary, "Confirm")
    await telegram.wait_for(lambda: any(d.filename.endswith(".zip") for d in newcomer.messages("document")), 30)
    await newcomer.next_message("🎁", timeout=15)
    await bot.runner.idle()
    assert len(newcomer.messages("document")) == 3
    assert await bot.ledger.balance(inviter.id) == 35
    assert await bot.ledger.problems() == []
