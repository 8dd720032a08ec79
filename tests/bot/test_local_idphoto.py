"""End-to-end: ID photos from the local engine (PicWish not configured), and the face checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from bot.main.app import running
from tests.bot.flows import (
    ask_custom_size,
    corner_rgb,
    dpi,
    local_finished,
    local_preview,
    pixel_size,
    preview_from_options,
)
from tests.conftest import portrait_jpeg


@pytest.fixture
async def local_bot(make_settings):
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        assert services.enabled_services["idphoto"] == "local"
        yield services


def _coffee_jpeg() -> bytes:
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.coffee()).save(out, "JPEG")
    return out.getvalue()


async def test_local_id_photo_end_to_end(local_bot, telegram, picwish):
    user = telegram.user()
    preview = await local_preview(user, "Visa", "USA Visa", "White")
    assert "for 2 credits" in preview.text and "Beauty" not in preview.text
    await user.press(preview, "Confirm")
    document = await user.next_message(kind="document", timeout=30)
    assert document.filename == "idphoto_usa-visa_602x602_300dpi.jpg"
    assert pixel_size(document.data) == (602, 602) and dpi(document.data) == (300, 300)
    assert all(v >= 250 for v in corner_rgb(document.data))
    await user.next_message("Done! 2 credits used.")
    assert picwish.creates == []
    assert await local_bot.ledger.balance(user.id) == 28
    (job,) = await local_bot.db.fetchall("SELECT result FROM jobs WHERE price > 0")
    assert '"rule": "usa"' in job["result"]  # placed by the official U.S. rule


async def test_local_custom_size_is_made_in_pixels_from_its_dpi_and_placed_in_its_millimetres(local_bot, telegram):
    user = telegram.user()
    await ask_custom_size(user)
    await user.send_text("30x40")
    colours = await user.next_message("background colour")
    preview = await preview_from_options(user, colours, "White")
    assert "30×40 mm · 354×472 px · 300 dpi" in preview.text and "for 2 credits" in preview.text
    await user.press(preview, "Confirm")
    photo = await user.next_message(kind="photo", timeout=30)
    document = await user.next_message(kind="document")
    assert document.filename == "idphoto_custom-size-30x40mm_354x472_300dpi.jpg"
    assert pixel_size(document.data) == (354, 472) and dpi(document.data) == (300, 300)
    # Measured in the typed millimetres, by the default rule it falls back to.
    assert "No official rule is known for this spec" in photo.text and "mm of 40 mm (within" in photo.text


async def test_local_options_offer_a_gradient(local_bot, telegram):
    user = telegram.user()
    preview = await local_preview(user, "Visa", "Vietnam Visa", "Blue", options=("Gradient",))
    await user.press(preview, "Confirm")
    document = await user.next_message(kind="document", timeout=30)
    rgb = np.asarray(Image.open(io.BytesIO(document.data)).convert("RGB"), dtype=float)
    assert rgb[2, 2, 0] < rgb[len(rgb) // 2, 2, 0]  # lighter towards the bottom


@pytest.mark.parametrize("service", ["ID photo", "Anime portrait", "AI portrait"])
async def test_no_face_is_refused_before_any_charge(make_settings, telegram, qq, wanxing, service):
    async with running(make_settings()) as services:
        user = telegram.user()
        await user.send_document(_coffee_jpeg(), "coffee.jpg", "image/jpeg")
        menu = await user.next_message("What would you like")
        await user.press(menu, service)
        refusal = await user.next_message("could not find a face")
        assert [b["text"] for b in refusal.buttons()] == ["📷 New photo"]
        assert qq.requests == [] and wanxing.jobs == {}
        assert await services.ledger.balance(user.id) == 30
        assert await services.db.fetchall("SELECT * FROM jobs") == []


async def test_several_faces_get_their_own_advice(local_bot, telegram):
    pair = Image.new("RGB", (1600, 900), "gray")
    single = Image.open(io.BytesIO(portrait_jpeg(800, 800)))
    pair.paste(single, (0, 50))
    pair.paste(single, (800, 50))
    out = io.BytesIO()
    pair.save(out, "JPEG")
    user = telegram.user()
    await user.send_document(out.getvalue(), "two.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "ID photo")
    await user.next_message("more than one face")


async def test_a_local_job_interrupted_by_a_restart_runs_again(make_settings, telegram):
    from tests.bot.test_job_outcomes import _prepare_job

    settings = make_settings(providers__picwish__enabled=False)
    job_id = await _prepare_job(
        settings, "running", "local-lost", deadline_seconds=300, provider="local", photo=portrait_jpeg()
    )
    async with running(settings) as services:
        user = telegram.user()
        document = await user.next_message(kind="document", timeout=30)
        assert pixel_size(document.data) == (602, 602)
        await services.runner.idle()
        assert (await services.jobs.get(job_id)).state == "succeeded"
        assert await services.ledger.problems() == []


async def test_free_reedits_of_a_finished_photo(local_bot, telegram):
    user = telegram.user()
    document = await local_finished(user, "Common sizes", "Small 2 Inch", "Blue")
    balance = await local_bot.ledger.balance(user.id)

    await user.press(document, "File size")
    windows = await user.next_message("Which file size")
    await user.press(windows, "20–50 KB")
    sized = await user.next_message(kind="document", timeout=15)
    assert 20 * 1024 <= len(sized.data) <= 50 * 1024
    assert sized.filename.startswith("idphoto_small-2-inch_413x531_300dpi_20-50KB")
    assert pixel_size(sized.data) == (413, 531) and dpi(sized.data) == (300, 300)

    await user.press(document, "DPI")
    choices = await user.next_message("Which DPI")
    await user.press(choices, "600 dpi")
    rewritten = await user.next_message(kind="document", timeout=15)
    assert dpi(rewritten.data) == (600, 600) and len(rewritten.data) == len(document.data)

    await user.press(document, "Print sheet")
    papers = await user.next_message("Print sheet on which paper")
    await user.press(papers, "×4")
    sheet = await user.next_message(kind="document", timeout=15)
    assert (
        sheet.filename == "idphoto_small-2-inch_sheet-6inch_x4.jpg"
    )  # 5-inch paper (turned) holds 4: the first ×4 is 6-inch paper's
    assert pixel_size(sheet.data) == (1800, 1200)

    assert await local_bot.ledger.balance(user.id) == balance
    assert len(await local_bot.db.fetchall("SELECT id FROM jobs")) == 2  # the preview and the photo bought


async def test_another_colour_from_a_local_photo(local_bot, telegram):
    user = telegram.user()
    document = await local_finished(user, "Visa", "Vietnam Visa", "White")
    await user.press(document, "Another background colour")
    colours = await user.next_message("background colour")
    await user.press(colours, "Red")
    await user.edited(colours, "Making your free preview")  # made from the photo, not from the white one
    again = await user.next_message(kind="photo", timeout=30)
    await user.press(again, "Confirm")
    red = await user.next_message(kind="document", timeout=30)
    r, g, b = corner_rgb(red.data)
    assert r > 240 and g < 15 and b < 15


async def test_forged_reedit_buttons_do_no_work(local_bot, telegram):
    """Only the offered windows, DPIs and copy counts, only for ID photos: a modified client gets
    a toast and nothing is made."""
    from bot.storage.jobs import JobDraft, JobResult

    user = telegram.user()
    document = await local_finished(user, "Common sizes", "Small 2 Inch", "Blue")
    await user.press(document, "File size")
    windows = await user.next_message("Which file size")
    window = windows.button("20–50 KB")["callback_data"].rsplit(":", 2)[0]
    await user.press(document, "DPI")
    dpis = (await user.next_message("Which DPI")).button("600 dpi")["callback_data"].rsplit(":", 1)[0]
    await user.press(document, "Print sheet")
    sheet = (await user.next_message("Print sheet on which paper")).button("×4")["callback_data"].rsplit(":", 1)[0]

    anime = await local_bot.jobs.create(JobDraft(user.id, user.id, "anime", "qq_anime", {"style": "x"}, None, 0, 60))
    await local_bot.jobs.transition(anime.id, ("queued",), "running")
    assert await local_bot.jobs.settle(
        anime, "succeeded", result=JobResult(files=[local_bot.media.save_result(anime.id, 0, document.data)])
    )
    documents = len(user.messages("document"))
    for data in (
        f"{window}:1:99999",
        f"{window}:٢٠:٥٠",
        f"{dpis}:1200",
        f"{sheet}:999999",
        f"{sheet}:-1",
        window.replace(window.split(":")[2], anime.id) + ":20:50",
    ):
        query = await user.press_data(windows, data)
        assert await user.answer_to(query) == "That photo is no longer available. Send a new photo."
    assert len(user.messages("document")) == documents
