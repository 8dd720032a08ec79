"""End to end: the local engine's free preview before paying. After the options the person gets
the finished photo reduced and watermarked, with its checklist; Confirm pays once and delivers the
stored exact file without making it again; Cancel costs nothing; previews are bounded per user; a
restart between preview and Confirm changes nothing."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from bot.main.app import running
from providers.localengine.worker import shared_worker
from tests.bot.flows import dpi, forget, local_preview, page_to, pixel_size, send_photo_and_pick_idphoto

#: The checklist of the astronaut as a U.S. visa photo, line by line after its heading: each band
#: of the rule in millimetres against the band, the pose, the eyes, the mouth (a smile that shows
#: teeth, where the U.S. asks for a neutral face), sharpness, light, light on both sides, burnt-out
#: light, glasses, hair over the eyes, a head covering, hands and the cut-out.
USA_CHECKLIST = [
    r"✅ Head height [\d.]+ mm \(25\.5–35\.2 mm\)",
    r"✅ Eye line [\d.]+ mm from the bottom \(28\.6–35\.2 mm\)",
    r"✅ Head tilted [\d.]+° \(at most 5\.6°\)",
    r"✅ Face turned [\d.]+° \(at most 7°\)",
    r"✅ Head nodded [\d.]+° \(at most 8\.4°\)",
    r"✅ Eyes open \d+ % \(at least 15 %\)",
    r"⚠️ Lips apart \d+ %, a smile that shows teeth \(at most 8 %\)",
    r"✅ Sharpness \d+ \(at least 30\)",
    r"✅ Light on the face \d+ of 255 \(70–200\)",
    r"✅ Light even on both sides of the face: \d+ apart \(at most 32\)",
    r"✅ Face burnt out by the light: [\d.]+ % \(at most 25 %\)",
    r"✅ No glasses seen \([\d.]+; at most 7\)",
    r"✅ Eyes and eyebrows clear of hair \(\d+ % of a brow covered; at most 60 %\)",
    r"✅ No head covering seen \(\d+; at most 37\)",
    r"✅ No hand at the face",
    r"✅ Background cleanly cut out \([\d.]+ % of the photo in doubt; at most 0\.25 %\)",
]


@pytest.fixture
async def local_bot(make_settings):
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        assert services.enabled_services["idphoto"] == "local"
        yield services


async def _shown(user, text: str) -> None:
    """Until one of the user's messages shows ``text`` (a status message edited in place)."""
    await user.api.wait_for(lambda: any(text in message.text for message in user.messages()), 30)


async def _jobs(services) -> list[dict]:
    rows = await services.db.fetchall(
        "SELECT id, price, state, options, input_ref, result FROM jobs ORDER BY created_at"
    )
    return [{**row, "options": json.loads(row["options"]), "result": json.loads(row["result"] or "{}")} for row in rows]


async def test_the_preview_is_free_reduced_watermarked_and_carries_its_checklist(local_bot, telegram):
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    heading, rule, *checks, confirm = [line for line in preview.text.splitlines() if line]
    assert heading == "👁 Free preview: USA Visa · 51×51 mm · 602×602 px · 300 dpi (reduced, with a watermark)"
    assert rule == "📏 Checked against U.S. Department of State:"
    assert len(checks) == len(USA_CHECKLIST)
    for line, pattern in zip(checks, USA_CHECKLIST, strict=True):
        assert re.fullmatch(pattern, line), line
    assert confirm.startswith("Confirm: this photo full size, without the watermark") and "for 2 credits" in confirm
    assert [b["text"] for b in preview.buttons()] == [
        "✅ Confirm · 2 credits",
        "✖ Cancel",
        "🎨 Another background colour",
        "➕ Another size from this photo",
    ]
    # Nothing paid, no exact file handed out: the menu says so, one free job holds the file.
    await _shown(user, "✅ Done! Nothing was charged.")  # the menu, once the preview's status
    assert user.messages("document") == []
    assert await local_bot.ledger.balance(user.id) == 30
    (job,) = await _jobs(local_bot)
    assert (job["price"], job["state"], job["options"]["preview"]) == (0, "succeeded", True)
    assert [c["key"] for c in job["result"]["placement"]["checklist"]][-1] == "background"
    # The photo shown is a reduced copy of the stored one, with the watermark across it.
    exact = local_bot.media.read(job["result"]["files"][0])
    assert pixel_size(exact) == (602, 602) and pixel_size(preview.data) == (360, 360)
    shown = np.asarray(Image.open(io.BytesIO(preview.data)).convert("L"), dtype=float)
    reduced = np.asarray(Image.open(io.BytesIO(exact)).convert("L").resize((360, 360)), dtype=float)
    assert np.abs(shown - reduced).mean() > 3
    assert await local_bot.ledger.problems() == []


