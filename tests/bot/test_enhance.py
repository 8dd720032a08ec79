"""End-to-end: enhancement with a visible queue through the fake MagicTiger."""

from __future__ import annotations

import httpx
import pytest

from bot.main.app import running
from bot.services import registry
from tests.bot.flows import order_enhance, pixel_size
from tests.conftest import portrait_jpeg
from tests.fakes.magictiger import EXPECTED_CALLBACK_ANSWER


async def test_enhance_shows_the_queue_and_delivers(bot, telegram, tiger):
    tiger.hold = True  # the test moves the queue itself
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    assert "Price: 9 credits" in summary.text
    await user.press(summary, "Confirm")
    await user.edited(summary, "Waiting in the queue: place 2")
    (task,) = tiger.tasks.values()
    await tiger.step(task)
    await user.edited(summary, "Waiting in the queue: place 1")
    tiger.hold = False
    document = await user.next_message(kind="document", timeout=15)
    assert pixel_size(document.data) == (600, 800)
    await user.edited(summary, "Done! 9 credits used.")
    (create,) = tiger.creates
    assert create["picurl"].startswith(bot.settings.server.public_url + "/media/")
    assert telegram.token not in create["picurl"]
    (task,) = tiger.tasks.values()
    assert create["chtaskid"] == task.chtaskid and await bot.jobs.get(task.chtaskid) is not None
    await tiger.wait_for(lambda: tiger.callback_answers)
    assert tiger.callback_answers == [EXPECTED_CALLBACK_ANSWER]
    assert await bot.ledger.balance(user.id) == 21


async def test_several_outputs_arrive_as_an_album_and_documents(bot, telegram, tiger):
    user = telegram.user()
    summary = await order_enhance(user, "Colorize black & white")
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 11 credits used.", timeout=15)
    photos = user.messages("photo")
    documents = user.messages("document")
    assert len(photos) == 2 and photos[0].params["media_group_id"] == photos[1].params["media_group_id"]
    assert len(documents) == 2
    assert documents[0].buttons() == [] and [b["text"] for b in documents[1].buttons()] == ["📷 New photo"]


async def test_an_enhanced_photo_arrives_whole_with_its_face_close_ups_after_it(bot, telegram, tiger):
    tiger.faces_in_photo = 2
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")  # a 300x400 photo
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 9 credits used.", timeout=15)
    (photo,) = user.messages("photo")
    documents = user.messages("document")
    assert pixel_size(photo.data) == (600, 800)  # the whole enhanced photo, not a face
    assert [pixel_size(d.data) for d in documents] == [(600, 800), (256, 256), (256, 256)]
    assert [d.params.get("caption") for d in documents[1:]] == ["Face close-up 1", "Face close-up 2"]
    assert [bool(d.buttons()) for d in documents] == [False, False, True]  # New photo under the last


async def test_an_enhanced_photo_too_large_for_a_telegram_photo_is_shown_scaled_down(bot, telegram, tiger):
    """Telegram takes no photo whose width and height add up to over 10000 pixels: MagicTiger's
    double of a 3000×2200 photo (6000×4400) was refused, and the user got the file alone, no photo."""
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance", portrait_jpeg(3000, 2200))
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 9 credits used.", timeout=30)
    (photo,) = user.messages("photo")
    assert pixel_size(photo.data) == (2560, 1877)  # as large as Telegram shows a photo
    assert photo.text == "6000×4400 px"  # the size of the exact file, which follows
    exact, close_up = user.messages("document")  # the exact file, then the face's close-up
    assert pixel_size(exact.data) == (6000, 4400)
    assert [bool(m.buttons()) for m in (photo, exact, close_up)] == [False, False, True]
    assert telegram.refused == []


async def test_an_album_of_photos_too_large_for_telegram_arrives_scaled_down(bot, telegram, tiger):
    """Colorize's two outputs go as an album: one photo Telegram refused cost the user the whole album."""
    user = telegram.user()
    summary = await order_enhance(user, "Colorize black & white", portrait_jpeg(3000, 2200))
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 11 credits used.", timeout=30)
    assert [pixel_size(p.data) for p in user.messages("photo")] == [(2560, 1877)] * 2
    assert [pixel_size(d.data) for d in user.messages("document")] == [(6000, 4400)] * 2
    assert telegram.refused == []


