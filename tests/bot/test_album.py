"""End to end: an album (a Telegram media group) made into one order of ID photos (issue 27, point
2: "a family in one order"). The album's messages arrive one by one and are collected into one
album; the spec is chosen once; every photo is checked before the charge, those refused are named
with their advice and left out of the price; one Confirm places one job per photo, each settled
on its own; each photo is delivered with its file, then a zip of them all, once."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from tests.bot.flows import page_to
from tests.conftest import portrait_jpeg
from tests.fakes.telegram_api import FakeUser, SentMessage
from tests.sample_photos import photo


async def _album_summary(
    user: FakeUser, menu: SentMessage, category: str = "Visa", spec: str = "USA Visa"
) -> SentMessage:
    """From the album's service menu through one spec, colour and options to its summary."""
    await user.press(menu, "ID photo")
    await user.edited(menu, "Choose a category")
    await user.press(menu, category)
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, spec + " ·")
    await user.press(menu, spec + " ·")
    await user.edited(menu, "background colour")
    await user.press(menu, "White")
    await user.edited(menu, "Options")
    await user.press(menu, "Continue")
    return await user.edited(menu, "Please check your order", timeout=30)


def _zip_names(document: SentMessage) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(document.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_an_album_of_three_with_one_refused_is_one_order_of_two_with_a_zip(bot, telegram, picwish):
    user = telegram.user()
    await user.send_album([portrait_jpeg(), photo("obama2.jpg"), portrait_jpeg(900, 1000)])
    menu = await user.next_message("Album of 3 photos")
    assert [b["text"] for b in menu.buttons()] == ["🪪 ID photo"] or len(menu.buttons()) == 1
    assert "📚 Album of 3 photos" in (await user.edited(menu, "Album of 3 photos")).text
    summary = await _album_summary(user, menu)
    assert "❌ Photo 2: Your face is turned to the side" in summary.text
    assert "2 of 3 photos will be made (photo 1, 3)" in summary.text
    assert "2 photos × 6 credits" in summary.text
    assert "Price: 12 credits (you have 30)." in summary.text
    assert [b["text"] for b in summary.buttons()] == ["✅ Confirm", "✖ Cancel"]

    await user.press(summary, "Confirm")
    await user.edited(summary, "Your order is in: 2 photos")
    await telegram.wait_for(lambda: len(user.messages("document")) == 3, 30)
    first, second, archive = user.messages("document")
    assert archive.filename == "idphoto_usa-visa_album.zip"
    assert "All 2 photos of your album" in archive.text
    assert _zip_names(archive) == {"51x51mm-1.jpg": first.data, "51x51mm-3.jpg": second.data}
    assert {first.filename, second.filename} == {
        "idphoto_usa-visa_602x602_300dpi_1.jpg",
        "idphoto_usa-visa_602x602_300dpi_3.jpg",
    }
    await user.edited(summary, "Photo 1 · USA Visa")
    await user.next_message("Photo 3 · USA Visa")
    assert len(picwish.creates) == 2
    assert await bot.repo.balance(user.id) == 18
    assert await bot.repo.ledger_problems() == []
    jobs = await bot.db.fetchall("SELECT options, price, order_group FROM jobs ORDER BY order_key")
    assert sorted(json.loads(job["options"])["album_photo"] for job in jobs) == [1, 3]
    assert {job["price"] for job in jobs} == {6} and len({job["order_group"] for job in jobs}) == 1