async def test_confirm_charges_once_and_delivers_the_stored_file_without_making_it_again(local_bot, telegram):
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    await _shown(user, "Nothing was charged")
    (made,) = await _jobs(local_bot)
    exact = local_bot.media.read(made["result"]["files"][0])
    engine = shared_worker(local_bot.settings.providers.local.concurrency)
    started = engine.started
    confirm = preview.button("Confirm")["callback_data"]
    taps = [await user.press_data(preview, confirm) for _ in range(2)]  # a double tap
    assert [await user.answer_to(tap, timeout=30) for tap in taps] == ["Your photo is on its way."] * 2
    photo = await user.next_message(kind="photo", timeout=30)
    document = await user.next_message(kind="document", timeout=30)
    await user.next_message("✅ Done! 2 credits used.")
    # The very file the preview was measured on, at the spec's size and DPI, made once.
    assert document.data == exact
    assert document.filename == "idphoto_usa-visa_602x602_300dpi.jpg"
    assert pixel_size(document.data) == (602, 602) and dpi(document.data) == (300, 300)
    assert engine.started == started
    assert "📏 U.S. Department of State: head " in photo.text and "mm of 51 mm (within 25.5–35.2 mm)" in photo.text
    await telegram.wait_for(lambda: not preview.buttons())  # Confirm and Cancel are spent
    # One paid job, one hold of the normal price, captured.
    preview_job, bought = await _jobs(local_bot)
    assert bought["price"] == 2 and bought["state"] == "succeeded"
    assert bought["options"]["from_preview"] == preview_job["id"] and bought["input_ref"] == made["result"]["files"][0]
    ledger = await local_bot.db.fetchall("SELECT kind, amount FROM ledger WHERE job_id = ?", (bought["id"],))
    assert sorted((row["kind"], row["amount"]) for row in ledger) == [("capture", 2), ("hold", 2)]
    assert await local_bot.ledger.balance(user.id) == 28
    assert await local_bot.ledger.problems() == []


async def test_cancel_costs_nothing(local_bot, telegram):
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    await user.press(preview, "Cancel")
    cancelled = await user.next_message("Order cancelled. Nothing was charged.")
    assert [b["text"] for b in cancelled.buttons()] == ["📷 New photo"]
    await telegram.wait_for(lambda: not preview.buttons())
    assert await local_bot.ledger.balance(user.id) == 30
    assert [job["price"] for job in await _jobs(local_bot)] == [0]
    assert user.messages("document") == []


async def test_cancel_pressed_right_after_confirm_does_not_say_a_bought_preview_was_cancelled(local_bot, telegram):
    """Confirm, then Cancel under the preview before the bot's answer reached the chat (the
    answers are held): the photo is bought and paid for, and Cancel says so. Before, Cancel sent
    "Order cancelled. Nothing was charged." while the bought photo was delivered and charged."""
    import asyncio

    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    await _shown(user, "Nothing was charged")
    gate = telegram.hold["answerCallbackQuery"] = asyncio.Event()
    confirm = await user.press(preview, "Confirm")
    await asyncio.wait_for(telegram.held.setdefault("answerCallbackQuery", asyncio.Event()).wait(), 30)
    cancel = await user.press(preview, "Cancel")
    del telegram.hold["answerCallbackQuery"]
    gate.set()
    assert await user.answer_to(confirm) == "Your photo is on its way."
    assert await user.answer_to(cancel) == "This order is already confirmed: it is on its way."
    await user.next_message("✅ Done! 2 credits used.", timeout=30)
    assert not [message for message in user.messages() if "Order cancelled" in message.text]
    assert await local_bot.ledger.balance(user.id) == 28
    assert await local_bot.ledger.problems() == []


