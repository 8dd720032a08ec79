"""How jobs end: every documented failure, deadlines, double taps, jobs found at start."""

from __future__ import annotations

import asyncio

import pytest

from bot.main.app import running
from bot.storage.db import Database
from bot.storage.jobs import JobDraft
from bot.storage.repositories import Repositories
from providers.orders import IdPhotoOrder
from providers.picwish import PicwishClient
from tests.bot.flows import order_until_summary
from tests.conftest import portrait_jpeg


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (-8, "Processing took too long"),
        (-7, "could not read this image"),
        (-5, "image is too large"),
        (-3, "could not fetch the image"),
        (-2, "could not be stored by the service"),
        (-1, "The photo could not be processed"),
    ],
)
async def test_every_failed_state_is_told_and_refunded(bot, telegram, picwish, state, message):
    picwish.next_states = [[(0, 0), (state, 0)]]
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, message)
    assert "Your 6 credits were returned." in summary.text
    assert [b["text"] for b in summary.buttons()] == ["🔁 Try again", "📷 New photo"]
    assert await bot.ledger.balance(user.id) == 30
    assert await bot.ledger.problems() == []


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"status": 500, "message": "boom"}, "having trouble"),
        (400, {"status": 400, "message": "bad"}, "could not process this request"),
        (200, "not json at all", "could not understand"),
    ],
)
async def test_http_errors_on_submit_are_told_and_refunded(bot, telegram, picwish, status, body, message):
    picwish.create_failures = [(status, body)]
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, message)
    assert await bot.ledger.balance(user.id) == 30
    assert len(picwish.creates) == 1


async def test_deadline_releases_the_credits(make_settings, telegram, picwish):
    picwish.hold_new_tasks = True
    async with running(make_settings(providers__picwish__deadline=0.5)) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.edited(summary, "This took too long")
        assert await services.ledger.balance(user.id) == 30


async def test_double_tap_on_confirm_holds_once(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    first = await user.press(summary, "Confirm")
    second = await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    answers = [await user.answer_to(first), await user.answer_to(second)]
    assert sorted(answers, key=str) == [None, "This order has expired. Send a photo to start again."]
    await bot.runner.idle()
    assert len(picwish.creates) == 1
    assert await bot.ledger.balance(user.id) == 24


async def _prepare_job(
    settings,
    state: str,
    task_id: str | None,
    deadline_seconds: float,
    provider: str = "picwish",
    photo: bytes | None = None,
) -> str:
    """A job left in the database by an earlier run of the bot."""
    from bot.ops.media import MediaStore

    db = await Database.open(settings.database.path)
    try:
        repos = Repositories.on(db, daily_free=settings.credits.daily_free)
        await repos.users.ensure(5001, 5001, "en")
        options = {
            "spec_id": 3108,
            "px_width": 602,
            "px_height": 602,
            "dpi": 300,
            "bg_color": "FFFFFF",
            "bg_color2": None,
            "color_name": "white",
            "beauty": False,
            "clothes_id": None,
            "layout_size": None,
            "preview": False,
            "last_id": None,
        }
        input_ref = MediaStore(settings.media_dir).save_input(photo) if photo else None
        job = await repos.jobs.create(
            JobDraft(5001, 5001, "idphoto", provider, options, input_ref, 6, deadline_seconds)
        )
        await repos.jobs.update(job.id, state=state, provider_task_id=task_id)
        return job.id
    finally:
        await db.close()


async def test_a_finished_task_past_its_deadline_is_still_delivered(make_settings, telegram, picwish):
    settings = make_settings()
    client = PicwishClient(picwish.api_key, base_url=picwish.base_url)
    submission = await client.create(IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300), portrait_jpeg())
    await client.aclose()
    job_id = await _prepare_job(settings, "running", submission.task_id, deadline_seconds=-60)
    await picwish.wait_for(lambda: picwish.tasks[submission.task_id].state == 1)
    async with running(settings) as services:
        user = telegram.user()
        document = await user.next_message(kind="document", timeout=15)
        assert document.filename.startswith("idphoto_usa-visa_602x602")
        await services.runner.idle()
        assert (await services.jobs.get(job_id)).state == "succeeded"
        assert len(picwish.creates) == 1


