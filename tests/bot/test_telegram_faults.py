"""Telegram faults while a result is sent: it is still delivered, once; a blocked user holds up no one."""

from __future__ import annotations

import pytest

from tests.bot.flows import order_until_summary


@pytest.mark.parametrize(
    ("method", "status", "description", "retry_after", "times"),
    [
        ("sendDocument", 429, "Too Many Requests: retry after 1", 1, 1),
        ("sendPhoto", 502, "Bad Gateway", None, 2),
        ("sendDocument", 500, "Internal Server Error", None, 1),
        ("sendDocument", 0, "connection dropped", None, 2),
        ("editMessageText", 503, "Service Unavailable", None, 1),
    ],
)
async def test_a_result_survives_telegram_faults_and_arrives_once(
    bot, telegram, picwish, method, status, description, retry_after, times
):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    telegram.fail(method, status, description, retry_after=retry_after, times=times)
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 6 credits used.", timeout=30)
    await bot.runner.idle()
    assert len(user.messages("photo")) == 1
    assert len(user.messages("document")) == 1
    assert not telegram.failures[method]  # every scripted fault was met
    assert await bot.jobs.unfinished() == [] and await bot.ledger.problems() == []
    assert not [m for m in user.messages() if "went wrong" in m.text]


async def test_a_user_who_blocked_the_bot_holds_up_no_one(bot, telegram, picwish):
    blocked, other = telegram.user(user_id=6100), telegram.user(user_id=6200)
    first = await order_until_summary(blocked, "Visa", "USA Visa", "White")
    second = await order_until_summary(other, "Visa", "USA Visa", "White")
    telegram.fail("sendPhoto", 403, "Forbidden: bot was blocked by the user", times=1)
    await blocked.press(first, "Confirm")
    await telegram.wait_for(lambda: not telegram.failures["sendPhoto"])
    await other.press(second, "Confirm")
    await other.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    assert blocked.messages("document") == []
    assert await bot.jobs.unfinished() == []  # the blocked user's delivery was given up, not retried forever
    assert await bot.ledger.problems() == []