async def test_free_previews_are_bounded_per_user(make_settings, telegram):
    async with running(make_settings(providers__picwish__enabled=False, providers__local__previews_per_hour=2)) as bot:
        user = telegram.user()
        first = await local_preview(user, "Visa", "Vietnam Visa", "White")
        await user.press(first, "Another background colour")
        colours = await user.next_message("background colour")
        await user.press(colours, "Blue")
        await user.edited(colours, "Making your free preview")
        blue = await user.next_message(kind="photo", timeout=30)
        assert "Free preview: Vietnam Visa" in blue.text
        engine = shared_worker(bot.settings.providers.local.concurrency)
        started = engine.started
        # The third within the hour: told when the next can be had, nothing made or charged.
        await user.press(first, "Another background colour")
        again = await user.next_message("background colour")
        await user.press(again, "Red")
        refused = await user.edited(again, "You have had 2 free previews in the last hour", timeout=30)
        assert "Try again in 60 minutes; nothing was charged." in refused.text
        assert "⬜ White" in [b["text"] for b in refused.buttons()]  # the same step, to press again later
        assert engine.started == started
        assert [job["price"] for job in await _jobs(bot)] == [0, 0]
        assert await bot.ledger.balance(user.id) == 30
        # Buying one of them is not a preview: it is not bounded.
        await user.press(blue, "Confirm")
        await user.next_message(kind="document", timeout=30)
        assert await bot.ledger.balance(user.id) == 28


async def test_forget_does_not_give_a_new_hour_of_free_previews(make_settings, telegram):
    """One free preview an hour; the person uses /forget and comes back with the photo: the
    preview made before still counts, so none is made and nothing charged (before, each /forget
    gave a new hour of previews: the engine's work for free without end)."""
    settings = make_settings(providers__picwish__enabled=False, providers__local__previews_per_hour=1)
    async with running(settings) as bot:
        user = telegram.user()
        await local_preview(user, "Visa", "Vietnam Visa", "White")
        await forget(user)
        menu = await send_photo_and_pick_idphoto(user)
        await user.press(menu, "Visa")
        await user.edited(menu, "Choose a spec")
        await page_to(user, menu, "· Vietnam Visa")
        await user.press(menu, "· Vietnam Visa")
        await user.edited(menu, "background colour")
        await user.press(menu, "White")
        await user.edited(menu, "Options")
        await user.press(menu, "Continue")
        refused = await user.edited(menu, "You have had 1 free preview in the last hour", timeout=30)
        assert "nothing was charged" in refused.text
        assert [job["price"] for job in await _jobs(bot)] == [0]  # the one before /forget, as a pseudonym's
        assert (await bot.db.fetchone("SELECT COUNT(*) AS n FROM forgotten_previews"))["n"] == 1
        # An hour on, the sweep deletes what was kept (/privacy: about an hour).
        await bot.db.write("UPDATE forgotten_previews SET made_at = made_at - 3600")
        await bot.sweeper.sweep_once()
        assert (await bot.db.fetchone("SELECT COUNT(*) AS n FROM forgotten_previews"))["n"] == 0


async def test_a_restart_between_preview_and_confirm_still_delivers(make_settings, telegram):
    settings = make_settings(providers__picwish__enabled=False)
    user = telegram.user()
    async with running(settings) as bot:
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await _shown(user, "Nothing was charged")
        (made,) = await _jobs(bot)
        exact = bot.media.read(made["result"]["files"][0])
    async with running(settings) as bot:
        await user.press(preview, "Confirm")
        document = await user.next_message(kind="document", timeout=30)
        assert document.data == exact
        await user.next_message("✅ Done! 2 credits used.")
        assert await bot.ledger.balance(user.id) == 28
        assert await bot.ledger.problems() == []


async def test_the_preview_gives_no_exact_file_through_a_forged_button(local_bot, telegram):
    """The re-edit buttons of a finished photo (file size, DPI, print sheet) would hand out the
    exact file: not for a preview, which Confirm sells."""
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    (job,) = await _jobs(local_bot)
    for data in (f"i:kbw:{job['id']}:20:50", f"i:dpis:{job['id']}:600", f"i:shc:{job['id']}:6inch:0"):
        query = await user.press_data(preview, data)
        assert await user.answer_to(query) == "That photo is no longer available. Send a new photo."
    assert user.messages("document") == []


async def test_a_preview_is_bought_when_credits_come_later(make_settings, telegram):
    async with running(make_settings(providers__picwish__enabled=False, credits__daily_free=1)) as bot:
        user = telegram.user()
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await user.press(preview, "Confirm")
        short = await user.next_message("This costs 2 credits but you have 1.")
        assert short.buttons() == []  # no credits on sale here
        assert [job["price"] for job in await _jobs(bot)] == [0]
        await bot.ledger.admin_grant(user.id, 5, "test")
        await user.press(preview, "Confirm")  # still under the preview
        await user.next_message(kind="document", timeout=30)
        assert await bot.ledger.balance(user.id) == 4
        assert await bot.ledger.problems() == []


