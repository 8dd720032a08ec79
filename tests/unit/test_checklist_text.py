"""How a checklist reads in the chat and on the command line: one item a line, its status first,
the measured value against its band, in either language."""

from __future__ import annotations

import pytest

from bot.services.idphoto.report_text import check_line, checklist_text
from bot.telegram.ui.i18n import LANGUAGES, catalog
from providers.localengine.checklist import UNITS, Check
from providers.specs import load_catalog

USA = load_catalog().get(3108)
VIETNAM = load_catalog().get(3116)


@pytest.mark.parametrize(
    ("item", "english", "chinese"),
    [
        (
            Check("head", "ok", 30.35, "mm", 25.5, 35.19),
            "✅ Head height 30.4 mm (25.5–35.2 mm)",
            "✅ 头部高 30.4 毫米（25.5–35.2 毫米）",
        ),
        (
            Check("chin_bottom", "fail", 5.04, "mm", low=7.01),
            "❌ Chin 5 mm above the bottom edge (at least 7 mm)",
            "❌ 下巴距底边 5 毫米（至少 7 毫米）",
        ),
        (Check("yaw", "warn", 8.5, "deg", high=7.0), "⚠️ Face turned 8.5° (at most 7°)", "⚠️ 脸部侧转 8.5°（至多 7°）"),
        (
            Check("mouth", "warn", 16.2, "percent", high=8.0, variant="apart"),
            "⚠️ Lips apart 16 %, a smile that shows teeth (at most 8 %)",
            "⚠️ 双唇微张 16%，露齿微笑（至多 8%）",
        ),
        (
            Check("background", "warn", 0.523, "percent", high=0.25, variant="left"),
            "⚠️ Background or loose strands left around the hair (0.52 % of the photo; at most 0.25 %): "
            "a plain wall behind you avoids it",
            "⚠️ 头发周围残留原背景或散乱发丝（占照片 0.52%；至多 0.25%）：在素色墙前拍摄可避免",
        ),
        (
            Check("light", "ok", 155, "level", 70, 200),
            "✅ Light on the face 155 of 255 (70–200)",
            "✅ 脸部亮度 155/255（70–200）",
        ),
    ],
)
def test_an_item_reads_as_one_line_in_either_language(item, english, chinese):
    assert check_line(item, "en") == english
    assert check_line(item, "zh-Hans") == chinese


def test_a_check_this_version_has_no_text_for_still_shows_its_status_and_figures():
    """A checklist stored by a newer version, read by an older one during a rolling upgrade."""
    item = Check("background", "warn", 0.61, "percent", high=0.4, variant="from_a_newer_version")
    assert check_line(item, "en") == "⚠️ Another check (0.61 %; at most 0.4 %)"
    assert check_line(item, "zh-Hans") == "⚠️ 其他检查（0.61%；至多 0.4%）"
    assert check_line(Check("halo", "ok", 1.0, "percent", high=5.0), "en") == "✅ Another check (1 %; at most 5 %)"


def test_every_item_and_unit_has_its_text_in_every_language():
    keys = ["head", "eyes", "top", "chin_bottom", "width", "roll", "yaw", "pitch", "eyelids", "sharpness", "light"]
    keys += [f"mouth_{state}" for state in ("closed", "apart", "open", "speech")]
    keys += [f"background_{state}" for state in ("clean", "left", "top_lost", "sides_lost", "pocket")]
    for lang in LANGUAGES:
        texts = catalog(lang)
        assert {f"check.{key}" for key in keys} <= set(texts)
        assert {f"check.unit_{unit}" for unit in UNITS} <= set(texts)


def test_the_heading_names_the_rule_or_says_it_is_a_fallback():
    items = [Check("head", "ok", 30.35, "mm", 25.5, 35.19).to_json()]
    assert checklist_text(USA, {"rule": "usa", "shares": {}, "checklist": items}, "en").splitlines() == [
        "📏 Checked against U.S. Department of State:",
        "✅ Head height 30.4 mm (25.5–35.2 mm)",
    ]
    fallback = checklist_text(VIETNAM, {"rule": "icao", "shares": {}, "checklist": items}, "en")
    assert fallback.startswith("📏 No official rule is known for this spec; checked against ICAO")
