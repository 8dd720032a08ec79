"""End to end: several sizes from one photo in one order (issue 27, point 1). Each size added on
the summary is checked before any charge, the summary lists every size with its colour and price
and the total once, one Confirm places one job per size (one hold each, settled on its own), and
each size arrives as a photo and its exact file; for PicWish (one task per size, each paid only if
delivered) and the local engine (the first size its bought preview); across restarts."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from bot.main.app import running
from bot.services.idphoto.buttons import BuyPreview, MorePreviewSizes
from tests.bot.flows import (
    add_size,
    another_size,
    local_preview,
    order_until_summary,
    pick_searched_spec,
    pixel_size,
    preview_with_size,
)
from tests.conftest import astronaut, portrait_jpeg
from tests.fakes.telegram_api import FakeUser, SentMessage

MORE = "➕ Another size from this photo"


async def _jobs(services) -> list[dict]:
    rows = await services.db.fetchall("SELECT * FROM jobs ORDER BY created_at, price DESC")
    return [{**row, "options": json.loads(row["options"])} for row in rows]


async def _documents(user: FakeUser, count: int) -> dict[str, SentMessage]:
    await user.api.wait_for(lambda: len(user.messages("document")) >= count, 30)
    return {document.filename: document for document in user.messages("document")}


async def test_two_sizes_by_picwish_one_price_one_confirm_a_photo_and_file_each(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    assert [b["text"] for b in summary.buttons()] == ["✅ Confirm", "✖ Cancel", MORE]
    summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
    assert (
        "2 sizes from one photo:\n"
        "• USA Visa · 51×51 mm, ⬜ White: 6 credits\n"
        "• Small 2 Inch · 35×45 mm, 🟦 Blue: 3 credits\n"
        "Each size after the first costs 50% of its own price (rounded up to a whole credit)."
    ) in summary.text
    assert "Price: 9 credits (you have 30)." in summary.text
    assert [b["text"] for b in summary.buttons()] == [
        "✅ Confirm",
        "✖ Cancel",
        MORE,
        "✖ Remove Small 2 Inch · 35×45 mm, 🟦 Blue",
    ]
    await user.press(summary, "Confirm")
    await user.edited(summary, "Your order is in: 2 photos")

    documents = await _documents(user, 2)
    assert sorted(documents) == ["idphoto_small-2-inch_413x531_300dpi.jpg", "idphoto_usa-visa_602x602_300dpi.jpg"]
    assert pixel_size(documents["idphoto_small-2-inch_413x531_300dpi.jpg"].data) == (413, 531)
    await user.api.wait_for(lambda: len(user.messages("photo")) == 2)
    await user.edited(summary, "USA Visa · 51×51 mm, ⬜ White: ✅ Done! 6 credits used.")
    await user.next_message("Small 2 Inch · 35×45 mm, 🟦 Blue: ✅ Done! 3 credits used.")
    assert sorted((c["spec_id"], c["bg_color"]) for c in picwish.creates) == [("1104", "438EDB"), ("3108", "FFFFFF")]
    assert await bot.ledger.balance(user.id) == 21
    assert await bot.ledger.problems() == []
    first, extra = await _jobs(bot)
    assert (first["price"], extra["price"]) == (6, 3)
    assert first["order_group"] == extra["order_group"] == first["id"]
    assert extra["status_message_id"] is None and first["status_message_id"] == summary.message_id


async def test_cancel_while_the_order_waits_for_a_slot_cancels_every_size(make_settings, telegram, picwish):
    gate = picwish.hold["create"] = asyncio.Event()
    async with running(make_settings(jobs__max_concurrent=1)) as services:
        first, second = telegram.user(6101), telegram.user(6102)
        first_summary = await order_until_summary(first, "Visa", "USA Visa", "White")
        await first.press(first_summary, "Confirm")
        await asyncio.wait_for(picwish.held.setdefault("create", asyncio.Event()).wait(), 10)
        summary = await order_until_summary(second, "Visa", "USA Visa", "White")
        summary = await add_size(second, summary, "1104", "Small 2 Inch", "Blue")
        await second.press(summary, "Confirm")
        await second.edited(summary, "Your order is in: 2 photos")
        await second.press(summary, "Cancel")
        await second.edited(summary, "USA Visa · 51×51 mm, ⬜ White: Cancelled. Your 6 credits were returned.")
        await second.next_message("Small 2 Inch · 35×45 mm, 🟦 Blue: Cancelled. Your 3 credits were returned.")
        gate.set()
        await first.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert len(picwish.creates) == 1
        assert await services.ledger.balance(second.id) == 30
        assert await services.ledger.problems() == []


async def test_one_picwish_task_failing_gives_back_only_its_size(bot, telegram, picwish):
    picwish.states_by_spec = {"1104": [(0, 0), (4, 30), (-7, 0)]}
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
    await user.press(summary, "Confirm")
    failed = await user.next_message("Small 2 Inch · 35×45 mm, 🟦 Blue: ❌ The photo service", timeout=20)
    assert "could not read this image" in failed.text and "Your 3 credits were returned." in failed.text
    assert "🔁 Try again" in [b["text"] for b in failed.buttons()]
    documents = await _documents(user, 1)
    assert list(documents) == ["idphoto_usa-visa_602x602_300dpi.jpg"]
    await user.edited(summary, "USA Visa · 51×51 mm, ⬜ White: ✅ Done! 6 credits used.")
    await bot.runner.idle()
    assert len(user.messages("document")) == 1
    assert await bot.ledger.balance(user.id) == 24
    assert await bot.ledger.problems() == []
    assert sorted(job["state"] for job in await _jobs(bot)) == ["failed", "succeeded"]
    # Try again makes that size at the price it had in the order, once.
    picwish.states_by_spec = {}
    await user.press(failed, "Try again")
    again = await user.next_message("Please check your order")
    assert "Made again at the price it had as an extra size in your order: 50% of its own price." in again.text
    assert "Price: 3 credits (you have 24)." in again.text
    # No more sizes join it: they would all be extras, with no size at its full price.
    assert MORE not in [b["text"] for b in again.buttons()]
    await user.press(again, "Confirm")
    await _documents(user, 2)
    await user.press(failed, "Try again")  # again: the same order, placed already
    twice = await user.next_message("Please check your order")
    await user.press(twice, "Confirm")
    await user.edited(twice, "You confirmed this order already")
    await bot.runner.idle()
    assert await bot.ledger.balance(user.id) == 21
    assert len(picwish.creates) == 3
    assert await bot.ledger.problems() == []


async def test_an_extra_size_tried_again_after_its_whole_order_failed_is_at_its_full_price(bot, telegram, picwish):
    """Both sizes of an order fail and are given back. Try again on the extra size is a whole
    order: nothing of that order was paid at full price (before, a full size sold at half price)."""
    picwish.states_by_spec = {"1104": [(0, 0), (4, 30), (-7, 0)], "3108": [(0, 0), (4, 30), (-7, 0)]}
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
    await user.press(summary, "Confirm")
    failed = await user.next_message("Small 2 Inch · 35×45 mm, 🟦 Blue: ❌", timeout=20)
    await bot.runner.idle()
    assert sorted(job["state"] for job in await _jobs(bot)) == ["failed", "failed"]
    assert await bot.ledger.balance(user.id) == 30
    picwish.states_by_spec = {}
    await user.press(failed, "Try again")
    again = await user.next_message("Please check your order")
    assert "Price: 6 credits (you have 30)." in again.text and "50%" not in again.text
    assert MORE in [b["text"] for b in again.buttons()]  # a size at full price: others may join it
    await user.press(again, "Confirm")
    await _documents(user, 1)
    await bot.runner.idle()
    assert await bot.ledger.balance(user.id) == 24
    assert await bot.ledger.problems() == []


async def test_a_size_the_head_is_too_small_for_is_refused_by_name_and_the_order_stands(
    make_settings, telegram, picwish
):
    """The 512-pixel astronaut makes a small 1-inch photo, not a 35x45 visa (her head would have to
    grow 2.9 times): the visa is refused when it is picked, before any charge, and the order goes
    on with the size it had."""
    out = io.BytesIO()
    astronaut().save(out, "JPEG", quality=95)
    async with running(make_settings()) as services:
        user = telegram.user()
        found = await pick_searched_spec(user, out.getvalue(), "1101", "Small 1 Inch")
        await user.edited(found, "Choose a background colour")
        await user.press(found, "White")
        await user.edited(found, "Options")
        await user.press(found, "Continue")
        summary = await user.edited(found, "Please check your order")

        await user.press(summary, MORE)
        await user.edited(summary, "Another size from the same photo")
        await user.send_text("3110")
        visa = await user.next_message("Results for")
        await user.press(visa, "· Universal Visa")
        refused = await user.edited(visa, "Your head is too small in this photo for Universal Visa (413×531 px)")
        assert [b["text"] for b in refused.buttons()] == ["« Back", "↩️ Back to the order"]
        await user.press(refused, "↩️ Back to the order")
        again = await user.edited(refused, "Please check your order")
        assert "sizes from one photo" not in again.text and "Price: 6 credits" in again.text
        assert picwish.creates == [] and await services.db.fetchall("SELECT id FROM jobs") == []
        await user.press(again, "Confirm")
        await _documents(user, 1)
        assert len(picwish.creates) == 1 and await services.ledger.balance(user.id) == 24


async def test_an_extra_size_can_be_taken_out_and_the_bound_is_kept(make_settings, telegram, picwish):
    async with running(make_settings(limits__extra_specs=1)) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
        # One extra is all this operator allows: no ➕ left, only the way to take it out.
        assert [b["text"] for b in summary.buttons()][2:] == ["✖ Remove Small 2 Inch · 35×45 mm, 🟦 Blue"]
        edits = summary.edits
        await user.press(summary, "✖ Remove Small 2 Inch · 35×45 mm, 🟦 Blue")
        await user.api.wait_for(lambda: summary.edits > edits)
        assert "sizes from one photo" not in summary.text and "Price: 6 credits" in summary.text
        await user.press(summary, "Confirm")
        await _documents(user, 1)
        assert len(await _jobs(services)) == 1


async def test_the_same_size_in_the_same_colour_again_is_one_and_the_person_is_told(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
    found = await another_size(user, summary, "1104", "Small 2 Inch")
    colour = await user.press(found, "Blue")
    assert await user.answer_to(colour) == "That size in that colour is in the order already."
    again = await user.edited(found, "Please check your order")
    assert "2 sizes from one photo" in again.text and again.text.count("Small 2 Inch") == 1
    assert "Price: 9 credits" in again.text


async def test_a_second_tap_on_remove_takes_out_nothing_more(make_settings, telegram, picwish):
    """A double tap on "✖ Remove" sends the same button twice: the second finds the sizes moved up
    and takes none of them out."""
    async with running(make_settings()):
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
        summary = await add_size(user, summary, "1101", "Small 1 Inch", "Blue")
        data = summary.button("✖ Remove Small 2 Inch")["callback_data"]
        edits = summary.edits
        await user.press_data(summary, data)
        await user.api.wait_for(lambda: summary.edits > edits)
        again = await user.press_data(summary, data)  # the same button, once more
        await user.api.wait_for(lambda: again in user.api.callback_answers)
        assert user.api.callback_answers[again] == "That size is out of the order already."
        assert "Small 2 Inch" not in summary.text and "Small 1 Inch" in summary.text
        assert [b["text"] for b in summary.buttons() if b["text"].startswith("✖ Remove")] == [
            "✖ Remove Small 1 Inch · 22×32 mm, 🟦 Blue"
        ]


async def test_the_order_survives_restarts_while_sizes_are_added_and_while_the_tasks_run(
    make_settings, telegram, picwish
):
    settings = make_settings()
    user = telegram.user(user_id=2701)
    async with running(settings):
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, MORE)
        await user.edited(summary, "Another size from the same photo")
        await user.send_text("1104")
        found = await user.next_message("Results for")
    async with running(settings):  # restarted while the extra size was being chosen
        await user.press(found, "· Small 2 Inch")
        await user.edited(found, "background colour")
        await user.press(found, "Blue")
        summary = await user.edited(found, "Please check your order")
        assert "Price: 9 credits" in summary.text
    async with running(settings):  # and again before Confirm, and while both tasks run
        picwish.hold_new_tasks = True
        await user.press(summary, "Confirm")
        await user.edited(summary, "Your order is in: 2 photos")
        await telegram.wait_for(lambda: len(picwish.creates) == 2 and picwish.queries > 0)
    picwish.release()
    async with running(settings) as services:
        documents = await _documents(user, 2)
        assert len(documents) == 2
        await services.runner.idle()
        assert len(picwish.creates) == 2
        assert len(user.messages("document")) == 2 and len(user.messages("photo")) == 2
        assert await services.ledger.balance(2701) == 21
        assert await services.ledger.problems() == []
        assert await services.jobs.unfinished() == []


async def test_the_summary_of_several_sizes_in_chinese(bot, telegram, picwish):
    user = telegram.user(language_code="zh-hans")
    await user.send_photo(portrait_jpeg())
    menu = await user.next_message("")
    await user.press(menu, "证件照")
    await user.edited(menu, "请选择类别")
    await user.send_text("3108")
    found = await user.next_message("")
    await user.press_data(found, found.buttons()[0]["callback_data"])
    await user.api.wait_for(lambda: "请选择底色" in found.text)
    await user.press_data(found, found.buttons()[0]["callback_data"])  # the first colour
    await user.edited(found, "选项")
    await user.press(found, "继续 »")
    summary = await user.edited(found, "请确认订单")
    await user.press(summary, "➕ 用这张照片再做一个规格")
    await user.edited(summary, "用同一张照片再做一个规格")
    await user.send_text("1104")
    more = await user.next_message("")
    await user.press_data(more, more.buttons()[0]["callback_data"])
    await user.api.wait_for(lambda: "请选择底色" in more.text)
    await user.press_data(more, more.buttons()[1]["callback_data"])  # blue
    await user.edited(more, "同一张照片的 2 个规格")
    assert "第一个之后的每个规格按其原价的 50% 计（向上取整为整数积分）" in more.text and "价格：9 积分" in more.text


async def test_local_engine_buys_the_preview_with_another_size_made_at_confirm(make_settings, telegram):
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        assert services.enabled_services["idphoto"] == "local"
        user = telegram.user()
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        assert [b["text"] for b in preview.buttons()][-1] == MORE
        await user.press(preview, MORE)
        menu = await user.next_message("Another size from the same photo")
        await user.api.wait_for(lambda: preview.buttons() == [])  # its Confirm is the summary's now
        await user.send_text("1104")
        found = await user.next_message("Results for")
        await user.press(found, "· Small 2 Inch")
        await user.edited(found, "background colour")
        await user.press(found, "Blue")
        summary = await user.edited(found, "Please check your order")
        lines = "• USA Visa · 51×51 mm, ⬜ White: 2 credits\n• Small 2 Inch · 35×45 mm, 🟦 Blue: 1 credit"
        assert lines in summary.text
        assert "Price: 3 credits (you have 30)." in summary.text
        assert menu.text.startswith("Another size from the same photo")
        await user.press(summary, "Confirm")
        documents = await _documents(user, 2)
        visa = documents["idphoto_usa-visa_602x602_300dpi.jpg"]
        small = documents["idphoto_small-2-inch_413x531_300dpi.jpg"]
        assert pixel_size(small.data) == (413, 531)
        jobs = await _jobs(services)
        free, *paid = jobs
        assert free["price"] == 0 and free["options"]["preview"]
        assert sorted(job["price"] for job in paid) == [1, 2]
        bought = next(job for job in paid if job["price"] == 2)
        assert bought["options"]["from_preview"] == free["id"]
        stored = json.loads(free["result"])["files"][0]
        assert visa.data == services.media.read(stored)  # the very file the preview was measured on
        extra = next(job for job in paid if job["price"] == 1)
        assert extra["options"]["cutout_accepted"] and extra["input_ref"] == free["input_ref"]
        assert await services.ledger.balance(user.id) == 27
        assert await services.ledger.problems() == []


async def test_the_local_order_survives_restarts_between_the_preview_and_confirm(make_settings, telegram):
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    settings = make_settings(providers__picwish__enabled=False)
    user = telegram.user(user_id=2702)
    async with running(settings):
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await user.press(preview, MORE)
        await user.next_message("Another size from the same photo")
        await user.send_text("1104")
        found = await user.next_message("Results for")
    async with running(settings):  # restarted while the extra size was being chosen
        await user.press(found, "· Small 2 Inch")
        await user.edited(found, "background colour")
        await user.press(found, "Blue")
        summary = await user.edited(found, "Please check your order")
        assert "Price: 3 credits" in summary.text
    async with running(settings) as services:  # and again before Confirm
        await user.press(summary, "Confirm")
        documents = await _documents(user, 2)
        assert sorted(documents) == ["idphoto_small-2-inch_413x531_300dpi.jpg", "idphoto_usa-visa_602x602_300dpi.jpg"]
        await services.runner.idle()
        assert await services.ledger.balance(2702) == 27
        assert await services.ledger.problems() == []
        assert await services.jobs.unfinished() == []


async def test_a_previews_confirm_after_a_price_change_shows_the_new_price_first(make_settings, telegram):
    """A free preview's Confirm names its price (2 credits); the operator raises it to 9 before the
    press (a restart): the press charges nothing and shows the summary with the new price, whose
    Confirm buys the preview's photo at it (before, 9 credits went in one tap on "Confirm · 2")."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    user = telegram.user(user_id=2703)
    async with running(make_settings(providers__picwish__enabled=False)):
        preview = await local_preview(user, "Visa", "USA Visa", "White")
    async with running(make_settings(providers__picwish__enabled=False, providers__local__price=9)) as services:
        await user.press(preview, "✅ Confirm · 2 credits")
        summary = await user.next_message("Please check your order")
        assert "Price: 9 credits (you have 30)." in summary.text
        assert await services.ledger.balance(2703) == 30
        await telegram.wait_for(lambda: not preview.buttons())  # the summary's Confirm is the one now
        await user.press(summary, "Confirm")
        await _documents(user, 1)
        await services.runner.idle()
        assert await services.ledger.balance(2703) == 21
        assert await services.ledger.problems() == []


