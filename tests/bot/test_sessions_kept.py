"""A restarted bot carries on where each user was: the menu step, the draft, the order on the
summary (sessions and conversation steps kept in the database, on either backend)."""

from __future__ import annotations

import json
import logging

import pytest

from bot.main.app import running
from bot.storage.opening import open_store
from tests.bot.flows import choose_options, order_until_summary, page_to, send_photo_and_pick_idphoto
from tests.conftest import portrait_jpeg, postgres_schema
from tests.fakes.clock import ManualClock


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_restart_keeps_the_menu_step_and_the_order_on_the_summary(make_settings, telegram, picwish, backend):
    url = await postgres_schema() if backend == "postgres" else ""
    settings = make_settings(database__url=url)
    user = telegram.user(user_id=1301)
    async with running(settings):
        menu = await send_photo_and_pick_idphoto(user)
        await user.press(menu, "Visa")
        await user.edited(menu, "Choose a spec")
        await user.send_text("USA visa")
        found = await user.next_message("Results for")
    async with running(settings) as bot:  # restarted between two taps
        await user.press(found, "· USA Visa")
        await user.edited(found, "background colour")
        await user.press(found, "White")
        await user.edited(found, "Options")
        await user.press(found, "Continue")
        summary = await user.edited(found, "Please check your order")
    async with running(settings) as bot:  # and again before Confirm
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        assert picwish.creates[-1]["spec_id"] == "3108"
        assert await bot.ledger.balance(1301) == 24
        await user.send_text("/forget")
        question = await user.next_message("This deletes every photo")
        await user.press(question, "Delete everything")
        await user.edited(question, "Done.")
        kept = await bot.db.fetchall("SELECT data FROM sessions WHERE user_id = 1301")
        assert not any("inputs/" in row["data"] for row in kept)  # the photo is not remembered


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_kept_session_that_no_longer_reads_is_dropped_and_the_others_carry_on(
    make_settings, telegram, picwish, backend, caplog
):
    """A session written before an upgrade tightened its order model (here: a width of 0 px) is
    logged and deleted; it must not stop the bot, and every other user carries on."""
    url = await postgres_schema() if backend == "postgres" else ""
    settings = make_settings(database__url=url)
    kept, stale = telegram.user(user_id=1311), telegram.user(user_id=1312)
    async with running(settings):
        summary = await order_until_summary(kept, "Visa", "USA Visa", "White")
        await order_until_summary(stale, "Visa", "USA Visa", "White")
    store = await open_store(settings.database.path, url)
    try:
        row = await store.fetchone("SELECT data FROM sessions WHERE user_id = 1312")
        data = json.loads(row["data"])
        data["order"]["order"]["px_width"] = 0
        await store.write("UPDATE sessions SET data = ? WHERE user_id = 1312", (json.dumps(data),))
    finally:
        await store.close()
    caplog.set_level(logging.WARNING, logger="bot.telegram.persistence")

    async with running(settings) as bot:
        (warning,) = [record for record in caplog.records if record.name == "bot.telegram.persistence"]
        assert warning.getMessage() == (
            "dropped the kept session of user 1312: it no longer reads (px_width: greater_than)"
        )
        assert await bot.db.fetchone("SELECT data FROM sessions WHERE user_id = 1312") is None
        await kept.press(summary, "Confirm")
        await kept.next_message(kind="document", timeout=15)
        await stale.send_text("/balance")
        await stale.next_message("credits")