async def test_cancel_deletes_the_task_where_the_operator_says_deleted_tasks_are_free(make_settings, telegram, tiger):
    tiger.hold = True
    async with running(make_settings(providers__magictiger__cancellable=True)) as bot:
        user = telegram.user()
        summary = await order_enhance(user, "Sharpen & enhance")
        await user.press(summary, "Confirm")
        await user.edited(summary, "Waiting in the queue: place 2")
        await user.press(summary, "Cancel")
        await user.edited(summary, "Cancelled. Your 9 credits were returned.")
        (task,) = tiger.tasks.values()
        assert task.deleted
        assert await bot.ledger.balance(user.id) == 30


async def test_a_running_task_is_not_cancelled_nor_refunded_by_default(bot, telegram, tiger):
    """Document 003 never says deletetask undoes the charge (a task is charged when created): once
    MagicTiger has the task, Cancel is gone, a stale Cancel is refused, nothing is deleted, and the
    photo arrives and is paid for, as with the other providers."""
    tiger.hold = True
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    stale_cancel = summary
    await user.press(summary, "Confirm")
    await user.edited(summary, "Waiting in the queue: place 2")
    assert summary.buttons() == []
    (job_id,) = [row["id"] for row in await bot.db.fetchall("SELECT id FROM jobs")]
    query = await user.press_data(stale_cancel, f"j:cancel:{job_id}")
    assert "can no longer be cancelled" in (await user.answer_to(query) or "")
    (task,) = tiger.tasks.values()
    assert not task.deleted
    tiger.hold = False
    await user.next_message(kind="document", timeout=15)
    await user.edited(summary, "Done! 9 credits used.")
    assert await bot.ledger.balance(user.id) == 21 and not task.deleted


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (1001002, "could not fetch the image"),
        (1001003, "image is too large"),
        (1001004, "does not accept this kind of image"),
        (1003002, "run out of uses"),
        (1001001, "could not be processed"),
    ],
)
async def test_create_errors_are_told_and_refunded(bot, telegram, tiger, code, message):
    tiger.next_create_codes = [code]
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    await user.press(summary, "Confirm")
    await user.edited(summary, message)
    assert await bot.ledger.balance(user.id) == 30


async def test_a_failed_task_is_told_and_refunded(bot, telegram, tiger):
    tiger.next_failure = 1001001
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not be processed")
    assert await bot.ledger.balance(user.id) == 30
    assert await bot.ledger.problems() == []


async def test_one_unknown_code_to_gettask_is_asked_again_and_the_photo_is_delivered(bot, telegram, tiger):
    """A gettask code document 003 does not list, once, for a task MagicTiger has (and charged for):
    asked again, the photo arrives and is paid for instead of the job failing and being refunded."""
    tiger.next_get_codes = [1009999]
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    await user.edited(summary, "Done! 9 credits used.")
    assert tiger.next_get_codes == [] and len(tiger.creates) == 1
    assert await bot.ledger.balance(user.id) == 21


async def test_unknown_codes_to_gettask_again_and_again_fail_the_job_and_refund_it(bot, telegram, tiger):
    tiger.next_get_codes = [1009999] * 20
    user = telegram.user()
    summary = await order_enhance(user, "Sharpen & enhance")
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not process this request", timeout=15)
    assert "Your 9 credits were returned." in summary.text and len(tiger.creates) == 1
    assert await bot.ledger.balance(user.id) == 30 and await bot.ledger.problems() == []


async def test_forged_and_unknown_callbacks_are_refused(bot, telegram, tiger):
    url = bot.settings.server.public_url + "/callbacks/magictiger"
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, json={"code": 0, "data": {"chtaskid": "x"}}, headers={"token": "forged"})
        unknown = await client.post(
            url, json={"code": 0, "data": {"chtaskid": "nojob"}}, headers={"token": tiger.token}
        )
    assert forged.status_code == 404 and unknown.status_code == 404


async def test_restart_in_the_middle_of_a_job(make_settings, telegram, tiger):
    tiger.hold = True
    settings = make_settings()
    user = telegram.user()
    async with running(settings):
        summary = await order_enhance(user, "Sharpen & enhance")
        await user.press(summary, "Confirm")
        await user.edited(summary, "Waiting in the queue: place 2")
    tiger.hold = False
    async with running(settings) as services:
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert len(tiger.creates) == 1 and len(user.messages("document")) == 2  # the photo and its face
        assert await services.ledger.balance(user.id) == 21