async def test_a_job_found_submitting_is_not_sent_again(make_settings, telegram, picwish):
    settings = make_settings()
    job_id = await _prepare_job(settings, "submitting", None, deadline_seconds=300)
    async with running(settings) as services:
        user = telegram.user()
        await user.next_message("restarted while sending your order to the photo service", timeout=15)
        await services.runner.idle()
        job = await services.jobs.get(job_id)
        assert (job.state, job.error, job.delivery) == ("failed", "interrupted", "done")
        assert picwish.creates == []
        assert await services.ledger.balance(5001) == 30
        assert await services.ledger.problems() == []


async def test_requests_per_minute_are_limited(make_settings, telegram):
    async with running(make_settings(limits__requests_per_minute=5)):
        user = telegram.user()
        for _ in range(8):
            await user.send_text("/balance")
        await user.next_message("sending a lot very quickly")

        def answers() -> int:
            return len([m for m in user.messages() if "You have" in m.text])

        await telegram.wait_for(lambda: answers() == 5)
        other = telegram.user(user_id=7777)
        await other.send_text("/balance")
        await other.next_message("You have 30 credits")  # nobody else is slowed down
        assert answers() == 5 and len([m for m in user.messages() if "quickly" in m.text]) == 1
        admin = telegram.user(user_id=9001)
        for _ in range(7):
            await admin.send_text("/balance")
        await telegram.wait_for(lambda: len([m for m in admin.messages() if "You have" in m.text]) == 7)


async def test_unfinished_jobs_per_user_are_limited(make_settings, telegram, picwish):
    picwish.hold_new_tasks = True
    async with running(make_settings(jobs__max_per_user=1)) as services:
        user = telegram.user()
        first = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(first, "Confirm")
        await picwish.task_created.wait()
        second = await order_until_summary(user, "Visa", "Japan Visa", "White")
        await user.press(second, "Confirm")
        await user.edited(second, "You already have 1 order in the works. When one is done, press Confirm again.")
        assert len(picwish.creates) == 1 and await services.ledger.balance(user.id) == 24


async def test_a_free_preview_that_fails_or_is_cancelled_speaks_of_no_credits(make_settings, telegram, picwish):
    """A watermarked preview costs nothing (prices.preview 0): its end says nothing was charged,
    not that "0 credits" came back."""
    picwish.next_states = [[(0, 0), (-7, 0)]]
    async with running(make_settings(jobs__max_concurrent=1)) as services:
        user, other = telegram.user(6001), telegram.user(6002)
        failed = await order_until_summary(user, "Visa", "USA Visa", "White", options=("Free preview",))
        assert "Price: 0 credits" in failed.text
        await user.press(failed, "Confirm")
        await user.edited(failed, "could not read this image")
        said = "❌ The photo service could not read this image. Please try another photo.\nNothing was charged."
        assert failed.text == said

        gate = picwish.hold["create"] = asyncio.Event()
        await user.press(await order_until_summary(user, "Visa", "USA Visa", "White"), "Confirm")
        await asyncio.wait_for(picwish.held.setdefault("create", asyncio.Event()).wait(), 10)
        waiting = await order_until_summary(other, "Visa", "USA Visa", "White", options=("Free preview",))
        await other.press(waiting, "Confirm")
        await other.edited(waiting, "Your order is in")
        await other.press(waiting, "Cancel")
        cancelled = await other.edited(waiting, "Cancelled.")
        assert cancelled.text == "Cancelled. Nothing was charged."
        gate.set()
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert await services.ledger.problems() == []
