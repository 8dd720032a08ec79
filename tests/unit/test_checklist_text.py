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
    keys += ["face_missing"]
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


@pytest.mark.parametrize(
    ("lang", "warning"),
    [
        ("en", "❌ An office may refuse this photo for what is marked ❌ below: a new photo is the safer way."),
        ("zh-Hans", "❌ 办理机构可能因下方标 ❌ 的项目不接受这张照片，建议重新拍一张。"),
    ],
)
def test_a_failed_item_is_said_before_the_checklist_in_either_language(lang, warning):
    """A ❌ is what offices reject photos for: the person reads it before the items and the price."""
    items = [Check("head", "ok", 30.35, "mm", 25.5, 35.19).to_json()]
    items.append(Check("sharpness", "fail", 21, "level", 30).to_json())
    first, heading, *lines = checklist_text(USA, {"rule": "usa", "shares": {}, "checklist": items}, lang).splitlines()
    assert first == warning
    assert heading.startswith("📏") and len(lines) == 2
    only_warned = [items[0], Check("yaw", "warn", 8.5, "deg", high=7.0).to_json()]
    assert "❌" not in checklist_text(USA, {"rule": "usa", "shares": {}, "checklist": only_warned}, lang)


def test_a_preview_caption_is_as_long_as_telegram_takes_counted_as_telegram_counts():
    """Telegram counts a caption in UTF-16 code units, in which 👁 and 📏 are two each, and refuses
    a photo whose caption is over 1,024: the free preview never came. A checklist longer than a
    caption takes keeps its whole first lines (the ❌ warning first among them)."""
    from bot.config import Settings
    from bot.services.idphoto.captions import present
    from bot.storage.jobs import Job, JobResult, JobState
    from tests.conftest import portrait_jpeg

    lost = Check("background", "warn", 19, "percent", high=5, variant="sides_lost").to_json()
    failed = Check("sharpness", "fail", 21, "level", 30).to_json()
    placement = {"rule": "usa", "shares": {}, "checklist": [failed, *[lost] * 30]}
    options = {"spec_id": 3108, "px_width": 602, "px_height": 602, "dpi": 300, "bg_color": "FFFFFF", "preview": True}
    job = Job(
        id="a" * 32,
        user_id=1,
        chat_id=1,
        service="idphoto",
        provider="local",
        options=options,
        input_ref=None,
        price=0,
        provider_task_id=None,
        state=JobState.SUCCEEDED,
        progress=100,
        attempts=1,
        created_at=0.0,
        deadline=None,
        result=JobResult(files=["results/x.jpg"], placement=placement, kept_preview=True),
        error=None,
        callback_secret="",
        status_message_id=None,
        delivery=None,
    )
    for lang in LANGUAGES:
        caption = present(job, 0, portrait_jpeg(602, 602), lang, Settings()).caption
        assert len(caption.encode("utf-16-le")) // 2 <= 1024  # as Telegram counts
        heading, *lines = caption.splitlines()
        assert heading.startswith("👁")
        whole = checklist_text(USA, placement, lang).splitlines()
        assert 3 <= len(lines) < len(whole) and lines == whole[: len(lines)]
