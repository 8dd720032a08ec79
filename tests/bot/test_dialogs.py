"""End to end: one dialog open at a time, and what a person who types or sends the unexpected is
told. A person can have several menus on screen (two photos, a portrait gallery sent as a new
message): starting a service's dialog ends the others, so text typed goes to the open one and one
dialog's time limit cannot close another's summary. Text at a step of buttons is told to use them,
and a video, a sticker or a voice message is told what the bot takes."""

from __future__ import annotations

import sqlite3

from bot.main.app import running
from bot.services.idphoto.buttons import Recolor
from tests.conftest import portrait_jpeg
from tests.fakes.telegram_api import FakeUser, SentMessage

USE_BUTTONS = "Please choose with the buttons above"


async def _repair_beside_a_portrait_gallery(user: FakeUser) -> SentMessage:
    """A photo, AI portrait's gallery (a new message: the service menu stays), then Repair pressed
    on that menu: the menu, at Repair's modes."""
    await user.send_photo(portrait_jpeg(800, 1000))
    menu = await user.next_message("What would you like")
    await user.press(menu, "AI portrait")
    await user.next_message(kind="photo")  # its gallery
    await user.press(menu, "Repair, upscale, colorize")
    await user.edited(menu, "What should I do with this photo")
    return menu


async def _to_custom_colour(user: FakeUser, menu: SentMessage) -> None:
    """From Repair's modes on ``menu`` to its custom background colour, which waits for "R,G,B"."""
    await user.press(menu, "🪪 New background")
    await user.edited(menu, "new background colour")
    await user.press(menu, "Custom")
    await user.edited(menu, "R,G,B")


async def test_text_at_a_step_of_buttons_is_told_to_use_them_and_the_step_stays(bot, telegram, picwish, hili):
    user = telegram.user()
    await user.send_photo(portrait_jpeg())
    menu = await user.next_message("What would you like")
    await user.press(menu, "Repair, upscale, colorize")
    await user.edited(menu, "What should I do with this photo")
    await user.send_text("upscale please")  # before, "Send me a photo first": it had just sent one
    told = await user.next_message(USE_BUTTONS)
    assert "send a new photo, or /cancel" in told.text
    await user.press(menu, "Upscale")  # the step stayed
    await user.edited(menu, "Please check your order")


async def test_a_video_a_sticker_and_a_voice_message_are_told_what_the_bot_takes(bot, telegram, picwish):
    """Before, nothing answered them."""
    user = telegram.user()
    await user.send_content(video={"file_id": "v1", "file_unique_id": "v1", "width": 640, "height": 480, "duration": 3})
    sticker = {"file_id": "s1", "file_unique_id": "s1", "width": 512, "height": 512, "type": "regular"}
    await user.send_content(sticker={**sticker, "is_animated": False, "is_video": False})
    await user.send_content(voice={"file_id": "o1", "file_unique_id": "o1", "duration": 2})
    await telegram.wait_for(lambda: len(user.messages()) == 3, 10)
    assert all(m.text.startswith("I can only work with photos and image files") for m in user.messages())


async def test_a_menu_under_an_earlier_photo_says_so_and_the_latest_photos_works(bot, telegram, picwish, hili):
    """Two photos, two menus: only the latest photo is kept. A service pressed under the first is
    told the menu is for an earlier photo (before, it started a dialog on the second photo, which a
    summary does not show). Under the second, the dialog starts."""
    user = telegram.user()
    await user.send_photo(portrait_jpeg(400, 500))
    first = await user.next_message("What would you like")
    await user.send_photo(portrait_jpeg(420, 500))
    second = await user.next_message("What would you like")
    query = await user.press(first, "Repair, upscale, colorize")
    assert (await user.answer_to(query) or "").startswith("That menu is for an earlier photo")
    assert first.text.startswith("Got your photo (400×500)")  # left as it was
    await user.press(second, "Repair, upscale, colorize")
    await user.edited(second, "What should I do with this photo")
    await _to_custom_colour(user, second)
    # The earlier photo's menu again, mid-dialog: refused, and the open step stays.
    query = await user.press(first, "Repair, upscale, colorize")
    assert (await user.answer_to(query) or "").startswith("That menu is for an earlier photo")
    await user.send_text("255,0,0")
    await user.next_message("Please check your order")