async def test_a_previews_confirm_of_before_its_price_was_on_it_shows_the_summary_first(make_settings, telegram):
    """A preview delivered before Confirm carried its price (``i:buy:<job>``): its press shows the
    summary with today's price, and nothing is charged until that summary's Confirm."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    user = telegram.user(user_id=2704)
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        (job_id,) = [row["id"] for row in await services.db.fetchall("SELECT id FROM jobs WHERE user_id = 2704")]
        await user.press_data(preview, BuyPreview(job_id).data())
        summary = await user.next_message("Please check your order")
        assert "Price: 2 credits (you have 30)." in summary.text
        assert await services.ledger.balance(2704) == 30
        await user.press(summary, "Confirm")
        await _documents(user, 1)
        await services.runner.idle()
        assert await services.ledger.balance(2704) == 28


async def test_a_preview_bought_from_its_other_copy_takes_no_sizes_and_says_so(make_settings, telegram):
    """Two copies of one free preview (the delivered one and /orders' again): "Another size" under
    the first puts the preview with another size on a summary; Confirm under the second buys the
    preview alone. The summary's Confirm then places nothing and says the photo was bought on its
    own (before, it answered "on its way" and the extra size never came), and "Another size" under
    a copy of a bought preview says the same instead of starting an order that cannot be placed."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    user = telegram.user(user_id=2705)
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await telegram.wait_for(lambda: any("Nothing was charged" in m.text for m in user.messages()), 30)
        await user.send_text("/orders")
        listing = await user.next_message("Your orders")
        await user.press(listing, "📥 1")
        again = await user.next_message(kind="photo", timeout=30)
        summary = await preview_with_size(user, preview, "1104", "Small 2 Inch", "Blue")
        assert "Price: 3 credits" in summary.text
        await user.press(again, "Confirm")  # the preview alone, from its other copy
        await _documents(user, 1)
        await services.runner.idle()
        await user.press(summary, "Confirm")
        told = await user.edited(summary, "You bought this photo on its own already")
        assert "send the photo again" in told.text
        await services.runner.idle()
        assert [job["price"] for job in await _jobs(services)] == [0, 2]
        assert await services.ledger.balance(2705) == 28
        assert await services.ledger.problems() == []
        # "Another size" under the first copy (an old client still shows it): said at once.
        (job_id,) = [job["id"] for job in await _jobs(services) if job["price"] == 0]
        query = await user.press_data(preview, MorePreviewSizes(job_id).data())
        assert (await user.answer_to(query)).startswith("You bought this photo on its own already")
        assert [job["price"] for job in await _jobs(services)] == [0, 2]
