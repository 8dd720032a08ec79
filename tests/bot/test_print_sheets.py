"""End-to-end: a free print sheet of two of the person's finished ID photos on A4, in English and
in Chinese, with the bot restarted between the steps; the JPEG and the PDF at A4's exact size."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from bot.main.app import running
from bot.telegram.ui.i18n import t
from tests.bot.flows import dpi, order_finished, pixel_size

A4_POINTS = (210 / 25.4 * 72, 297 / 25.4 * 72)

#: language button, then the texts the sheet steps show in that language.
LANGUAGES = {
    "en": {
        "papers": "Print sheet on which paper",
        "add": "➕ Large 2 Inch 35×53 mm",
        "mix": "Small 1 Inch 22×32 mm and Large 2 Inch 35×53 mm on one sheet",
        "a4": "A4: ",
        "done": "on A4 paper at 300 dpi, with cut lines and a 1 cm scale bar",
        "pdf": "exactly the size of A4 paper",
    },
    "zh-Hans": {
        "papers": "排版打印用哪种纸",
        "add": "➕ 大二寸 35×53 mm",
        "mix": "小一寸 22×32 mm和大二寸 35×53 mm排在一张纸上",
        "a4": "A4 纸：",
        "done": "A4 纸上排了小一寸 22×32 mm",
        "pdf": "正好是A4 纸的尺寸",
    },
}


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_a_mixed_sheet_on_a4_across_restarts(make_settings, telegram, picwish, lang):
    texts = LANGUAGES[lang]
    settings = make_settings(credits__daily_free=40)
    user = telegram.user()
    async with running(settings) as bot:
        small = await order_finished(user, "Common", "Small 1 Inch", "Blue")
        await order_finished(user, "Common", "Large 2 Inch", "White")
        balance = await bot.ledger.balance(user.id)
        if lang != "en":
            await user.send_text("/language")
            await user.press(await user.next_message("Choose your language"), "简体中文")
        await user.press(small, "Print sheet")
        papers = await user.next_message(texts["papers"])
        assert papers.button(texts["a4"])  # A4 and 5×7 besides 5-inch and 6-inch paper
        assert len([b for b in papers.buttons() if b["text"].startswith("➕")]) == 1  # not its own spec
        assert t(lang, "reedit.mix_hint") in papers.text

    async with running(settings):
        await user.press(papers, texts["add"])
        mix = await user.next_message(texts["mix"])

    async with running(settings) as bot:
        a4 = [b["text"] for b in mix.buttons() if b["text"].startswith(texts["a4"])]
        counts = [tuple(int(n) for n in re.findall(r"\d+", label.removeprefix(texts["a4"]))) for label in a4]
        assert len(counts) == 2 and counts[0][0] == counts[0][1] and counts[1][0] == 2 * counts[1][1]
        first, second = counts[1]
        await user.press(mix, a4[1])
        jpeg = await user.next_message(kind="document", timeout=30)
        pdf = await user.next_message(kind="document", timeout=30)
        stem = f"idphoto_sheet-a4_small-1-inch-x{first}_large-2-inch-x{second}"
        assert (jpeg.filename, pdf.filename) == (f"{stem}.jpg", f"{stem}.pdf")
        assert texts["done"] in jpeg.text and texts["pdf"] in pdf.text
        assert pixel_size(jpeg.data) == (2480, 3508) and dpi(jpeg.data) == (300, 300)
        (box,) = re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf.data)
        assert tuple(float(v) for v in box) == pytest.approx(A4_POINTS, abs=1e-6)
        assert await bot.ledger.balance(user.id) == balance  # free

        job, other = mix.button(a4[1])["callback_data"].split(":")[2:4]
        documents = len(user.messages("document"))
        for forged in (
            f"i:shx:{job}:{other}:a4:99:99",  # more than A4 holds
            f"i:shx:{job}:{other}:a4:0:3",
            f"i:shx:{job}:{other}:a4:999999999999:1",
            f"i:shx:{job}:{other}:a3:1:1",
            f"i:shx:{job}:ffffffff:a4:1:1",  # no such photo of theirs
            f"i:shm:{job}:{job[:8]}",  # the photo itself
        ):
            query = await user.press_data(mix, forged)
            assert await user.answer_to(query) == t(lang, "idphoto.job_gone")
        assert len(user.messages("document")) == documents


async def test_a_sheet_of_one_spec_on_5x7_paper_at_its_exact_size(make_settings, telegram, picwish):
    """The 5×7 in paper end to end: copies of one photo on a 5×7 in sheet (1500×2100 px at 300
    dpi, either way round) and a PDF of exactly its size in points, free."""
    user = telegram.user()
    async with running(make_settings()) as bot:
        small = await order_finished(user, "Common", "Small 1 Inch", "Blue")
        balance = await bot.ledger.balance(user.id)
        await user.press(small, "Print sheet")
        papers = await user.next_message("Print sheet on which paper")
        await user.press(papers, "5×7 in")
        jpeg = await user.next_message(kind="document", timeout=30)
        pdf = await user.next_message(kind="document", timeout=30)
        assert "5×7 in" in jpeg.text and "scale bar" in jpeg.text
        size = pixel_size(jpeg.data)  # the sheet turned whichever way holds more copies
        assert sorted(size) == [1500, 2100] and dpi(jpeg.data) == (300, 300)
        (box,) = re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf.data)
        assert tuple(float(v) for v in box) == pytest.approx(tuple(side * 72 / 300 for side in size), abs=1e-6)
        assert await bot.ledger.balance(user.id) == balance


async def test_a_spec_whose_pixels_disagree_with_its_millimetres_prints_at_its_millimetres(
    make_settings, telegram, picwish
):
    """National Student Registration is published as 26×32 mm but 307×378 px at 150 dpi (52×64 mm
    at that DPI). Its copies on a sheet are 26×32 mm, as its buttons and caption say: 154×189 px
    at the sheet's 150 dpi (before, 307×378: twice the size, two copies on 6-inch paper)."""
    user = telegram.user()
    async with running(make_settings()):
        made = await order_finished(user, "Student", "National Student Registration Photo", "White")
        assert pixel_size(made.data) == (307, 378)
        await user.press(made, "Print sheet")
        papers = await user.next_message("Print sheet on which paper")
        await user.press(papers, "6-inch: all")
        jpeg = await user.next_message(kind="document", timeout=30)
        await user.next_message(kind="document", timeout=30)
    assert dpi(jpeg.data) == (150, 150)
    copies = int(re.search(r"(\d+) cop", jpeg.text).group(1))
    assert copies == 12
    with Image.open(io.BytesIO(jpeg.data)) as sheet:
        rgb = np.asarray(sheet.convert("RGB"), dtype=int)
    # The cut lines (grey, shared between neighbours) run the sheet's length: their spacing across
    # is a copy's width and the gap, and down its height and the gap.
    lines = (np.abs(rgb - 160) < 30).all(axis=2) & (np.ptp(rgb, axis=2) < 12)
    starts = [np.flatnonzero(np.diff(np.flatnonzero(lines.mean(axis=axis) > 0.6), prepend=-9) > 1) for axis in (0, 1)]
    found = [np.flatnonzero(lines.mean(axis=axis) > 0.6)[first] for axis, first in zip((0, 1), starts, strict=True)]
    width, height = (int(np.median(np.diff(at))) for at in found)
    assert 154 <= width <= 154 + 12 and 189 <= height <= 189 + 12, (width, height)


async def test_a_stored_order_that_no_longer_reads_is_left_out_of_the_sheets(make_settings, telegram, picwish):
    """A finished ID photo stored before its order's model changed (its options no longer read)
    is not offered for a mixed sheet, and the other photo's sheet still works (before, "Print
    sheet" raised on it: the button spun and nothing came)."""
    user = telegram.user()
    async with running(make_settings(credits__daily_free=40)) as bot:
        small = await order_finished(user, "Common", "Small 1 Inch", "Blue")
        await order_finished(user, "Common", "Large 2 Inch", "White")
        await bot.runner.idle()
        old = json.dumps({"spec_id": "1106-withdrawn", "bg_color": "FFFFFF"})
        assert await bot.db.write("UPDATE jobs SET options = ? WHERE options LIKE '%1106%'", (old,)) == 1
        await user.press(small, "Print sheet")
        papers = await user.next_message("Print sheet on which paper")
        assert not [b for b in papers.buttons() if b["text"].startswith("➕")]
        await user.press(papers, "6-inch: all")
        await user.next_message(kind="document", timeout=30)
