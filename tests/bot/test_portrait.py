"""End-to-end: AI portrait on a template through the fake 玩星 API behind a fake API Gateway."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.main.app import running
from tests.bot.flows import pixel_size
from tests.conftest import portrait_jpeg
from tests.fakes.wanxing import RESULT_SIZE


async def _gallery(user, photo: bytes | None = None):
    await user.send_document(photo or portrait_jpeg(800, 1000), "me.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "AI portrait")
    return await user.next_message(kind="photo")


async def _summary(user, photo: bytes | None = None):
    """The order summary for the first template."""
    gallery = await _gallery(user, photo)
    await user.press(gallery, "Choose this one")
    return await user.next_message("Please check your order")


async def test_browse_choose_and_receive(bot, telegram, wanxing):
    user = telegram.user()
    gallery = await _gallery(user)
    assert gallery.text == "Studio · Classic (1/2)"
    first_picture = gallery.data
    await user.press(gallery, "▶")
    await user.edited(gallery, "Garden · Classic (2/2)")
    assert pixel_size(gallery.data) == (1000, 1000) and gallery.data != first_picture
    await user.press(gallery, "Choose this one")
    summary = await user.next_message("Please check your order")
    assert "Template: Garden" in summary.text and "Price: 20 credits" in summary.text
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert pixel_size(document.data) == RESULT_SIZE
    await user.edited(summary, "Done! 20 credits used.")

    (request,) = [r for r in wanxing.requests if "source_url" in r]
    public = bot.settings.server.public_url + "/media/"
    assert request["source_url"].startswith(public) and request["target_url"].startswith(public)
    assert request["notify_url"].startswith(bot.settings.server.public_url + "/callbacks/wanxing/")
    assert request["timeout"] == 60
    assert telegram.token not in str(request)
    assert wanxing.fetched == {"source_url": (800, 1000), "target_url": (1000, 1000)}
    (job,) = wanxing.jobs.values()
    await wanxing.wait_for(lambda: job.notify_answers)
    assert job.notify_answers[0] == (200, "successfully")
    stored = await bot.jobs.get((await bot.db.fetchone("SELECT id FROM jobs"))["id"])
    assert stored.deadline - stored.created_at == pytest.approx(120, abs=1)  # the configured timeout + a minute
    assert await bot.ledger.balance(user.id) == 10


async def test_a_small_photo_is_refused_before_any_charge(bot, telegram, wanxing):
    user = telegram.user()
    await user.send_document(portrait_jpeg(500, 600), "small.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "AI portrait")
    await user.next_message("at least 640 px on each side")
    assert wanxing.jobs == {} and await bot.ledger.balance(user.id) == 30


async def test_a_large_photo_is_published_within_the_recommended_size(bot, telegram, wanxing):
    user = telegram.user()
    summary = await _summary(user, portrait_jpeg(3000, 4000))
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert max(wanxing.fetched["source_url"]) == 2500


async def test_a_failed_job_is_told_and_refunded(bot, telegram, wanxing):
    wanxing.next_failure = (-22222, "NoFaceDetected")
    user = telegram.user()
    summary = await _summary(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not be processed")
    assert await bot.ledger.balance(user.id) == 30


async def test_restart_in_the_middle_of_a_job(make_settings, telegram, wanxing):
    wanxing.hold = True
    settings = make_settings()
    user = telegram.user()
    async with running(settings):
        summary = await _summary(user)
        await user.press(summary, "Confirm")
        await user.edited(summary, "Working on it… 10%")
    async with running(settings) as services:
        # The task starts once the bot is back: 玩星 fetches the photos when it starts them.
        wanxing.hold = False
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert len(wanxing.jobs) == 1 and len(user.messages("document")) == 1
        assert await services.ledger.balance(user.id) == 10


async def test_a_refused_submission_is_told_and_refunded(make_settings, telegram, wanxing):
    async with running(make_settings(providers__wanxing__app_secret="not-the-secret")) as services:
        user = telegram.user()
        summary = await _summary(user)
        await user.press(summary, "Confirm")
        await user.edited(summary, "refused this bot's credentials")
        assert wanxing.jobs == {} and await services.ledger.balance(user.id) == 30


async def test_gateway_flow_control_and_a_retried_query_still_deliver(bot, telegram, wanxing):
    wanxing.gateway_errors = [(403, "Throttled by APP Flow Control")]  # the submission, waited out
    wanxing.queries_unavailable = 1  # one query's retry needs a fresh signature
    user = telegram.user()
    summary = await _summary(user)
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert pixel_size(document.data) == RESULT_SIZE
    assert wanxing.refusals == ["Throttled by APP Flow Control"]  # no "Nonce Used"
    assert await bot.ledger.balance(user.id) == 10


async def test_an_account_out_of_calls_alerts_the_admins_and_costs_the_user_nothing(bot, telegram, wanxing):
    admin = telegram.user(user_id=9001)
    await admin.send_text("/start")
    await admin.next_message()
    wanxing.gateway_errors = [(403, "Quota Exhausted")]
    user = telegram.user()
    summary = await _summary(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "The operator has been told")
    alert = await admin.next_message("has run out of paid uses")
    assert alert.text.startswith("⚠️ wanxing")
    assert await bot.ledger.balance(user.id) == 30 and await bot.ledger.problems() == []


async def test_an_odd_query_status_is_asked_again_and_in_a_row_ends_the_job(bot, telegram, wanxing):
    wanxing.hold = True
    wanxing.odd_queries = [{"status": -1, "error": "InternalError", "errmsg": "busy"}]
    user = telegram.user()
    summary = await _summary(user)
    await user.press(summary, "Confirm")
    await wanxing.wait_for(lambda: not wanxing.odd_queries)  # answered oddly once
    wanxing.hold = False
    await user.next_message(kind="document", timeout=15)
    assert await bot.ledger.balance(user.id) == 10
    wanxing.hold = True
    wanxing.odd_queries = [{"status": -1, "error": "InternalError", "errmsg": "busy"}] * 3
    other = telegram.user(user_id=5002)
    again = await _summary(other)
    await other.press(again, "Confirm")
    await other.edited(again, "could not understand", timeout=15)
    assert "Your 20 credits were returned." in again.text and await bot.ledger.balance(other.id) == 30


async def test_a_job_stopped_at_its_timeout_is_notified_told_and_refunded(bot, telegram, wanxing):
    """Document 001: a task not done at the request's ``timeout`` is no longer run, and the timeout
    error is sent to notify_url. The bot takes that notice (answering "successfully"), the job fails
    as the provider failed it, and the credits come back; nothing is submitted again."""
    from tests.fakes.clock import ManualClock
    from tests.fakes.wanxing import TIMED_OUT

    wanxing.clock = clock = ManualClock()
    wanxing.hold = True  # queued at 玩星 until its timeout
    user = telegram.user()
    summary = await _summary(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "Working on it… 10%")
    (job,) = wanxing.jobs.values()
    assert job.fields["timeout"] == bot.settings.providers.wanxing.timeout
    clock.advance(job.fields["timeout"])
    await user.edited(summary, "could not be processed", timeout=15)
    assert job.fail == TIMED_OUT and job.notify_answers[0] == (200, "successfully")
    assert "credits were returned" in summary.text and await bot.ledger.balance(user.id) == 30
    assert len(wanxing.jobs) == 1 and await bot.ledger.problems() == []


async def _picture(data: bytes, _request: web.Request) -> web.Response:
    return web.Response(body=data, content_type="image/jpeg")


@contextlib.asynccontextmanager
async def _pictures(**served: bytes) -> AsyncIterator[str]:
    """A web server on 127.0.0.1 serving each ``name.jpg`` given (anything else: 404); its address."""
    app = web.Application()
    for name, data in served.items():
        app.router.add_get(f"/{name}.jpg", functools.partial(_picture, data))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


async def test_a_template_whose_url_telegram_cannot_fetch_is_left_out_of_the_gallery(
    make_settings, telegram, wanxing, templates, caplog
):
    """Telegram fetches a template given as a URL itself: a dead link (or a picture over its 5 MB)
    left every "AI portrait" press with "Something went wrong". It is left out and the operator told
    in the log; the person browses the others."""
    async with _pictures(beach=portrait_jpeg(900, 1200)) as site:
        listed = [
            {"id": "gone", "title": "Gone", "image": f"{site}/gone.jpg"},
            {"id": "beach", "title": "Beach", "category": "Classic", "image": f"{site}/beach.jpg"},
            {**templates[0], "id": "studio"},
            {"id": "moved", "title": "Moved", "image": f"{site}/moved.jpg"},
        ]
        async with running(make_settings(providers__wanxing__templates=listed)):
            user = telegram.user()
            gallery = await _gallery(user)
            assert gallery.text == "Beach · Classic (1/3)"
            await user.press(gallery, "▶")
            await user.edited(gallery, "Studio · Classic (2/3)")
            await user.press(gallery, "▶")  # the third, moved.jpg, is gone too: the next is shown
            await user.edited(gallery, "Beach · Classic (1/2)")
            await user.press(gallery, "Choose this one")
            summary = await user.next_message("Please check your order")
            assert "Template: Beach" in summary.text
    left_out = [r.getMessage() for r in caplog.records if "Telegram cannot show" in r.getMessage()]
    assert [message.split(":")[0] for message in left_out] == ["portrait template gone", "portrait template moved"]


async def test_with_no_template_telegram_can_show_ai_portraits_say_they_are_unavailable(
    make_settings, telegram, wanxing, caplog
):
    async with _pictures() as site:
        listed = [{"id": "gone", "title": "Gone", "image": f"{site}/gone.jpg"}]
        async with running(make_settings(providers__wanxing__templates=listed)):
            user = telegram.user(language_code="zh-hans")
            await user.send_document(portrait_jpeg(800, 1000), "me.jpg", "image/jpeg")
            menu = await user.next_message("想做什么")
            await user.press(menu, "AI 写真")
            told = await user.next_message("AI 写真暂时无法使用")
            assert told.buttons()
    assert [r for r in caplog.records if r.levelname == "ERROR" and "handler failed" in r.getMessage()] == []