async def test_enhance_needs_a_public_url(make_settings, telegram):
    settings = make_settings(server__public_url="")
    assert "enhance" not in registry.enabled(settings)


async def test_the_photo_link_lives_as_long_as_the_job_may_need_it(bot, telegram, tiger):
    tiger.hold = True  # queued at MagicTiger, which may fetch the photo only when the task starts
    user = telegram.user()
    summary = await order_enhance(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "Waiting in the queue")
    (create,) = tiger.creates
    expiry = int(create["picurl"].rsplit("/", 1)[1].split(".")[1])
    job = await bot.jobs.get(create["chtaskid"])
    assert expiry == int(job.deadline) and job.deadline - job.created_at == pytest.approx(1800, abs=5)


async def test_the_account_callback_url_passes_magictigers_check_and_its_probe_wakes_nothing(bot, telegram, tiger):
    user = telegram.user()
    summary = await order_enhance(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "Done! 9 credits used.", timeout=15)
    await tiger.wait_for(lambda: tiger.callback_answers)
    assert tiger.probe_answers == [EXPECTED_CALLBACK_ANSWER, EXPECTED_CALLBACK_ANSWER]  # GET, then a POST
    assert tiger.callback_url_valid and tiger.callback_answers == [EXPECTED_CALLBACK_ANSWER]
    url = bot.settings.server.public_url + "/callbacks/magictiger"
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(url, json={"code": 0, "msg": "", "data": {}})
        unsigned_job = await client.post(url, json={"code": 0, "data": {"chtaskid": create_job_id(tiger)}})
    # A probe names no task and wakes nothing: it gets the success answer without the token, which
    # the document names for callbacks only; a callback naming a task without the token does not.
    assert unsigned.status_code == 200 and unsigned.json() == EXPECTED_CALLBACK_ANSWER
    assert unsigned_job.status_code == 404


def create_job_id(tiger) -> str:
    (create,) = tiger.creates
    return str(create["chtaskid"])


async def test_a_job_past_its_deadline_deletes_its_task_before_it_is_refunded(make_settings, telegram, tiger):
    """As a user's Cancel does: MagicTiger drops the task and charges nothing, so the refund
    costs the operator nothing either (otherwise the task may still run, and be paid for)."""
    tiger.hold = True
    async with running(make_settings(providers__magictiger__deadline=3)) as bot:
        user = telegram.user()
        summary = await order_enhance(user, "Sharpen & enhance")
        await user.press(summary, "Confirm")
        await user.edited(summary, "Waiting in the queue: place 2")
        await user.edited(summary, "took too long", timeout=15)
        (task,) = tiger.tasks.values()
        assert task.deleted  # before the refund was told
        assert "9 credits were returned" in summary.text and await bot.ledger.balance(user.id) == 30
        assert await bot.ledger.problems() == []


async def test_the_place_in_the_queue_from_createtask_shows_at_once(bot, telegram, tiger):
    from tests.fakes.faults import Fault

    tiger.initial_queue = 4
    tiger.server.faults.always("gettask", Fault.error(500))  # no status query answers: only createtask's
    user = telegram.user()
    summary = await order_enhance(user)
    await user.press(summary, "Confirm")
    await user.edited(summary, "not answering properly")
    assert "⏳ Waiting in the queue: place 4" in summary.shown


async def test_a_summary_of_a_type_the_operator_removed_is_unavailable(make_settings, telegram, tiger):
    """A summary kept across a restart whose enhance type left the configuration meanwhile: its
    Confirm says the service is unavailable and holds nothing (it raised StopIteration, which a
    coroutine turns into "something went wrong")."""
    settings = make_settings()
    user = telegram.user()
    async with running(settings):
        summary = await order_enhance(user, "Sharpen & enhance")
    colorize_only = [{"id": "colorize", "title": "Colorize black & white", "type": 2, "price": 11, "outputs": "list"}]
    async with running(make_settings(providers__magictiger__enhance_types=colorize_only)) as services:
        query = await user.press(summary, "Confirm")
        assert await user.answer_to(query) == "This service is not available right now."
        assert tiger.creates == [] and await services.ledger.balance(user.id) == 30
        assert not any("went wrong" in m.text for m in user.messages())