def _in_the_old_shape(text: str) -> str:
    """A session as the bot wrote it before each service kept its own state: the ID photo's draft,
    spec list ("cat:<index>" before that) and custom spec, and the anime style, at the top level."""
    data = json.loads(text)
    states = data.pop("services")
    idphoto = states.get("idphoto", {})
    spec_list = idphoto.get("spec_list")
    data["draft"] = idphoto.get("draft")
    data["spec_source"] = f"cat:{spec_list['category']}" if spec_list else None
    data["sizing_spec"] = idphoto.get("sizing_spec")
    data["anime_style"] = states.get("anime", {}).get("style", "")
    return json.dumps(data)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sessions_kept_before_services_had_states_of_their_own_carry_on(
    make_settings, telegram, picwish, qq, backend
):
    """Rows already in users' databases: an ID photo's draft and the spec list it came from, and
    an anime style, kept at the session's top level by an older version, read back into the
    services' own states; the next taps carry on."""
    url = await postgres_schema() if backend == "postgres" else ""
    settings = make_settings(database__url=url)
    idphoto, anime = telegram.user(user_id=1321), telegram.user(user_id=1322)
    async with running(settings):
        menu = await send_photo_and_pick_idphoto(idphoto)
        await idphoto.press(menu, "Visa")
        await idphoto.edited(menu, "Choose a spec")
        await page_to(idphoto, menu, "· USA Visa")
        await idphoto.press(menu, "· USA Visa")
        await idphoto.edited(menu, "background colour")
        await idphoto.press(menu, "White")
        await idphoto.edited(menu, "Options")
        await anime.send_photo(portrait_jpeg(800, 1000))
        styles = await anime.next_message("What would you like")
        await anime.press(styles, "Anime portrait")
        await anime.edited(styles, "Choose an anime style")
        await anime.press(styles, "Manga")
        await anime.edited(styles, "What should the result look like")
    store = await open_store(settings.database.path, url)
    try:
        for user_id in (1321, 1322):
            row = await store.fetchone("SELECT data FROM sessions WHERE user_id = ?", (user_id,))
            old = _in_the_old_shape(row["data"])
            await store.write("UPDATE sessions SET data = ? WHERE user_id = ?", (old, user_id))
    finally:
        await store.close()

    async with running(settings):
        await idphoto.press(menu, "« Back")  # the draft: back to its colours
        await idphoto.edited(menu, "Choose a background colour")
        await idphoto.press(menu, "« Back")  # the spec list it came from: the Visa category
        listed = await idphoto.edited(menu, "Choose a spec")
        assert listed.text.startswith("Visa & passport\n")
        await page_to(idphoto, menu, "· USA Visa")
        await idphoto.press(menu, "· USA Visa")
        await idphoto.edited(menu, "background colour")
        summary = await choose_options(idphoto, menu, "White")
        await idphoto.press(summary, "Confirm")
        await idphoto.next_message(kind="document", timeout=15)
        assert picwish.creates[-1]["spec_id"] == "3108"
        await anime.press(styles, "Anime picture only")  # the style chosen before the restart
        anime_summary = await anime.edited(styles, "Please check your order")
        assert "Manga" in anime_summary.text
        await anime.press(anime_summary, "Confirm")
        await anime.next_message(kind="document", timeout=15)
        assert json.loads(qq.requests[-1]["body"])["busiId"] == "ai_painting_anime_img_entry"


async def test_buttons_pressed_while_the_bot_was_down_do_what_they_say_when_it_is_back(
    make_settings, telegram, picwish
):
    """Telegram keeps a press made while the bot is down and delivers it when the bot is back, by
    when the press can no longer be answered ("query is too old"): the refused answer ended the
    handler before it did anything, and the user read "Something went wrong" instead."""
    telegram.clock = clock = ManualClock()
    settings = make_settings()
    user = telegram.user(user_id=1321)
    async with running(settings):
        await user.send_photo(portrait_jpeg())
        menu = await user.next_message("What would you like")
    await user.press(menu, "ID photo")
    clock.advance(60)  # the bot came back a minute later
    async with running(settings):
        await user.edited(menu, "Choose a category")
        await page_to(user, menu, "Visa")
        await user.press(menu, "Visa")
        await user.edited(menu, "Choose a spec")
    await user.press(menu, "· USA Visa")
    clock.advance(60)
    async with running(settings) as bot:
        await user.edited(menu, "background colour")
        summary = await choose_options(user, menu, "White", ())
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        assert await bot.ledger.balance(1321) == 24
    assert len(telegram.late_callback_answers) == 2  # Telegram refused both late answers
    assert not [m.text for m in user.messages() if "went wrong" in m.text]
