"""Problems only the operator can fix reach the admins once, while users are told and refunded."""

from __future__ import annotations

from bot.main.app import running
from tests.bot.flows import order_repair

ADMIN = 9001  # telegram.admin_ids in the test settings


async def test_refused_credentials_alert_the_admins_once(make_settings, telegram, hili):
    """Hili serves repairs alone: with its key refused, orders still go to it (and fail with a
    refund) rather than the service vanishing; the admins are told once, not per order."""
    hili.errnos["upload"] = [9999, 9999]
    async with running(make_settings()) as bot:
        for user_id in (701, 702):
            user = telegram.user(user_id=user_id)
            summary = await order_repair(user)
            await user.press(summary, "Confirm")
            await user.edited(summary, "refused this bot's credentials. The operator has been told.")
        await bot.runner.idle()
        (alert,) = telegram.sent_to(ADMIN)
        assert alert.text == (
            "⚠️ hili refused this bot's credentials. Orders for it fail (and are refunded) until its key in the"
            " config is fixed."
        )
        assert bot.enabled_services["repair"] == "hili"
        assert await bot.ledger.balance(701) == await bot.ledger.balance(702) == 30


async def test_an_exhausted_account_alerts_the_admins_in_their_language(bot, telegram, hili):
    admin = telegram.user(user_id=ADMIN, language_code="zh-hans")
    await admin.send_text("/start")
    await admin.next_message()
    hili.errnos["upload"] = [9101]
    user = telegram.user(user_id=703)
    summary = await order_repair(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "run out of uses. The operator has been told")
    alert = await admin.next_message("付费次数已用完")
    assert alert.text.startswith("⚠️ hili")
    assert await bot.ledger.problems() == []


async def test_without_admins_a_user_is_not_told_the_operator_has_been_told(make_settings, telegram, hili):
    """Alerts go to telegram.admin_ids alone: with none, "The operator has been told" was untrue."""
    hili.errnos["upload"] = [9999]
    async with running(make_settings(telegram__admin_ids=[])) as bot:
        user = telegram.user(user_id=704)
        summary = await order_repair(user)
        await user.press(summary, "Confirm")
        failed = await user.edited(summary, "refused this bot's credentials")
        assert "The photo service refused this bot's credentials; its operator needs to fix them." in failed.text
        assert "has been told" not in failed.text
        assert await bot.ledger.balance(704) == 30
