"""End to end: /orders lists a person's orders, newest first, a page at a time, in their language,
sends a finished one's files again from the stored results (no provider call, no charge) until the
retention sweep deletes them, and tries a failed one again from its photo (a fresh order: today's
price, every check, Confirm) until the sweep deletes the photo; a bought free preview is listed as
the paid order it became; a button naming another person's order gets nothing; the buttons keep
working after a restart."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from telegram.constants import MessageLimit

from bot.main.app import running
from bot.storage.jobs import JobDraft, JobState
from bot.storage.opening import open_store
from bot.storage.repositories import Repositories
from bot.telegram.ui.callback_data import RetryJob, SendAgain
from providers.specs import load_catalog
from tests.bot.flows import local_preview, order_anime, order_finished, order_until_summary
from tests.conftest import postgres_schema

DAY = 86400
HINT = "Tap 📥 and a number to get that order's files again, free of charge."
RETRY_HINT = (
    "Tap 🔁 and a number to try a failed order again with its photo: you see the order and today's price"
    " before anything is charged."
)
PHOTO_GONE = "The photo of this order is no longer kept. Send it again to order anew."


async def _orders(user, contains: str = ""):
    await user.send_text("/orders")
    return await user.next_message(contains)


def _lines(listing) -> list[str]:
    """The order entries of a listing, each "n. what\\ndate · state · price"."""
    return [part for part in listing.text.split("\n\n") if part[:1].isdigit()]


async def test_orders_lists_states_and_prices_in_both_languages_and_sends_files_again_for_free(
    make_settings, telegram, picwish, qq
):
    user, stranger = telegram.user(user_id=7001), telegram.user(user_id=7002)
    async with running(make_settings()) as bot:
        delivered = await order_finished(user, "Visa", "USA Visa", "White")
        picwish.next_states = [[(0, 0), (-1, 0)]]
        failing = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(failing, "Confirm")
        await user.edited(failing, "could not be processed")
        summary = await order_anime(user)
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=30)
        await bot.runner.idle()

        listing = await _orders(user, "Your orders")
        anime, failed, idphoto = _lines(listing)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        assert anime.startswith("1. 🎨 Anime portrait\n" + day) and anime.endswith("UTC · ✅ done · 2 credits")
        assert failed.startswith("2. 🪪 ID photo · USA Visa\n") and failed.endswith("❌ failed · 6 credits returned")
        assert idphoto.startswith("3. 🪪 ID photo · USA Visa\n") and idphoto.endswith("✅ done · 6 credits")
        assert listing.text.endswith(f"{HINT}\n\n{RETRY_HINT}")
        assert [b["text"] for b in listing.buttons()] == ["📥 1", "📥 3", "🔁 2"]

        # Again, from the stored files: the same exact file, no provider asked, nothing charged.
        ledger = await bot.db.fetchall("SELECT * FROM ledger ORDER BY id")
        balance, submitted = await bot.ledger.balance(user.id), len(picwish.creates)
        await user.press(listing, "📥 3")
        photo = await user.next_message(kind="photo")
        again = await user.next_message(kind="document")
        assert "USA Visa · 602×602 px · 300 dpi" in photo.text
        assert (again.data, again.filename) == (delivered.data, delivered.filename)
        assert [b["text"] for b in again.buttons()] == [b["text"] for b in delivered.buttons()]
        assert await bot.ledger.balance(user.id) == balance == 30 - 6 - 2
        assert await bot.db.fetchall("SELECT * FROM ledger ORDER BY id") == ledger
        assert len(picwish.creates) == submitted
        assert await bot.ledger.problems() == []

        # Another person's order, by a forged button: refused, nothing sent to anyone.
        idphoto_job = (await bot.jobs.recent(user.id, 3))[2]
        own = await _orders(stranger, "no orders yet")
        sent = len(telegram.log)
        forged = await stranger.press_data(own, SendAgain(idphoto_job.id).data())
        assert await stranger.answer_to(forged) == "This is not your order."
        assert len(telegram.log) == sent

        # In Chinese.
        await user.send_text("/language")
        choice = await user.next_message("Choose your language")
        await user.press(choice, "简体中文")
        await user.edited(choice, "已切换为简体中文")
        listing = await _orders(user, "你的订单")
        anime, failed, idphoto = _lines(listing)
        assert anime.startswith("1. 🎨 ") and anime.endswith("（UTC） · ✅ 已完成 · 2 积分")
        assert failed.startswith("2. 🪪 ") and "美国签证" in failed and failed.endswith("❌ 失败 · 6 积分已退回")
        assert idphoto.endswith("✅ 已完成 · 6 积分")
        assert listing.text.endswith(
            "点 📥 和编号即可免费再次获取该订单的文件。\n\n"
            "点 🔁 和编号即可用原来的照片重试失败的订单：扣费前会先显示订单和当前价格。"
        )
        assert [b["text"] for b in listing.buttons()] == ["📥 1", "📥 3", "🔁 2"]


def _age(folder, days: float) -> None:
    then = time.time() - days * DAY
    for path in folder.iterdir():
        os.utime(path, (then, then))


async def test_buttons_work_after_a_restart_until_the_files_are_no_longer_kept(make_settings, telegram, picwish):
    settings = make_settings(database__media_retention_days=7)
    user = telegram.user(user_id=7003)
    async with running(settings):
        await order_finished(user, "Visa", "USA Visa", "White")
        listing = await _orders(user, "Your orders")
        assert [b["text"] for b in listing.buttons()] == ["📥 1"]

    async with running(settings) as bot:  # restarted: the button names the job, not a session
        await user.press(listing, "📥 1")
        await user.next_message(kind="document", timeout=15)
        assert len(picwish.creates) == 1

    _age(settings.media_dir / "inputs", 8)
    _age(settings.media_dir / "results", 8)
    async with running(settings) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)
        pressed = await user.press(listing, "📥 1")
        assert (
            await user.answer_to(pressed)
            == "The files of this order are no longer kept. Send a photo to make it again."
        )
        (entry,) = _lines(await _orders(user, "Your orders"))
        assert entry.endswith("✅ done · files no longer kept · 6 credits")
        assert len(user.messages("document")) == 2  # delivered, then sent again once: nothing more
        assert await bot.ledger.problems() == []


async def test_long_histories_come_a_page_at_a_time_newest_first_on_postgres(make_settings, telegram):
    settings = make_settings(database__url=await postgres_schema())
    user = telegram.user(user_id=7004)
    store = await open_store(settings.database.path, settings.database.url)
    try:  # seven orders, a day apart, settled and told before the bot starts
        repos = Repositories.on(store, daily_free=30)
        await repos.users.ensure(user.id, user.id, "en")
        for number in range(7):
            job = await repos.jobs.create(
                JobDraft(user.id, user.id, "repair", "hili", {"mode": "upscale"}, None, 1, 60)
            )
            await repos.jobs.settle(job, JobState.FAILED if number % 2 else JobState.CANCELLED, error="invalid_image")
            await store.write(
                "UPDATE jobs SET created_at = ?, delivery = 'done' WHERE id = ?", (1_700_000_000 + number * DAY, job.id)
            )
    finally:
        await store.close()
    async with running(settings) as bot:
        listing = await _orders(user, "Your orders, newest first (1–5)")
        entries = _lines(listing)
        assert [entry.split(".")[0] for entry in entries] == ["1", "2", "3", "4", "5"]
        assert entries[0].endswith("2023-11-20 22:13 UTC · ✖️ cancelled · 1 credit returned")  # the newest
        assert entries[1].endswith("2023-11-19 22:13 UTC · ❌ failed · 1 credit returned")
        assert [b["text"] for b in listing.buttons()] == ["Older ▶"]
        await user.press(listing, "Older ▶")
        await user.edited(listing, "(6–7)")
        assert [entry.split(".")[0] for entry in _lines(listing)] == ["6", "7"]
        assert "2023-11-14 22:13 UTC" in _lines(listing)[1]  # the oldest
        assert [b["text"] for b in listing.buttons()] == ["◀ Newer"]
        await user.press(listing, "◀ Newer")
        await user.edited(listing, "(1–5)")
        assert await bot.ledger.problems() == []


async def test_a_free_preview_comes_again_as_its_preview_with_confirm_never_as_its_exact_file(make_settings, telegram):
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    user = telegram.user(user_id=7005)
    async with running(make_settings(providers__picwish__enabled=False)) as bot:
        preview = await local_preview(user, "Visa", "USA Visa", "White")
        await telegram.wait_for(lambda: any("Nothing was charged" in m.text for m in user.messages()), 30)
        listing = await _orders(user, "Your orders")
        (entry,) = _lines(listing)
        assert entry.startswith("1. 🪪 ID photo · USA Visa\n") and entry.endswith("👁 free preview · free")
        await user.press(listing, "📥 1")
        again = await user.next_message(kind="photo", timeout=30)
        assert (again.data, again.text) == (preview.data, preview.text)  # reduced, watermarked, its checklist
        assert [b["text"] for b in again.buttons()] == [b["text"] for b in preview.buttons()]
        await user.press(again, "Confirm")  # its Confirm buys it, once
        document = await user.next_message(kind="document", timeout=30)
        assert document.data == bot.media.read((await bot.jobs.recent(user.id, 2))[1].result.files[0])
        assert len(user.messages("document")) == 1
        assert await bot.ledger.balance(user.id) == 28
        await bot.runner.idle()

        # Bought, it is listed as the paid order it became (the purchase), whose files are the exact file.
        listing = await _orders(user, "Your orders")
        (entry,) = _lines(listing)
        assert entry.startswith("1. 🪪 ID photo · USA Visa\n") and entry.endswith("✅ done · 2 credits")
        await user.press(listing, "📥 1")
        await user.next_message(kind="photo", timeout=30)
        assert (await user.next_message(kind="document", timeout=30)).data == document.data

        # Another preview, left: still a free preview, and still never its exact file.
        await local_preview(user, "Visa", "USA Visa", "White")
        listing = await _orders(user, "Your orders")
        left, bought = _lines(listing)
        assert left.startswith("1. 🪪 ID photo · USA Visa\n") and left.endswith("👁 free preview · free")
        assert bought.startswith("2. 🪪 ID photo · USA Visa\n") and bought.endswith("✅ done · 2 credits")
        documents = len(user.messages("document"))
        await user.press(listing, "📥 1")
        shown = await user.next_message(kind="photo", timeout=30)
        assert [b["text"] for b in shown.buttons()] == [b["text"] for b in preview.buttons()]
        await user.send_text("/language")
        choice = await user.next_message("Choose your language")
        await user.press(choice, "简体中文")
        await user.edited(choice, "已切换为简体中文")
        left, bought = _lines(await _orders(user, "你的订单"))
        assert left.endswith("👁 免费预览 · 免费") and bought.endswith("✅ 已完成 · 2 积分")
        assert len(user.messages("document")) == documents and await bot.ledger.balance(user.id) == 28
        assert await bot.ledger.problems() == []


async def test_a_failed_order_is_tried_again_from_its_photo_as_a_fresh_order_until_the_photo_goes(
    make_settings, telegram, picwish
):
    settings = make_settings(database__media_retention_days=7)
    user, stranger = telegram.user(user_id=7006), telegram.user(user_id=7007)
    async with running(settings) as bot:
        picwish.next_states = [[(0, 0), (-1, 0)]]
        failing = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(failing, "Confirm")
        await user.edited(failing, "could not be processed")
        await bot.runner.idle()
        (failed,) = await bot.jobs.recent(user.id, 5)
        assert failed.state == JobState.FAILED and await bot.ledger.balance(user.id) == 30  # it cost nothing

        # Another person's failed order, by a forged button: refused, nothing sent to anyone.
        own = await _orders(stranger, "no orders yet")
        sent = len(telegram.log)
        forged = await stranger.press_data(own, RetryJob(failed.id).data())
        assert await stranger.answer_to(forged) == "This is not your order."
        assert len(telegram.log) == sent

    # Restarted with a new price: the button names the job, and the order is priced as a fresh one.
    dearer = make_settings(database__media_retention_days=7, providers__picwish__prices__base=7)
    async with running(dearer) as bot:
        listing = await _orders(user, "Your orders")
        (entry,) = _lines(listing)
        assert entry.startswith("1. 🪪 ID photo · USA Visa\n") and entry.endswith("❌ failed · 6 credits returned")
        assert listing.text.endswith(RETRY_HINT) and HINT not in listing.text
        assert [b["text"] for b in listing.buttons()] == ["🔁 1"]
        await user.press(listing, "🔁 1")
        summary = await user.next_message("Please check your order")
        assert "USA Visa" in summary.text and "Price: 7 credits (you have 30)." in summary.text
        assert len(picwish.creates) == 1  # nothing placed before Confirm
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        await bot.runner.idle()
        retried, _ = await bot.jobs.recent(user.id, 5)
        assert (retried.input_ref, retried.options, retried.price) == (failed.input_ref, failed.options, 7)
        assert len(picwish.creates) == 2 and picwish.creates[-1]["spec_id"] == "3108"
        assert await bot.ledger.balance(user.id) == 23

        # A finished order is not tried again, whatever the button says.
        forged = await user.press_data(listing, RetryJob(retried.id).data())
        assert await user.answer_to(forged) == "This is not your order."
        listing = await _orders(user, "Your orders")
        done, failed_entry = _lines(listing)
        assert done.endswith("✅ done · 7 credits") and failed_entry.endswith("❌ failed · 6 credits returned")
        assert [b["text"] for b in listing.buttons()] == ["📥 1", "🔁 2"]
        assert await bot.ledger.problems() == []

    _age(settings.media_dir / "inputs", 8)
    _age(settings.media_dir / "results", 8)
    async with running(dearer) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)
        before_the_sweep = listing
        pressed = await user.press(before_the_sweep, "🔁 2")
        assert await user.answer_to(pressed) == PHOTO_GONE
        listing = await _orders(user, "Your orders")
        done, failed_entry = _lines(listing)
        assert done.endswith("✅ done · files no longer kept · 7 credits")
        assert failed_entry.endswith("❌ failed · photo no longer kept · 6 credits returned")
        assert listing.buttons() == [] and RETRY_HINT not in listing.text
        await user.send_text("/language")
        choice = await user.next_message("Choose your language")
        await user.press(choice, "简体中文")
        await user.edited(choice, "已切换为简体中文")
        pressed = await user.press(before_the_sweep, "🔁 2")
        assert await user.answer_to(pressed) == "这个订单的照片已不再保存。请重新发送照片再下单。"
        (_, failed_entry) = _lines(await _orders(user, "你的订单"))
        assert failed_entry.endswith("❌ 失败 · 照片已不再保存 · 6 积分已退回")
        assert len(picwish.creates) == 2 and await bot.ledger.balance(user.id) == 23


async def _delivered_album(user, telegram, picwish, bot):
    """An album of three photos whose first photo made fails: two delivered (6 credits each), the
    third given back, the zip of the two."""
    from tests.bot.flows import album_summary
    from tests.conftest import portrait_jpeg
    from tests.fakes.picwish import STEPS

    picwish.next_states = [[(0, 0), (-1, 0)], list(STEPS), list(STEPS)]
    await user.send_album([portrait_jpeg(), portrait_jpeg(900, 1000), portrait_jpeg(1000, 1100)])
    summary = await album_summary(user, await user.next_message("Album of 3 photos"))
    assert "Price: 18 credits (you have 30)." in summary.text
    await user.press(summary, "Confirm")
    await telegram.wait_for(lambda: len(user.messages("document")) == 3, 30)  # two photos, the zip
    await telegram.wait_for(lambda: any("credits were returned" in m.text for m in user.messages()), 10)
    await bot.runner.idle()
    assert await bot.ledger.balance(user.id) == 30 - 12


async def test_an_album_is_one_order_with_its_parts_state_the_price_charged_and_its_files_again(
    make_settings, telegram, picwish
):
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    user, stranger = telegram.user(user_id=7008), telegram.user(user_id=7009)
    async with running(make_settings()) as bot:
        await _delivered_album(user, telegram, picwish, bot)
        *files, archive = user.messages("document")
        jobs = await bot.jobs.recent(user.id, 10)
        assert len(jobs) == 3 and len({job.order_group for job in jobs}) == 1
        failed = next(job for job in jobs if job.state == JobState.FAILED)

        listing = await _orders(user, "Your orders, newest first (1–1)")
        (entry,) = _lines(listing)  # one order, not three
        assert entry.startswith("1. 🪪 ID photo · USA Visa, album of 3 photos\n")
        assert entry.endswith("UTC · 2 of 3 done, 1 failed · 12 credits · 6 credits returned")
        number = failed.options["album_photo"]
        assert [b["text"] for b in listing.buttons()] == ["📥 1", f"🔁 1.{number}"]
        assert listing.text.endswith(f"{HINT}\n\n{RETRY_HINT}")

        # Again: each delivered photo's files and the album's zip, from the stored files, free.
        ledger = await bot.db.fetchall("SELECT * FROM ledger ORDER BY id")
        documents, photos, submitted = len(user.messages("document")), len(user.messages("photo")), len(picwish.creates)
        await user.press(listing, "📥 1")
        await telegram.wait_for(lambda: len(user.messages("document")) == documents + 3, 30)
        *again, zipped = user.messages("document")[documents:]
        assert sorted((d.filename, d.data) for d in again) == sorted((d.filename, d.data) for d in files)
        assert (zipped.filename, zipped.data) == (archive.filename, archive.data)
        assert "All 2 photos of your album" in zipped.text
        assert len(user.messages("photo")) == photos + 2
        assert await bot.db.fetchall("SELECT * FROM ledger ORDER BY id") == ledger
        assert await bot.ledger.balance(user.id) == 18 and len(picwish.creates) == submitted

        # Its failed photo is tried again alone, at its own price.
        await user.press(listing, f"🔁 1.{number}")
        again_summary = await user.next_message("Please check your order")
        assert "USA Visa" in again_summary.text and "Price: 6 credits (you have 18)." in again_summary.text

        # Someone else's order, or one that does not exist, by a forged button: refused, nothing sent.
        own = await _orders(stranger, "no orders yet")
        sent = len(telegram.log)
        for forged_id in (jobs[0].order_group, failed.id, "0" * 32):
            forged = await stranger.press_data(own, SendAgain(forged_id).data())
            assert await stranger.answer_to(forged) == "This is not your order."
        forged = await stranger.press_data(own, RetryJob(failed.id).data())
        assert await stranger.answer_to(forged) == "This is not your order."
        assert len(telegram.log) == sent

        # In Chinese.
        await user.send_text("/language")
        choice = await user.next_message("Choose your language")
        await user.press(choice, "简体中文")
        await user.edited(choice, "已切换为简体中文")
        listing = await _orders(user, "你的订单")
        (entry,) = _lines(listing)
        assert entry.startswith("1. 🪪 ") and "美国签证，3 张照片的相册\n" in entry
        assert entry.endswith("（UTC） · 3 张中 2 张已完成，1 张失败 · 12 积分 · 6 积分已退回")
        assert [b["text"] for b in listing.buttons()] == ["📥 1", f"🔁 1.{number}"]
        documents = len(user.messages("document"))
        await user.press(listing, "📥 1")
        await telegram.wait_for(lambda: len(user.messages("document")) == documents + 3, 30)
        assert "相册的全部 2 张照片" in user.messages("document")[-1].text
        assert await bot.ledger.balance(user.id) == 18
        assert await bot.ledger.problems() == []


async def test_an_order_of_two_sizes_is_one_entry_naming_each_and_sends_both_again(make_settings, telegram, picwish):
    from tests.bot.flows import add_size

    user = telegram.user(user_id=7010)
    async with running(make_settings()) as bot:
        delivered = await order_finished(user, "Visa", "USA Visa", "White")
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
        await user.press(summary, "Confirm")
        await telegram.wait_for(lambda: len(user.messages("document")) == 3, 30)
        await bot.runner.idle()
        listing = await _orders(user, "Your orders, newest first (1–2)")
        sizes, single = _lines(listing)
        assert sizes.startswith(
            "1. 🪪 ID photo · 2 sizes: USA Visa · 51×51 mm, ⬜ White; Small 2 Inch · 35×45 mm, 🟦 Blue\n"
        )
        assert sizes.endswith("UTC · ✅ done · 9 credits")
        assert single.startswith("2. 🪪 ID photo · USA Visa\n") and single.endswith("✅ done · 6 credits")
        assert [b["text"] for b in listing.buttons()] == ["📥 1", "📥 2"]

        documents, balance = len(user.messages("document")), await bot.ledger.balance(user.id)
        assert balance == 30 - 6 - 9
        await user.press(listing, "📥 1")
        await telegram.wait_for(lambda: len(user.messages("document")) == documents + 2, 30)
        again = user.messages("document")[documents:]
        assert sorted(d.filename for d in again) == [
            "idphoto_small-2-inch_413x531_300dpi.jpg",
            "idphoto_usa-visa_602x602_300dpi.jpg",
        ]  # no zip: not an album
        await user.press(listing, "📥 2")
        single_again = await user.next_message(kind="document")
        assert (single_again.data, single_again.filename) == (delivered.data, delivered.filename)
        assert await bot.ledger.balance(user.id) == balance and len(picwish.creates) == 3
        assert await bot.ledger.problems() == []


async def test_pages_count_orders_not_their_jobs_on_postgres(make_settings, telegram):
    settings = make_settings(database__url=await postgres_schema())
    user = telegram.user(user_id=7011)
    store = await open_store(settings.database.path, settings.database.url)
    try:  # seven orders of two jobs each, a day apart, settled and told before the bot starts
        repos = Repositories.on(store, daily_free=30)
        await repos.users.ensure(user.id, user.id, "en")
        for number in range(7):
            draft = JobDraft(user.id, user.id, "repair", "hili", {"mode": "upscale"}, None, 1, 60)
            first, second = await repos.jobs.create_many([draft, draft])
            await repos.jobs.settle(
                first, JobState.SUCCEEDED if number == 6 else JobState.FAILED, error="invalid_image"
            )
            await repos.jobs.settle(second, JobState.FAILED, error="invalid_image")
            await store.write(
                "UPDATE jobs SET created_at = ?, delivery = 'done' WHERE order_group = ?",
                (1_700_000_000 + number * DAY, first.id),
            )
    finally:
        await store.close()
    async with running(settings) as bot:
        listing = await _orders(user, "Your orders, newest first (1–5)")
        entries = _lines(listing)
        assert [entry.split(".")[0] for entry in entries] == ["1", "2", "3", "4", "5"]
        assert entries[0].endswith("2023-11-20 22:13 UTC · 1 of 2 done, 1 failed · 1 credit · 1 credit returned")
        assert entries[1].endswith("2023-11-19 22:13 UTC · ❌ failed · 2 credits returned")
        assert [b["text"] for b in listing.buttons()] == ["Older ▶"]  # no files kept, no photo to try again
        await user.press(listing, "Older ▶")
        await user.edited(listing, "(6–7)")
        assert [entry.split(".")[0] for entry in _lines(listing)] == ["6", "7"]
        assert "2023-11-14 22:13 UTC" in _lines(listing)[1]  # the oldest
        assert [b["text"] for b in listing.buttons()] == ["◀ Newer"]
        assert await bot.ledger.problems() == []


async def test_a_page_button_tapped_twice_shows_that_page_and_no_error(bot, telegram):
    """A double tap on "Older ▶" sends its press twice: the second edit would show what the message
    already shows, which Telegram refuses ("message is not modified"). It used to end in
    "Something went wrong on my side"."""
    user = telegram.user(user_id=7012)
    await bot.users.ensure(user.id, user.id, "en")
    for number in range(6):
        job = await bot.jobs.create(JobDraft(user.id, user.id, "repair", "hili", {"mode": "upscale"}, None, 1, 60))
        await bot.jobs.settle(job, JobState.FAILED, error="invalid_image")
        await bot.db.write(
            "UPDATE jobs SET created_at = ?, delivery = 'done' WHERE id = ?", (1_700_000_000 + number * DAY, job.id)
        )
    listing = await _orders(user, "Your orders, newest first (1–5)")
    older = listing.button("Older ▶")["callback_data"]
    presses = [await user.press_data(listing, older) for _ in range(2)]
    await user.edited(listing, "(6–6)")
    assert [await user.answer_to(press) for press in presses] == [None, None]

    def edits() -> int:
        return sum(1 for method, _ in telegram.calls if method == "editMessageText")

    await telegram.wait_for(lambda: edits() == 2)
    await user.send_text("/balance")  # handled after both presses: nothing failed meanwhile
    await user.next_message("You have")
    assert not [m for m in user.messages() if "went wrong" in m.text]
    assert [b["text"] for b in listing.buttons()] == ["◀ Newer"]


async def test_five_orders_of_ten_long_sizes_fit_one_message(make_settings, telegram, picwish):
    """Ten sizes an order (limits.extra_specs at its most), the longest names, each fading to
    another colour: five such orders made /orders longer than Telegram takes (4,096 characters),
    and it ended in "Something went wrong" every time. Each order names its sizes as far as they fit."""
    user = telegram.user(user_id=7013)
    catalog = load_catalog()
    longest = sorted(catalog.specs, key=lambda spec: -len(spec.name("en")))[:10]
    async with running(make_settings(limits__extra_specs=9)) as bot:
        await bot.users.ensure(user.id, user.id, "en")
        for _ in range(5):
            drafts = [
                JobDraft(
                    user.id,
                    user.id,
                    "idphoto",
                    "picwish",
                    {
                        "spec_id": spec.spec_id,
                        "px_width": spec.px[0],
                        "px_height": spec.px[1],
                        "dpi": spec.dpi,
                        "bg_color": "1A2B3C",
                        "color_name": "#1A2B3C",
                        "bg_color2": "FFFFFF",
                    },
                    None,
                    1,
                    60,
                )
                for spec in longest
            ]
            for job in await bot.jobs.create_many(drafts):
                await bot.jobs.settle(job, JobState.FAILED, error="invalid_image", delivery="done")
        listing = await _orders(user, "Your orders, newest first (1–5)")
        entries = _lines(listing)
        assert len(entries) == 5 and len(listing.text) <= MessageLimit.MAX_TEXT_LENGTH
        assert entries[0].startswith(f"1. 🪪 ID photo · 10 sizes: {longest[0].name('en')} · ")
        assert "; …\n" in entries[0] and entries[0].endswith("❌ failed · 10 credits returned")
        assert telegram.too_long == []
        assert not [m for m in user.messages() if "went wrong" in m.text]
