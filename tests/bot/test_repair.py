"""End-to-end: repair, upscale, colorize and ID background through the fake Hili."""

from __future__ import annotations

import asyncio

import pytest

from bot.main.app import running
from tests.bot.flows import corner_rgb, pixel_size
from tests.conftest import portrait_jpeg


async def _to_modes(user, photo: bytes | None = None):
    await user.send_photo(photo or portrait_jpeg(400, 500))
    menu = await user.next_message("What would you like")
    await user.press(menu, "Repair, upscale, colorize")
    return await user.edited(menu, "What should I do with this photo")


@pytest.mark.parametrize(
    ("mode", "price", "repair_type", "size"),
    [
        ("Upscale", 8, "sr", (800, 1000)),
        ("Repair old photo", 10, "sr,repair", (800, 1000)),
        ("Repair, colorize", 12, "sr,repair,colour", (800, 1000)),
    ],
)
async def test_each_mode_is_delivered_as_photo_and_file(bot, telegram, hili, mode, price, repair_type, size):
    user = telegram.user()
    menu = await _to_modes(user)
    await user.press(menu, mode)
    summary = await user.edited(menu, "Please check your order")
    assert f"Price: {price} credits" in summary.text
    await user.press(summary, "Confirm")
    photo = await user.next_message(kind="photo", timeout=15)
    document = await user.next_message(kind="document")
    assert pixel_size(document.data) == size and photo.data
    assert document.params["disable_content_type_detection"] == "true"
    await user.edited(summary, f"Done! {price} credits used.")
    (upload,) = hili.uploads.values()
    assert upload.repair_type == repair_type
    assert hili.nums == 99
    assert await bot.ledger.balance(user.id) == 30 - price


@pytest.mark.parametrize(
    ("button", "typed", "rgb"),
    [
        ("Blue", None, "67,142,219"),
        ("Custom", "12, 34, 56", "12,34,56"),
        ("Custom", "#FF8800", "255,136,0"),
    ],
)
async def test_id_background_change(bot, telegram, hili, button, typed, rgb):
    user = telegram.user()
    menu = await _to_modes(user)
    await user.press(menu, "New background")
    await user.edited(menu, "new background colour")
    await user.press(menu, button)
    if typed is not None:
        await user.edited(menu, "R,G,B")
        await user.send_text("purple-ish")
        await user.next_message("is not a colour")
        await user.send_text(typed)
        summary = await user.next_message("Please check your order")
    else:
        summary = await user.edited(menu, "Please check your order")
    assert f"Background: {rgb}" in summary.text
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    (upload,) = hili.uploads.values()
    assert upload.repair_type == "bg" and upload.rgb == rgb
    expected = tuple(int(v) for v in rgb.split(","))
    assert all(abs(a - b) <= 10 for a, b in zip(corner_rgb(document.data), expected, strict=True))


@pytest.mark.parametrize(
    ("endpoint", "errno", "message", "uses_left"),
    [
        ("upload", 9999, "refused this bot's credentials", 100),
        ("upload", 9101, "run out of uses", 100),
        ("upload", 9005, "does not accept this kind of image", 100),
        ("upload", 9006, "Uploading to the photo service failed", 100),
        ("upload", 9009, "could not read this image", 100),
        ("upload", 9001, "could not process this request", 100),
        ("upload", 500, "reported an error of its own", 100),
        ("status", 500, "reported an error of its own", 99),
        ("download", 500, "reported an error of its own", 99),
        ("download", 9002, "expired at the service", 99),
    ],
)
async def test_each_documented_errno_is_told_and_refunded(bot, telegram, hili, endpoint, errno, message, uses_left):
    hili.errnos[endpoint] = [errno] * 5
    user = telegram.user()
    menu = await _to_modes(user)
    await user.press(menu, "Upscale")
    summary = await user.edited(menu, "Please check your order")
    await user.press(summary, "Confirm")
    await user.edited(summary, message)
    assert "Your 8 credits were returned." in summary.text
    assert hili.nums == uses_left  # Hili charges no failed upload
    assert await bot.ledger.balance(user.id) == 30
    assert await bot.ledger.problems() == []


@pytest.mark.parametrize("endpoint", ["status", "download"])
async def test_one_other_error_to_a_query_is_asked_again_and_the_photo_is_delivered(bot, telegram, hili, endpoint):
    """errno 500 ("其他错误") to a query of a photo Hili already has and charged for: asked again, the
    next answer is good, and the photo arrives and is paid for instead of failing (and being refunded
    while the operator is charged)."""
    hili.errnos[endpoint] = [500]
    user = telegram.user()
    menu = await _to_modes(user)
    await user.press(menu, "Upscale")
    summary = await user.edited(menu, "Please check your order")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    await user.edited(summary, "Done! 8 credits used.")
    assert hili.errnos[endpoint] == [] and hili.upload_calls == 1 and hili.nums == 99
    assert await bot.ledger.balance(user.id) == 22


async def test_restart_in_the_middle_of_a_job(make_settings, telegram, hili):
    hili.processing_polls = 10_000
    settings = make_settings()
    user = telegram.user()
    async with running(settings):
        menu = await _to_modes(user)
        await user.press(menu, "Upscale")
        summary = await user.edited(menu, "Please check your order")
        await user.press(summary, "Confirm")
        await user.edited(summary, "Working on it… 50%")  # uploaded, and polled once
    assert len(hili.uploads) == 1
    (upload,) = hili.uploads.values()
    upload.polls_left = 1
    async with running(settings) as services:
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert hili.upload_calls == 1
        assert len(user.messages("document")) == 1
        assert await services.ledger.balance(user.id) == 22


async def test_admins_see_the_remaining_uses(bot, telegram, hili):
    stranger = telegram.user(user_id=4242)
    await stranger.send_text("/hili")
    await stranger.next_message("for the bot's administrators")
    admin = telegram.user(user_id=9001)
    await admin.send_text("/hili")
    await admin.next_message("Hili uses left: 100")


async def _until(watch, predicate, timeout: float = 10.0) -> None:
    """Wait for account checks until ``predicate()`` holds."""

    async def loop() -> None:
        while not predicate():
            watch.checked.clear()
            await watch.checked.wait()

    await asyncio.wait_for(loop(), timeout)


async def test_running_low_on_uses_alerts_once_and_at_zero_the_service_leaves_the_menu(make_settings, telegram, hili):
    hili.nums = 3
    settings = make_settings(providers__hili__uses_check_interval=0.05, providers__hili__uses_alert_below=5)
    admin = telegram.user(user_id=9001)
    async with running(settings) as bot:
        low = await admin.next_message("has 3 paid uses left")
        await _until(bot.accounts, lambda: len(hili.nums_calls) >= 3)  # checked again: no second alert
        hili.nums = 0
        await _until(bot.accounts, lambda: bot.accounts.uses.get("hili") == 0)
        await admin.next_message("no paid uses left")
        user = telegram.user(user_id=704)
        await user.send_photo(portrait_jpeg(400, 500))
        menu = await user.next_message("What would you like")
        assert "Repair" not in str(menu.buttons())
        hili.nums = 80  # topped up
        await _until(bot.accounts, lambda: bot.accounts.uses.get("hili") == 80)
        await user.send_photo(portrait_jpeg(400, 500))
        menu = await user.next_message("What would you like")
        assert "Repair, upscale, colorize" in str(menu.buttons())
    alerts = [m.text for m in admin.messages() if m.text.startswith("⚠️")]
    assert alerts == [low.text, alerts[1]] and "no paid uses left" in alerts[1]
