"""/privacy says what is kept and who sees a photo; /forget deletes it all, under the Cancel rule."""

from __future__ import annotations

from tests.bot.flows import order_until_summary
from tests.conftest import portrait_jpeg


async def _forget(user, button: str, expect: str):
    """/forget, then ``button`` on its question; the question once edited to ``expect``."""
    await user.send_text("/forget")
    ask = await user.next_message("Go ahead?")
    await user.press(ask, button)
    return await user.edited(ask, expect)


def _stored(settings) -> list[str]:
    return sorted(p.name for folder in ("inputs", "results") for p in (settings.media_dir / folder).iterdir())


async def test_privacy_names_what_is_kept_and_each_services_provider(bot, telegram, picwish, qq, tiger):
    user = telegram.user()
    await user.send_text("/start")
    greeting = await user.next_message("Send me a photo to begin")
    assert "/privacy" in greeting.text
    await user.send_text("/help")
    assert "/privacy" in (await user.next_message("How it works")).text
    await user.send_text("/privacy")
    text = (await user.next_message("What I keep")).text
    assert "for 7 days" in text and "15 minutes" in text
    assert "each payment (its Telegram payment id, the pack, the date and your id), kept for refunds" in text
    assert "except from your payments (kept for refunds) and from credits you still owe" in text
    assert "🪪 ID photo: PicWish" in text and "🎨 Anime portrait: Tencent" in text and "✨ Enhance: MagicTiger" in text
    chinese = telegram.user(6101, language_code="zh-hans")
    await chinese.send_text("/privacy")
    text = (await chinese.next_message("我保存什么")).text
    assert "保留 7 天" in text and "🪪 证件照：佐糖 PicWish" in text
    assert "会为退款而保留" in text and "付款记录（为退款而保留）和你因退款仍欠的积分除外" in text


async def test_forget_waits_for_work_a_provider_took_then_deletes_everything(bot, telegram, picwish):
    settings = bot.settings
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    picwish.hold_new_tasks = True
    running = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(running, "Confirm")
    await user.edited(running, "on its way")
    await user.send_photo(portrait_jpeg())  # and a photo not ordered with yet
    await user.next_message("What would you like")
    stored = _stored(settings)
    assert len(stored) == 4  # two inputs, one result, the new photo

    await _forget(user, "Delete everything", "already being made and can no longer be cancelled")
    assert _stored(settings) == stored

    picwish.release()
    await user.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    await _forget(user, "Keep my data", "Nothing was deleted")
    done = await _forget(user, "Delete everything", "Done.")
    assert "5 stored files were deleted" in done.text  # two inputs, two results, the unordered photo
    assert _stored(settings) == []
    for table in ("users", "jobs", "ledger"):
        assert await bot.db.fetchall(f"SELECT * FROM {table} WHERE user_id = ?", (user.id,)) == []
    assert await bot.ledger.problems() == []
    spent = await bot.db.fetchall("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'capture' AND user_id < 0")
    assert spent[0]["n"] == 2  # both photos were paid for, under a pseudonym

    await user.send_text("/balance")  # back the same day: no second free top-up
    assert "You have 0 credits" in (await user.next_message("credits")).text


async def test_forget_waits_for_a_paid_result_telegram_put_off_then_deletes_it(bot, telegram, picwish):
    """The photo is made and paid for, but Telegram failed its sending (a delivery put off, to be
    tried again): /forget waits for it as for a photo being made. Before, it deleted the files the
    delivery was about to read again: the credits were spent, the photo never came, and its status
    stayed "Working on it"."""
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    telegram.fail("sendPhoto", 502, "Bad Gateway", times=4)  # every attempt of the delivery's first try
    await user.press(summary, "Confirm")
    await telegram.wait_for(lambda: not telegram.failures["sendPhoto"], 20)
    stored = _stored(bot.settings)
    assert len(stored) == 2  # the photo and its result

    await _forget(user, "Delete everything", "already being made and can no longer be cancelled")
    assert _stored(bot.settings) == stored
    await user.next_message(kind="document", timeout=40)  # the delivery's next try
    await user.edited(summary, "Done! 6 credits used.")
    await bot.runner.idle()
    done = await _forget(user, "Delete everything", "Done.")
    assert "2 stored files were deleted" in done.text and _stored(bot.settings) == []
    assert await bot.ledger.problems() == []


async def test_keep_my_data_tapped_twice_says_nothing_was_deleted_and_no_error(bot, telegram):
    """A double tap on "Keep my data": the second answer is the text the question already shows,
    which Telegram refuses to edit to ("message is not modified"). It used to end in "Something
    went wrong on my side"."""
    user = telegram.user()
    await user.send_text("/forget")
    ask = await user.next_message("Go ahead?")
    keep = ask.button("Keep my data")["callback_data"]
    for _ in range(2):
        await user.press_data(ask, keep)
    await user.edited(ask, "Nothing was deleted.")
    await telegram.wait_for(lambda: sum(1 for method, _ in telegram.calls if method == "editMessageText") == 2)
    await user.send_text("/balance")  # handled after both presses: nothing failed meanwhile
    await user.next_message("You have 30 credits")
    assert not [m for m in user.messages() if "went wrong" in m.text]
