"""End-to-end: while PicWish cannot serve, ID photos go to the local engine; then back to PicWish."""

from __future__ import annotations

import pytest

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from bot.main.app import running
from tests.bot.flows import local_preview, order_until_summary

ADMIN = 9001  # telegram.admin_ids in the test settings


async def test_refused_credentials_send_id_photos_to_the_local_engine_until_picwish_works_again(
    make_settings, telegram, picwish
):
    picwish.create_failures = [(200, {"status": 401, "message": "Invalid API key"})]
    async with running(make_settings(failover__retry_after=1)) as bot:
        user = telegram.user(user_id=901)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        assert "Price: 6 credits" in summary.text
        await user.press(summary, "Confirm")
        await user.edited(summary, "refused this bot's credentials")
        down = await telegram.wait_for(lambda: [m for m in telegram.sent_to(ADMIN) if "idphoto → local" in m.text])
        assert down[0].text.startswith("⚠️ picwish refused this bot's credentials. Until it works again")
        assert bot.enabled_services["idphoto"] == "local"

        # The next order: the local engine's free preview, which says who makes it and its price.
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        told = [text for message in user.messages("text") for text in message.shown]
        assert any(text.startswith("⚠️ PicWish is not available right now") for text in told)
        assert "for 2 credits" in preview.text
        await user.press(preview, "Confirm")
        await user.next_message(kind="document", timeout=30)
        creates = len(picwish.creates)

        # retry_after later PicWish gets an order again; it works, so it is back for good.
        await telegram.wait_for(lambda: bot.enabled_services["idphoto"] == "picwish", timeout=10)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        assert "Price: 6 credits" in summary.text and "not available" not in summary.text
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        assert len(picwish.creates) == creates + 1
        back = await telegram.wait_for(lambda: [m for m in telegram.sent_to(ADMIN) if m.text.startswith("✅")])
        assert back[0].text == "✅ picwish works again; its services are back with it."
        assert len([m for m in telegram.sent_to(ADMIN) if "refused" in m.text]) == 1  # told once
        assert await bot.ledger.balance(901) == 30 - 2 - 6
        assert await bot.ledger.problems() == []


async def test_a_summary_shown_before_failover_is_shown_again_with_the_new_engine_and_price(
    make_settings, telegram, picwish
):
    picwish.create_failures = [(402, {"status": 402, "message": "Insufficient credits"})]
    async with running(make_settings(failover__retry_after=600)) as bot:
        first, second = telegram.user(user_id=902), telegram.user(user_id=903)
        waiting = await order_until_summary(second, "Visa", "USA Visa", "White")
        assert "Price: 6 credits" in waiting.text
        summary = await order_until_summary(first, "Visa", "USA Visa", "White")
        await first.press(summary, "Confirm")
        await first.edited(summary, "The operator has been told")
        await telegram.wait_for(lambda: [m for m in telegram.sent_to(ADMIN) if "run out of paid uses" in m.text])
        # The second user confirms what was priced for PicWish: nothing is placed, the summary
        # comes back with the local engine and its price.
        await second.press(waiting, "Confirm")
        await second.edited(waiting, "Price: 2 credits")
        assert "PicWish is not available right now" in waiting.text
        assert await bot.ledger.balance(903) == 30
        await second.press(waiting, "Confirm")
        await second.next_message(kind="document", timeout=30)
        assert await bot.ledger.balance(903) == 28


async def test_a_job_picwish_accepted_stays_with_picwish_through_an_outage(make_settings, telegram, picwish):
    """Queries failing (server errors) for longer than failing_for put PicWish down for new orders,
    but the task it accepted is asked about until it is done and delivered from PicWish."""
    picwish.hold_new_tasks = True
    async with running(make_settings(failover__failing_for=0.01, failover__retry_after=600)) as bot:
        user = telegram.user(user_id=904)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await picwish.task_created.wait()
        # Each status query is tried 4 times (network.request_retries): 3 queries fail in all.
        picwish.query_failures = [(503, {"status": 503, "message": "Service Unavailable"})] * 12
        await telegram.wait_for(lambda: bot.enabled_services["idphoto"] == "local", timeout=10)
        (task,) = picwish.tasks.values()
        picwish.release(task.task_id)
        await user.next_message(kind="document", timeout=30)
        (job,) = await bot.db.fetchall("SELECT provider, state FROM jobs")
        assert (job["provider"], job["state"]) == ("picwish", "succeeded")