async def test_typed_text_goes_to_the_dialog_opened_last(make_settings, telegram, wanxing, hili):
    """AI portrait's gallery comes as a new message and its menu stays: Repair pressed on it, its
    custom colour typed goes to Repair, not to the portrait's open step (which would tell it to
    use the buttons): starting a dialog ends the others."""
    async with running(make_settings()):
        user = telegram.user()
        menu = await _repair_beside_a_portrait_gallery(user)
        await _to_custom_colour(user, menu)
        await user.send_text("255,0,0")
        await user.next_message("Please check your order")
        assert not any(USE_BUTTONS in m.text for m in user.messages())


async def test_one_dialogs_time_limit_leaves_the_summary_another_showed(make_settings, telegram, wanxing, hili):
    """AI portrait's gallery comes as a new message, so its service menu stays: Repair, pressed on
    it, goes to a summary. The portrait dialog's time limit then passed (a second person's menu,
    opened later with the same limit, closing first tells when): before, it emptied the session,
    and the repair summary's Confirm said "expired" and closed that message."""
    async with running(make_settings(telegram__conversation_timeout=1)) as bot:
        user = telegram.user()
        menu = await _repair_beside_a_portrait_gallery(user)
        await user.press(menu, "Upscale")
        summary = await user.edited(menu, "Please check your order")
        later = telegram.user(user_id=2)
        await later.send_photo(portrait_jpeg())
        other = await later.next_message("What would you like")
        await later.press(other, "Repair, upscale, colorize")
        await later.edited(other, "menu closed after a while", timeout=15)
        assert summary.text.startswith("Please check your order")
        await user.press(summary, "Confirm")
        await user.edited(summary, "Your order is in")
        await user.next_message(kind="document", timeout=30)
        await bot.runner.idle()


async def test_a_step_kept_across_a_restart_that_had_closed_is_not_restored(make_settings, telegram, hili):
    """A person left Repair's custom colour open; the bot restarted; they came back after the
    menu's time limit (their session written that long ago). python-telegram-bot restores a kept
    step without its time limit: before, the step stayed open, and the colour typed went to it and
    got no answer at all. Now the step is not restored, and what they type is answered."""
    settings = make_settings(telegram__conversation_timeout=60)
    user = telegram.user(user_id=1401)
    async with running(settings) as bot:
        await user.send_photo(portrait_jpeg(400, 500))
        menu = await user.next_message("What would you like")
        await user.press(menu, "Repair, upscale, colorize")
        await user.edited(menu, "What should I do with this photo")
        await _to_custom_colour(user, menu)
    # An hour went by (the session was last written then).
    with sqlite3.connect(settings.database.path) as db:
        db.execute("UPDATE sessions SET updated_at = updated_at - 3600 WHERE user_id = 1401")
    async with running(settings) as bot:
        assert await bot.db.fetchall("SELECT name FROM conversations") == []
        await user.send_text("255,0,0")
        await user.next_message("Send me a photo first")


async def test_in_a_group_the_bot_says_it_works_in_a_private_chat_and_registers_no_one(bot, telegram, picwish):
    """A command in a group is told to use a private chat, and nobody is registered with the group
    as their chat (an invitation's news would have gone to the group). Before, the group got the
    whole menu, and any member could press another's."""
    user = telegram.user(user_id=4242)
    group = {"id": -100777, "type": "group", "title": "Family"}
    message = {"message_id": 1, "date": 0, "chat": group, "from": user.json, "text": "/start"}
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    await telegram.push_update({"message": message})
    await telegram.wait_for(lambda: any(m.chat_id == -100777 for m in telegram.log), 10)
    (told,) = [m for m in telegram.log if m.chat_id == -100777]
    assert told.text.startswith("I work in a private chat")
    assert await bot.db.fetchall("SELECT user_id FROM users WHERE user_id = 4242") == []


async def test_a_refused_button_of_another_service_leaves_the_open_dialog(bot, telegram, picwish, hili):
    """At Repair's custom colour, "Another background colour" under an ID photo that is gone is
    refused, and Repair's step stays: the colour typed next makes its summary (before, the refused
    entry had ended Repair's dialog, and the colour got "Send me a photo first")."""
    user = telegram.user()
    await user.send_photo(portrait_jpeg(400, 500))
    menu = await user.next_message("What would you like")
    await user.press(menu, "Repair, upscale, colorize")
    await user.edited(menu, "What should I do with this photo")
    await _to_custom_colour(user, menu)
    query = await user.press_data(menu, Recolor("0" * 32).data())
    assert await user.answer_to(query) == "That photo is no longer available. Send a new photo."
    await user.send_text("255,0,0")
    await user.next_message("Please check your order")