async def test_a_sharp_photo_of_a_small_exam_size_is_not_marked_blurred(local_bot, telegram):
    """An exam's 102x126 photo has a face about 50 pixels wide. The checklist measured its
    sharpness after enlarging that face three times, which blurs any face: the sharp astronaut
    came out "❌ Sharpness 12 (at least 30)" on the preview, a failure an office rejects photos
    for, on a photo as sharp as its pixels allow (the same photo measures 37 and more at larger
    sizes). A finished photo is judged at its own size."""
    user = telegram.user()
    preview = await local_preview(user, "Examinations", "Chengdu Civil Service Exam", "White")
    assert "102×126 px" in preview.text
    (line,) = [line for line in preview.text.splitlines() if "Sharpness" in line]
    assert re.fullmatch(r"✅ Sharpness \d+ \(at least 30\)", line), line
    assert "❌" not in preview.text


def _blurred_obama(radius: float = 1.9) -> bytes:
    """Obama's portrait a little out of focus: sharp enough for the face check of the upload (29,
    its limit 25), not in the finished photo (about 21)."""
    from PIL import ImageFilter

    from tests.sample_photos import photo

    out = io.BytesIO()
    Image.open(io.BytesIO(photo("obama.jpg"))).filter(ImageFilter.GaussianBlur(radius)).save(out, "JPEG", quality=92)
    return out.getvalue()


async def test_a_preview_with_a_failed_check_says_so_before_its_confirm(local_bot, telegram):
    """A ❌ on the checklist is what offices reject photos for. It was one line among fifteen, and
    Confirm under it sold the photo like any other, with nothing else said: the person now reads
    it first, and still decides."""
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White", photo=_blurred_obama())
    heading, warning, rule, *checks = preview.text.splitlines()
    assert heading.startswith("👁 Free preview: USA Visa")
    assert warning == "❌ An office may refuse this photo for what is marked ❌ below: a new photo is the safer way."
    assert rule == "📏 Checked against U.S. Department of State:"
    assert [line for line in checks if line.startswith("❌")] == [
        next(line for line in checks if re.fullmatch(r"❌ Sharpness \d+ \(at least 30\)", line))
    ]
    assert checks[-1].startswith("✅ Background cleanly cut out")  # every item, whole
    assert preview.button("Confirm · 2 credits")  # still theirs to buy, as it is
    assert await local_bot.ledger.balance(user.id) == 30


async def test_try_again_of_a_failed_purchase_buys_the_same_photo_from_the_local_engine(
    make_settings, telegram, picwish
):
    """A bought preview's job failed (the local engine was switched off before it ran). Its Try
    again went to whoever served ID photos then: PicWish, at its own price, making an ID photo of
    the finished one. It buys the very photo again, from the engine that made it, at its price:
    unavailable while that engine is off, and with it back (PicWish serving new orders) the stored
    file, made once."""
    local_only = make_settings(providers__picwish__enabled=False)
    user = telegram.user()
    async with running(local_only) as bot:
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await _shown(user, "Nothing was charged")
        (made,) = await _jobs(bot)
        exact = bot.media.read(made["result"]["files"][0])
    async with running(local_only, role="bot"):  # no worker: the purchase waits, queued
        await user.press(preview, "Confirm")
        await telegram.wait_for(lambda: not preview.buttons())
    async with running(make_settings(providers__local__enabled=False)) as bot:
        failed = await user.next_message("switched off", timeout=30)
        assert [job["state"] for job in await _jobs(bot)] == ["succeeded", "failed"]
        query = await user.press_data(failed, failed.button("Try again")["callback_data"])
        assert await user.answer_to(query) == "This service is not available right now."
    async with running(make_settings()) as bot:
        assert bot.enabled_services["idphoto"] == "picwish"
        engine = shared_worker(bot.settings.providers.local.concurrency)
        started = engine.started
        await user.press(failed, "Try again")
        summary = await user.next_message("Please check your order")
        assert summary.text == (
            "Please check your order:\n\nUSA Visa\n51×51 mm · 602×602 px · 300 dpi\nBackground: ⬜ White"
            "\n\nPrice: 2 credits (you have 30)."
        )
        await user.press(summary, "Confirm")
        document = await user.next_message(kind="document", timeout=30)
        assert document.data == exact and engine.started == started and picwish.creates == []
        jobs = await _jobs(bot)
        assert [(job["state"], job["price"]) for job in jobs] == [("succeeded", 0), ("failed", 2), ("succeeded", 2)]
        assert jobs[2]["options"]["from_preview"] == made["id"]
        assert await bot.jobs.bought(user.id, made["id"])
        assert await bot.ledger.balance(user.id) == 28
        assert await bot.ledger.problems() == []
