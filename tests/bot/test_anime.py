"""End-to-end: anime conversion through the fake Bot API and the fake QQ API."""

from __future__ import annotations

import json

import pytest

from bot.main.app import running
from tests.bot.flows import pixel_size
from tests.conftest import portrait_jpeg


async def _order(user, style: str, layout: str, photo: bytes | None = None):
    await user.send_photo(photo or portrait_jpeg(800, 1000))
    menu = await user.next_message("What would you like")
    await user.press(menu, "Anime portrait")
    await user.edited(menu, "Choose an anime style")
    await user.press(menu, style)
    await user.edited(menu, "What should the result look like")
    await user.press(menu, layout)
    return await user.edited(menu, "Please check your order")


async def test_the_menu_lists_every_configured_service_in_order(bot, telegram, picwish, qq, hili, tiger, wanxing):
    user = telegram.user()
    await user.send_photo(portrait_jpeg(800, 1000))
    menu = await user.next_message("What would you like")
    assert [b["text"] for b in menu.buttons()] == [
        "🪪 ID photo",
        "🎨 Anime portrait",
        "🖼 AI portrait",
        "🛠 Repair, upscale, colorize",
        "✨ Enhance",
    ]


async def test_the_menu_offers_only_services_whose_provider_is_configured(bot, telegram, qq):
    user = telegram.user()
    await user.send_photo(portrait_jpeg(800, 1000))
    menu = await user.next_message("What would you like")
    # ID photos need no provider account: the local engine makes them.
    assert [b["text"] for b in menu.buttons()] == ["🪪 ID photo", "🎨 Anime portrait"]


@pytest.mark.parametrize(
    ("layout", "photo", "size"),
    [
        ("Anime picture only", portrait_jpeg(800, 1000), (830, 1400)),
        ("Side by side", portrait_jpeg(800, 1000), (1000, 930)),
        ("Anime picture only", portrait_jpeg(1000, 700), (1120, 940)),
    ],
)
async def test_anime_is_delivered_in_the_chosen_layout(bot, telegram, qq, layout, photo, size):
    user = telegram.user()
    summary = await _order(user, "Manga", layout, photo)
    assert "Style: Manga" in summary.text and "Price: 2 credits" in summary.text
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert pixel_size(document.data) == size
    assert document.filename.endswith(f"_{size[0]}x{size[1]}.jpg")
    await user.edited(summary, "Done! 2 credits used.")
    assert json.loads(qq.requests[-1]["body"])["busiId"] == "ai_painting_anime_img_entry"
    assert await bot.ledger.balance(user.id) == 28


async def test_gif_input_is_normalised_before_sending(bot, telegram, qq):
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(portrait_jpeg(600, 800))).save(out, "GIF")
    user = telegram.user()
    await user.send_document(out.getvalue(), "me.gif", "image/gif")
    menu = await user.next_message("What would you like")
    await user.press(menu, "Anime portrait")
    await user.edited(menu, "Choose an anime style")
    await user.press(menu, "Anime")
    await user.edited(menu, "What should the result look like")
    await user.press(menu, "Anime picture only")
    summary = await user.edited(menu, "Please check your order")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([1001], "could not find a face"),
        ([2114], "not allowed by the service"),
        ([2119], "not available from the bot's location"),
        ([-2100], "could not read this image"),
        ([-2111], "did not accept the bot's request"),
        ([2111] * 10, "service is busy"),
    ],
)
async def test_each_documented_error_is_told_and_refunded(bot, telegram, qq, codes, message):
    qq.next_codes = list(codes)
    user = telegram.user()
    summary = await _order(user, "Anime", "Anime picture only")
    await user.press(summary, "Confirm")
    await user.edited(summary, message)
    assert "Your 2 credits were returned." in summary.text
    assert await bot.ledger.balance(user.id) == 30
    assert await bot.ledger.problems() == []


async def test_a_passing_volume_limit_is_retried(bot, telegram, qq):
    qq.next_codes = [2111]
    user = telegram.user()
    summary = await _order(user, "Anime", "Side by side")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert len(qq.requests) == 2


@pytest.mark.parametrize(
    ("code", "alert"),
    [(2119, "refuses requests from this bot's region"), (-2111, "refused this bot's request itself")],
)
async def test_errors_that_say_the_operator_was_told_do_tell_the_operator(bot, telegram, qq, code, alert):
    admin = telegram.user(user_id=9001)
    await admin.send_text("/start")
    await admin.next_message()
    qq.next_codes = [code]
    user = telegram.user()
    summary = await _order(user, "Anime", "Anime picture only")
    await user.press(summary, "Confirm")
    await user.edited(summary, "The operator has been told")
    told = await admin.next_message(alert)
    assert told.text.startswith("⚠️ qq_anime")


async def test_an_alert_told_before_a_restart_is_not_told_again_within_the_hour(make_settings, telegram, qq):
    """Which process told the admins is in the database: a restarted bot, or another of a bot
    process's workers, does not tell the same problem again for every order it fails."""
    settings = make_settings()
    for user_id, restart in ((711, "before"), (712, "after")):
        async with running(settings) as bot:
            qq.next_codes = [-2111]
            user = telegram.user(user_id=user_id)
            summary = await _order(user, "Anime", "Anime picture only")
            await user.press(summary, "Confirm")
            await user.edited(summary, "The operator has been told")
            await bot.runner.idle()
        assert len(telegram.sent_to(9001)) == 1, f"alerts {restart} the restart"
    (alert,) = telegram.sent_to(9001)
    assert "refused this bot's request itself" in alert.text


async def test_the_transformation_video_is_a_tap_away_until_its_link_expires(bot, telegram, qq):
    user = telegram.user()
    summary = await _order(user, "Anime", "Anime picture only")
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    await user.press(document, "The transformation video")
    video = await user.next_message(kind="video")
    assert video.data.startswith(b"\x00\x00\x00\x18ftypmp42") and qq.video_fetches == 1
    (key,) = {name.rsplit("_", 1)[0] for name in qq.results}
    qq.expired_videos.add(key)
    await user.press(document, "The transformation video")
    await user.next_message("no longer keeps this video")
    assert await bot.ledger.balance(user.id) == 28  # the video costs nothing more


async def test_no_video_no_button(bot, telegram, qq):
    qq.with_videos = False
    user = telegram.user()
    summary = await _order(user, "Anime", "Anime picture only")
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert [b["text"] for b in document.buttons()] == ["📷 New photo"]


async def test_an_odd_video_link_costs_the_video_not_the_picture(bot, telegram, qq):
    qq.odd_videos = [None, "not a link"]
    user = telegram.user()
    summary = await _order(user, "Anime", "Anime picture only")
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    await user.edited(summary, "Done! 2 credits used.")
    await user.press(document, "The transformation video")
    await user.next_message(kind="video")


async def test_a_photo_larger_than_qq_takes_is_scaled_before_it_is_sent(bot, telegram, qq):
    """QQ answers a too-big image with 2111 however often it is sent: the bot scales it first."""
    user = telegram.user()
    await user.send_document(portrait_jpeg(2400, 3000), "big.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "Anime portrait")
    await user.edited(menu, "Choose an anime style")
    await user.press(menu, "Anime")
    await user.edited(menu, "What should the result look like")
    await user.press(menu, "Anime picture only")
    summary = await user.edited(menu, "Please check your order")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert len(qq.requests) == 1
