"""Disk and memory a user can take: only the latest unordered photo is kept, a per-user cap, a
free-disk threshold, and menus and sessions that expire."""

from __future__ import annotations

import httpx
import pytest

from bot.main.app import running
from tests.bot.flows import order_until_summary
from tests.conftest import portrait_jpeg


def _inputs(settings) -> list[str]:
    return sorted(p.name for p in (settings.media_dir / "inputs").iterdir())


async def test_only_the_latest_photo_not_yet_ordered_with_is_kept(make_settings, telegram, picwish):
    settings = make_settings()
    async with running(settings) as bot:
        user = telegram.user()
        for _ in range(3):
            await user.send_photo(portrait_jpeg())
            await user.next_message("What would you like")
        assert len(_inputs(settings)) == 1
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        (row,) = await bot.db.fetchall("SELECT input_ref FROM jobs")
        ordered = row["input_ref"].split("/")[1]
        assert _inputs(settings) == [ordered]
        await user.send_photo(portrait_jpeg())
        await user.next_message("What would you like")
        assert len(_inputs(settings)) == 2 and ordered in _inputs(settings)
        await user.send_text("/cancel")
        await user.next_message("Stopped")
        assert _inputs(settings) == [ordered]  # the job's input stays; the unordered photo is gone


async def test_a_user_over_the_storage_cap_is_refused_and_nothing_is_stored(make_settings, telegram, picwish):
    settings = make_settings(database__max_user_mb=0.2)
    async with running(settings):
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        before = _inputs(settings)
        await user.send_document(portrait_jpeg(900, 1200), "big.jpg", "image/jpeg")
        refusal = await user.next_message("of photos stored with me")
        assert "0.2 MB" in refusal.text and "/forget" in refusal.text
        assert _inputs(settings) == before
        other = telegram.user(7002)  # the cap is per user
        await other.send_photo(portrait_jpeg())
        await other.next_message("What would you like")


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (1, "They are deleted 1 day after your orders, or right away with /forget."),
        (0, "They are kept until you delete them with /forget."),  # media_retention_days 0: never deleted
    ],
)
async def test_the_storage_cap_says_when_the_photos_go(make_settings, telegram, picwish, days, said):
    async with running(make_settings(database__max_user_mb=0.2, database__media_retention_days=days)):
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        await user.send_document(portrait_jpeg(900, 1200), "big.jpg", "image/jpeg")
        refusal = await user.next_message("of photos stored with me")
        assert refusal.text.endswith(said)


async def test_low_disk_turns_photos_away_and_makes_healthz_unhealthy(make_settings, telegram):
    settings = make_settings(database__min_free_disk_mb=1e12)
    async with running(settings) as bot:
        user = telegram.user()
        await user.send_photo(portrait_jpeg())
        await user.next_message("try again later")
        assert _inputs(settings) == []
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{bot.web.bound_port}/healthz")
        assert health.status_code == 503 and health.json() == {"status": "low_disk"}
        await user.send_text("/start")
        await user.next_message("Send me a photo")


async def test_an_idle_menu_closes_and_a_quiet_session_is_forgotten_with_its_photo(make_settings, telegram, picwish):
    settings = make_settings(telegram__conversation_timeout=1)
    async with running(settings):
        user = telegram.user()
        await user.send_photo(portrait_jpeg())
        menu = await user.next_message("What would you like")
        await user.press(menu, "ID photo")
        await user.edited(menu, "Choose a category")
        closed = await user.edited(menu, "menu closed after a while", timeout=15)
        assert [b["text"] for b in closed.buttons()] == ["📷 New photo"]
        await telegram.wait_for(lambda: _inputs(settings) == [], timeout=15)  # the session went with its photo
        pressed = await user.press_data(menu, "i:cat:0")
        assert "expired" in (await user.answer_to(pressed) or "")
        await user.send_photo(portrait_jpeg())
        await user.next_message("What would you like")
