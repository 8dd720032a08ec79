"""End-to-end: a user orders ID photos through the fake Bot API, served by the fake PicWish."""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from bot.main.app import running
from tests.bot.flows import (
    ask_custom_size,
    choose_options,
    corner_rgb,
    dpi,
    order_finished,
    order_until_summary,
    page_to,
    pixel_size,
    send_photo_and_pick_idphoto,
)
from tests.conftest import portrait_jpeg


def _close(rgb: tuple[int, int, int], hex_colour: str, tolerance: int = 12) -> bool:
    expected = tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=True))


@pytest.mark.parametrize(
    ("category", "spec", "color", "spec_id", "size", "hex_colour", "filename"),
    [
        ("Visa", "USA Visa", "White", 3108, (602, 602), "FFFFFF", "idphoto_usa-visa_602x602_300dpi.jpg"),
        ("Common", "Small 2 Inch", "Blue", 1104, (413, 531), "438EDB", "idphoto_small-2-inch_413x531_300dpi.jpg"),
        (
            "Examination",
            "Chengdu Civil Service Exam",
            "Red",
            5104,
            (102, 126),
            "FF0000",
            "idphoto_chengdu-civil-service-exam_102x126_300dpi.jpg",
        ),
        (
            "Student",
            "National Student Registration Photo",
            "White",
            4201,
            (307, 378),
            "FFFFFF",
            "idphoto_national-student-registration-photo_307x378_150dpi.jpg",
        ),
    ],
)
async def test_full_flow_delivers_the_exact_file(
    bot, telegram, picwish, category, spec, color, spec_id, size, hex_colour, filename
):
    user = telegram.user()
    summary = await order_until_summary(user, category, spec, color)
    assert "Price: 6 credits (you have 30)" in summary.text
    await user.press(summary, "Confirm")

    photo = await user.next_message(kind="photo", timeout=15)
    document = await user.next_message(kind="document")
    assert document.filename == filename
    assert pixel_size(document.data) == size
    assert dpi(document.data) == (bot.catalog.get(spec_id).dpi,) * 2
    assert _close(corner_rgb(document.data), hex_colour)
    assert document.params["disable_content_type_detection"] == "true"
    assert spec in photo.text and f"{size[0]}×{size[1]} px" in photo.text
    assert [b["text"] for b in document.buttons()] == [
        "🎨 Another background colour",
        "📦 File size",
        "📐 DPI",
        "🖨 Print sheet",
        "📷 New photo",
    ]
    await user.edited(summary, "Done! 6 credits used.")

    created = picwish.creates[-1]
    assert created["spec_id"] == str(spec_id) and created["bg_color"] == hex_colour
    assert (created["px_width"], created["px_height"]) == (str(size[0]), str(size[1]))
    assert len(picwish.creates) == 1
    assert await bot.ledger.balance(user.id) == 24
    assert await bot.ledger.problems() == []


async def test_each_option_is_sent_and_priced(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "Japan Visa", "White", options=("Beauty", "Print sheet"))
    assert "Price: 19 credits" in summary.text  # 6 + 8 beauty + 5 layout
    assert "\nPrint sheet: 5-inch\n" in summary.text
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    created = picwish.creates[-1]
    assert created["auto_bright"] == "1" and created["auto_smooth"] == "1"
    assert created["layout"] == "1" and created["layout_size"] == "5inch"
    assert pixel_size(document.data) == (1500, 1050)
    assert document.filename == "idphoto_japan-visa_sheet-5inch_1500x1050.jpg"
    photo = next(m for m in user.messages("photo") if m.text.startswith("Japan Visa"))
    assert photo.text == "Japan Visa · print sheet (5-inch)"
    assert await bot.ledger.balance(user.id) == 30 - 19


async def test_outfit_costs_fifteen(bot, telegram, picwish):
    user = telegram.user()
    menu = await send_photo_and_pick_idphoto(user)
    await user.press(menu, "Visa")
    await user.edited(menu, "Choose a spec")
    await user.press(menu, "Brazil Visa")
    await user.edited(menu, "background colour")
    await user.press(menu, "White")
    await user.edited(menu, "Options")
    await user.press(menu, "Outfit")
    await user.edited(menu, "Choose an outfit style")
    await user.press(menu, "Women's suits")
    await user.edited(menu, "Choose outfit number")
    await user.press(menu, "7")
    await user.edited(menu, "price so far: 15 credits")
    assert "👔 Outfit: Women's suits · 7" in [b["text"] for b in menu.buttons()]
    await user.press(menu, "Continue")
    summary = await user.edited(menu, "Please check your order")
    assert "Price: 15 credits" in summary.text and "\nOutfit: Women's suits · 7\n" in summary.text
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert picwish.creates[-1]["clothes_id"] == "woman_7"


async def test_options_read_in_chinese_without_ids_or_ascii_commas(bot, telegram, picwish):
    """The options, the summary and the sheet's caption name the outfit and the paper in the
    user's language ("woman_7" and "5inch" are ids), and list refinements with 、."""
    user = telegram.user(6301, language_code="zh-hans")
    await user.send_photo(portrait_jpeg())
    menu = await user.next_message("想做什么")
    await user.press(menu, "证件照")
    await user.edited(menu, "请选择类别")
    await user.press(menu, "签证与护照")
    await user.edited(menu, "请选择规格")
    await page_to(user, menu, "· 日本签证")
    await user.press(menu, "· 日本签证")
    await user.edited(menu, "请选择底色")
    await user.press(menu, "白色")
    await user.edited(menu, "选项")
    for option in ("美颜", "锐化", "瘦脸", "排版打印", "竖向排列", "换装"):
        edits = menu.edits
        await user.press(menu, option)
        await user.api.wait_for(lambda edits=edits: menu.edits > edits)
    await user.edited(menu, "请选择换装风格")
    await user.press(menu, "女士正装")
    await user.edited(menu, "请选择服装编号")
    await user.press(menu, "7")
    await user.edited(menu, "选项")
    shown = [b["text"] for b in menu.buttons()]
    assert "👔 换装：女士正装 7 号" in shown and "🖨 排版打印：5 寸相纸" in shown
    await user.press(menu, "继续")
    summary = await user.edited(menu, "请确认订单")
    assert "\n美颜：开（锐化、瘦脸）\n换装：女士正装 7 号\n排版打印：5 寸相纸（竖向）\n" in summary.text
    await user.press(summary, "确认")
    photo = await user.next_message(kind="photo", timeout=15)
    assert photo.text == "日本签证 · 排版打印（5 寸相纸）"


async def test_free_preview_costs_nothing(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "India Visa", "White", options=("Free preview",))
    assert "Price: 0 credits" in summary.text
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert picwish.creates[-1]["preview"] == "1"
    assert await bot.ledger.balance(user.id) == 30


async def test_spec_search_by_text(bot, telegram):
    user = telegram.user()
    menu = await send_photo_and_pick_idphoto(user)

    await user.send_text("visa")
    listing = await user.next_message("Results for “visa”")
    assert "23 found" in listing.text
    assert "40×50 mm · Brazil Visa" in [b["text"] for b in listing.buttons()]

    await user.send_text("US")
    listing = await user.next_message("Results for “US”")
    assert [b["text"] for b in listing.buttons()][:1] == ["51×51 mm · USA Visa"] and "1 found" in listing.text

    await user.send_text("3108")
    listing = await user.next_message("Results for “3108”")
    assert "51×51 mm · USA Visa" == listing.buttons()[0]["text"]

    await user.send_text("zzzz")
    await user.next_message("No spec matches “zzzz”")

    await user.press(listing, "USA Visa")
    await user.edited(listing, "602×602 px · 300 dpi")
    assert [b["text"] for b in listing.buttons()] == ["⬜ White", "« Back"]
    assert menu.text.startswith("Choose a category")


async def test_spec_pages_and_colours_follow_the_spec(bot, telegram):
    user = telegram.user()
    menu = await send_photo_and_pick_idphoto(user)
    await user.press(menu, "Examinations")
    await user.edited(menu, "Choose a spec")
    assert any(b["text"] == "1/10" for b in menu.buttons())
    await user.press(menu, "▶")
    await telegram.wait_for(lambda: any(b["text"] == "2/10" for b in menu.buttons()))
    await user.press(menu, "▶")
    await telegram.wait_for(lambda: any(b["text"] == "3/10" for b in menu.buttons()))
    await user.press(menu, "Shanghai Civil Service Exam")
    await user.edited(menu, "150×200 px")
    assert [b["text"] for b in menu.buttons()] == ["🟦 Blue", "⬜ White", "« Back"]


async def test_no_requirement_spec_takes_a_custom_hex(bot, telegram, picwish):
    user = telegram.user()
    menu = await send_photo_and_pick_idphoto(user)
    await user.press(menu, "Common sizes")
    await user.edited(menu, "Choose a spec")
    await user.press(menu, "· 1 Inch")
    await user.edited(menu, "background colour")
    assert [b["text"] for b in menu.buttons()] == ["⬜ White", "🟦 Blue", "🟥 Red", "🎨 Custom…", "« Back"]
    await user.press(menu, "Custom")
    await user.edited(menu, "hex code")
    await user.send_text("not a colour")
    await user.next_message("is not a hex colour")
    await user.send_text("#4a90e2")
    options = await user.next_message("Options")
    await user.press(options, "Continue")
    summary = await user.edited(options, "Please check your order")
    assert "Background: #4A90E2" in summary.text
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert picwish.creates[-1]["bg_color"] == "4A90E2"
    assert _close(corner_rgb(document.data), "4A90E2")


async def test_not_enough_credits_makes_no_provider_request(make_settings, telegram, picwish):
    from bot.main.app import running

    async with running(make_settings(credits__daily_free=5)) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.edited(summary, "This costs 6 credits but you have 5")
        assert "Choose cheaper options or try again tomorrow." in summary.text  # no credits on sale here
        assert picwish.creates == []
        assert await services.ledger.balance(user.id) == 5


async def test_cancel_is_not_offered_once_the_provider_works_and_the_work_is_paid(bot, telegram, picwish):
    """PicWish cannot drop a task: once it has one, Cancel disappears, a stale Cancel button is
    refused, and the photo arrives and is paid for. A Confirm/Cancel loop spends nothing of the
    operator's paid quota for free."""
    picwish.hold_new_tasks = True
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    stale_cancel = summary  # the queued status shows Cancel until the provider accepts
    await user.press(summary, "Confirm")
    await picwish.task_created.wait()
    await user.edited(summary, "your photo is on its way")
    assert summary.buttons() == []
    (job_id,) = [row["id"] for row in await bot.db.fetchall("SELECT id FROM jobs")]
    query = await user.press_data(stale_cancel, f"j:cancel:{job_id}")
    assert "can no longer be cancelled" in (await user.answer_to(query) or "")
    assert await bot.ledger.balance(user.id) == 24
    picwish.release()
    await user.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    assert (await bot.jobs.get(job_id)).state == "succeeded"
    assert await bot.ledger.balance(user.id) == 24
    assert await bot.ledger.problems() == []


async def test_cancel_while_waiting_for_a_slot_costs_nothing_and_the_provider_never_hears(
    make_settings, telegram, picwish
):
    from bot.main.app import running

    gate = picwish.hold["create"] = asyncio.Event()
    async with running(make_settings(jobs__max_concurrent=1)) as services:
        first, second = telegram.user(6001), telegram.user(6002)
        first_summary = await order_until_summary(first, "Visa", "USA Visa", "White")
        await first.press(first_summary, "Confirm")
        await asyncio.wait_for(picwish.held.setdefault("create", asyncio.Event()).wait(), 10)
        summary = await order_until_summary(second, "Visa", "USA Visa", "White")
        await second.press(summary, "Confirm")
        await second.edited(summary, "Your order is in")
        assert [b["text"] for b in summary.buttons()] == ["✖ Cancel"]
        await second.press(summary, "Cancel")
        await second.edited(summary, "Cancelled. Your 6 credits were returned.")
        gate.set()
        await first.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert len(picwish.creates) == 1
        assert await services.ledger.balance(second.id) == 30
        assert await services.ledger.problems() == []


async def test_cancel_pressed_right_after_confirm_does_not_say_a_placed_order_was_cancelled(bot, telegram, picwish):
    """Confirm, then Cancel on the same summary before the bot's edit reached the chat (the
    request that edits it is held): the order is placed and paid for, and Cancel says so. Before,
    Cancel wrote "Order cancelled. Nothing was charged." over the queued status (its edit came
    second) while the photo was made and its credits spent."""
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    gate = telegram.hold["editMessageText"] = asyncio.Event()
    await user.press(summary, "Confirm")
    await asyncio.wait_for(telegram.held.setdefault("editMessageText", asyncio.Event()).wait(), 10)
    cancel = await user.press(summary, "Cancel")
    del telegram.hold["editMessageText"]
    gate.set()
    assert await user.answer_to(cancel) == "This order is already confirmed: it is on its way."
    await user.next_message(kind="document", timeout=15)
    await bot.runner.idle()
    edits = [params["text"] for method, params in telegram.calls if method == "editMessageText"]
    assert not [text for text in edits if "cancelled" in text] and "Done" in summary.text
    assert await bot.ledger.balance(user.id) == 24
    assert await bot.ledger.problems() == []


async def test_the_workers_hear_of_a_confirmed_order_once_its_summary_says_queued(make_settings, telegram, picwish):
    """Confirm showed "queued" on the summary after the workers had heard of the job: a job done
    before that edit went through (a bought photo's stored file, a slow network to Telegram) had
    its "Done!" turned back to "queued" for good (found by a review). Here the press's answer,
    which comes before that edit, is held at Telegram: PicWish gets no task meanwhile (before, it
    had it at once), and the summary ends "Done!". The workers' own look for jobs is put off past
    the test (a long lease), so only the announcement can start the job."""
    async with running(make_settings(jobs__lease_seconds=600)) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        gate = telegram.hold["answerCallbackQuery"] = asyncio.Event()
        await user.press(summary, "Confirm")
        await asyncio.wait_for(telegram.held.setdefault("answerCallbackQuery", asyncio.Event()).wait(), 10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(picwish.task_created.wait(), 2)
        assert not picwish.task_created.is_set()
        del telegram.hold["answerCallbackQuery"]
        gate.set()
        await user.next_message(kind="document", timeout=15)
        await services.runner.idle()
        assert "Done!" in summary.text


async def test_provider_failure_releases_credits_and_offers_retry(bot, telegram, picwish):
    picwish.next_states = [[(0, 0), (4, 30), (-7, 0)]]
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not read this image")
    assert "Your 6 credits were returned." in summary.text
    assert await bot.ledger.balance(user.id) == 30
    await user.press(summary, "Try again")
    again = await user.next_message("Please check your order")
    await user.press(again, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert len(picwish.creates) == 2
    assert await bot.ledger.balance(user.id) == 24


async def test_provider_rejecting_the_key_is_reported(bot, telegram, picwish):
    picwish.create_failures = [(401, {"status": 401, "message": "Invalid API key"})]
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, "refused this bot's credentials")
    assert await bot.ledger.balance(user.id) == 30


@pytest.mark.parametrize(
    ("payload", "filename", "mime", "answer"),
    [
        (b"hello, this is text", "notes.txt", "text/plain", "does not look like a picture"),
        (portrait_jpeg()[:2000], "cut.jpg", "image/jpeg", "damaged or incomplete"),
        (b"", "empty.jpg", "image/jpeg", "That file is empty"),
    ],
)
async def test_bad_input_gets_a_clear_answer_and_costs_nothing(bot, telegram, picwish, payload, filename, mime, answer):
    user = telegram.user()
    await user.send_document(payload, filename, mime)
    await user.next_message(answer)
    assert picwish.creates == []
    assert await bot.ledger.balance(user.id) == 30


async def test_image_document_is_accepted(bot, telegram):
    user = telegram.user()
    await user.send_document(portrait_jpeg(1200, 1600), "me.jpg", "image/jpeg")
    menu = await user.next_message("Got your photo (1200×1600)")
    assert "sending the photo as a file" not in menu.text


async def test_another_colour_and_print_sheet_rerender_through_last_id(make_settings, telegram, picwish):
    from bot.main.app import running

    async with running(make_settings(credits__daily_free=40)) as bot:
        await _rerender_flow(bot, telegram, picwish)


async def _rerender_flow(bot, telegram, picwish):
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "Vietnam Visa", "White")
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    first_image_id = picwish.tasks[next(iter(picwish.tasks))].image_id

    await user.press(document, "Another background colour")
    colours = await user.next_message("background colour")
    await user.press(colours, "Red")
    summary2 = await user.edited(colours, "Please check your order")
    await user.press(summary2, "Confirm")
    second = await user.next_message(kind="document", timeout=15)
    created = picwish.creates[-1]
    assert created["last_id"] == first_image_id and created["bg_color"] == "FF0000"
    assert pixel_size(second.data) == (413, 531)
    assert _close(corner_rgb(second.data), "FF0000")

    await user.press(second, "Print sheet")
    papers = await user.next_message("Print sheet on which paper")
    assert "➕" not in papers.text  # both photos are Vietnam Visa: no other spec to put beside it
    await user.press(papers, "6-inch: all 8")
    sheet = await user.next_message(kind="document", timeout=15)
    assert pixel_size(sheet.data) == (1800, 1200) and dpi(sheet.data) == (300, 300)
    assert sheet.filename == "idphoto_vietnam-visa_sheet-6inch_x8.jpg" and "1 cm scale bar" in sheet.text
    pdf = await user.next_message(kind="document", timeout=15)
    assert pdf.filename == "idphoto_vietnam-visa_sheet-6inch_x8.pdf"
    (page,) = re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf.data)
    assert tuple(float(v) for v in page) == pytest.approx((432, 288))  # 6 x 4 inches in points
    assert len(picwish.creates) == 2  # the sheet is made locally, for free
    assert [task.image is not None for task in picwish.tasks.values()] == [True, False]  # no new upload
    assert await bot.ledger.balance(user.id) == 40 - 6 - 6


async def test_callback_wakes_the_job_before_the_next_poll(make_settings, telegram, picwish):
    from bot.main.app import running

    async with running(make_settings(providers__picwish__poll_interval=60)) as services:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=10)
        assert picwish.callback_results == [200]
        assert picwish.creates[-1]["callback_url"].startswith(
            services.settings.server.public_url + "/callbacks/picwish/"
        )


async def test_chinese_user_and_language_switch(bot, telegram):
    user = telegram.user(user_id=6001, language_code="zh-hans")
    await user.send_text("/start")
    await user.next_message("发一张照片开始吧")
    await user.send_text("/language")
    choice = await user.next_message("请选择语言")
    await user.press(choice, "English")
    await user.edited(choice, "Language set to English.")
    await user.send_text("/balance")
    await user.next_message("You have 30 credits")


async def test_a_forged_language_button_changes_nothing(bot, telegram):
    user = telegram.user(user_id=6002, language_code="zh-hans")
    await user.send_text("/language")
    choice = await user.next_message("请选择语言")
    english = choice.button("English")["callback_data"]
    query = await user.press_data(choice, english.rsplit(":", 1)[0] + ":xx")
    await user.answer_to(query)  # the spinner stops; nothing else happens
    assert await bot.users.language(6002) == "zh-Hans"
    await user.send_text("/balance")
    await user.next_message("30 积分")


async def test_commands_help_balance_cancel(bot, telegram):
    assert [c["command"] for c in telegram.commands[""]] == [
        "start",
        "help",
        "balance",
        "orders",
        "cancel",
        "language",
        "privacy",
        "forget",
        "invite",
    ]
    assert telegram.commands["zh"][0]["description"] == "开始并查看功能"
    user = telegram.user()
    await user.send_text("/help")
    await user.next_message("Every day (UTC) your free credits are topped up to 30.")
    await user.send_text("/cancel")
    await user.next_message("There is nothing to stop")
    await send_photo_and_pick_idphoto(user)
    await user.send_text("/cancel")
    await user.next_message("Stopped.")
    await user.send_text("hello")
    await user.next_message("Send me a photo first")


async def test_admin_grant(bot, telegram):
    stranger = telegram.user(user_id=5555)
    await stranger.send_text("/grant 5555 100")
    await stranger.next_message("for the bot's administrators")
    admin = telegram.user(user_id=9001)
    for bad in (
        "/grant 5555 ١٠٠",
        "/grant 5555 0",
        "/grant 5555 1000001",
        "/grant 5555 " + "9" * 40,
        "/grant -5 10",
        "/grant 5555 +5",
        "/grant 5555",
        "/grant 5555 10 10",
    ):
        await admin.send_text(bad)
        await admin.next_message("credits a whole number from 1 to 1000000")
    await admin.send_text("/grant 5555 100")
    await admin.next_message("Granted 100 credits to 5555")
    assert await bot.ledger.balance(5555) == 130
    assert len(await bot.db.fetchall("SELECT id FROM ledger WHERE kind = 'admin_grant'")) == 1


async def test_webhook_mode(make_settings, telegram, picwish):
    import httpx

    from bot.main.app import running

    secret = "hook-secret-of-at-least-32-characters"
    async with running(make_settings(telegram__mode="webhook", telegram__webhook_secret=secret)) as services:
        # The path's secret is not the header's: a URL that leaks into an access log gives nothing away.
        path_secret = services.settings.webhook_path_secret()
        assert path_secret != secret and len(path_secret) == 40
        assert telegram.webhook == {
            "url": services.settings.server.public_url + f"/telegram/{path_secret}",
            "secret_token": secret,
        }
        assert {secret, path_secret} <= set(services.settings.secrets())
        assert not any(method == "getUpdates" for method, _ in telegram.calls)
        user = telegram.user()
        await user.send_text("/start")
        await user.next_message("Send me a photo to begin")
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                telegram.webhook["url"], json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
        assert forged.status_code == 404


async def test_an_odd_status_answer_to_a_query_is_asked_again(bot, telegram, picwish):
    picwish.query_failures = [(200, {"status": 400, "message": "task exception"})]
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert await bot.ledger.balance(user.id) == 24


async def test_odd_status_answers_in_a_row_end_the_job_and_refund_it(bot, telegram, picwish):
    picwish.query_failures = [(200, {"status": 400, "message": "task exception"})] * 3
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not understand", timeout=15)
    assert "Your 6 credits were returned." in summary.text and await bot.ledger.balance(user.id) == 30


async def _preview(user, picwish):
    summary = await order_until_summary(user, "Visa", "India Visa", "White", options=("Free preview",))
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    (image_id,) = [task.image_id for task in picwish.tasks.values()]
    return document, image_id


async def test_a_preview_is_made_final_from_its_image_id_at_the_normal_price(bot, telegram, picwish):
    user = telegram.user()
    document, image_id = await _preview(user, picwish)
    assert await bot.ledger.balance(user.id) == 30
    await user.press(document, "No watermark · 6 credits")
    summary = await user.next_message("Please check your order")
    assert "Price: 6 credits" in summary.text and "Preview with watermark: off" in summary.text
    await user.press(summary, "Confirm")
    final = await user.next_message(kind="document", timeout=15)
    create = picwish.creates[-1]
    assert create["last_id"] == image_id and "preview" not in create
    assert picwish.tasks[[t for t in picwish.tasks][-1]].image is None  # no new upload
    assert "No watermark" not in str(final.buttons())
    assert await bot.ledger.balance(user.id) == 24


async def test_a_preview_picwish_forgot_fails_free_and_try_again_makes_it_from_the_photo(bot, telegram, picwish):
    user = telegram.user()
    document, _ = await _preview(user, picwish)
    picwish.forget_images()
    await user.press(document, "No watermark")
    summary = await user.next_message("Please check your order")
    await user.press(summary, "Confirm")
    await user.edited(summary, "no longer keeps this preview", timeout=15)
    assert await bot.ledger.balance(user.id) == 30
    await user.press(summary, "Try again")
    again = await user.next_message("Please check your order")
    assert "Price: 6 credits" in again.text
    await user.press(again, "Confirm")
    await user.next_message(kind="document", timeout=15)
    create = picwish.creates[-1]
    assert "last_id" not in create and "preview" not in create
    assert picwish.tasks[[t for t in picwish.tasks][-1]].image is not None  # made from the stored photo
    assert await bot.ledger.balance(user.id) == 24


async def test_a_final_that_failed_for_another_reason_is_tried_again_from_the_photo(bot, telegram, picwish):
    """The re-render through the preview's image id failed at PicWish (not for a forgotten id),
    and by the time the user taps Try again the id is dead too (an hour, by the fake's clock):
    Try again uploads the kept photo instead of asking with the dead id again."""
    from tests.fakes.clock import ManualClock

    picwish.clock = clock = ManualClock()
    user = telegram.user()
    document, image_id = await _preview(user, picwish)
    picwish.next_states = [[(0, 0), (-1, 0)]]
    await user.press(document, "No watermark")
    summary = await user.next_message("Please check your order")
    await user.press(summary, "Confirm")
    await user.edited(summary, "could not be processed", timeout=15)
    assert picwish.creates[-1]["last_id"] == image_id and await bot.ledger.balance(user.id) == 30
    clock.advance(3601)
    await user.press(summary, "Try again")
    again = await user.next_message("Please check your order")
    assert "Price: 6 credits" in again.text
    await user.press(again, "Confirm")
    await user.next_message(kind="document", timeout=15)
    create = picwish.creates[-1]
    assert "last_id" not in create and "preview" not in create
    assert picwish.tasks[[t for t in picwish.tasks][-1]].image is not None  # made from the stored photo
    assert await bot.ledger.balance(user.id) == 24


async def test_a_photo_picwish_returns_inline_as_base64_is_delivered(bot, telegram, picwish):
    picwish.base64_results = True
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    document = await user.next_message(kind="document", timeout=15)
    assert pixel_size(document.data) == (602, 602)
    await user.edited(summary, "Done! 6 credits used.")


async def test_a_gradient_where_the_spec_lets_the_colour_be_chosen_and_its_price(make_settings, telegram, picwish):
    async with running(make_settings(providers__picwish__prices__gradient=2)) as bot:
        user = telegram.user()
        summary = await order_until_summary(user, "Visa", "Vietnam Visa", "Blue", options=("Gradient",))
        assert "fading to" in summary.text and "Price: 8 credits" in summary.text  # 6 + 2
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        assert picwish.creates[-1]["bg_color"] == "438EDB" and picwish.creates[-1]["bg_color2"]
        assert await bot.ledger.balance(user.id) == 22
        menu = await send_photo_and_pick_idphoto(user)
        await user.press(menu, "Visa")
        await user.edited(menu, "Choose a spec")
        while not any("· USA Visa" in b["text"] for b in menu.buttons()):
            edits = menu.edits
            await user.press(menu, "▶")
            await user.api.wait_for(lambda edits=edits: menu.edits > edits)
        await user.press(menu, "· USA Visa")  # one plain colour: no gradient
        await user.edited(menu, "background colour")
        await user.press(menu, "White")
        await user.edited(menu, "Options")
        labels = [b["text"] for b in menu.buttons()]
        assert any("Beauty" in label for label in labels) and not any("Gradient" in label for label in labels)


async def test_beauty_refinements_are_offered_with_beauty_sent_with_gentle_strengths_and_priced(
    make_settings, telegram, picwish
):
    settings = make_settings(providers__picwish__prices__sharpen=1, providers__picwish__prices__thin_face=2)
    async with running(settings) as bot:
        user = telegram.user()
        options = ("Beauty", "Sharpen", "Slim face")
        summary = await order_until_summary(user, "Visa", "India Visa", "White", options=options)
        assert "Beauty: on (sharpen, slim face)" in summary.text and "Price: 17 credits" in summary.text
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        create = picwish.creates[-1]
        assert (create["auto_sharp"], create["sharp_factor"]) == ("1", "0.3")
        assert (create["auto_thin_face"], create["thin_face_factor"]) == ("1", "0.2")
        assert await bot.ledger.balance(user.id) == 30 - 17
        # Without beauty its refinements are neither offered nor kept.
        plain = await order_until_summary(user, "Visa", "India Visa", "White", options=("Beauty", "Sharpen", "Beauty"))
        assert "Beauty: off" in plain.text and "Price: 6 credits" in plain.text


async def test_print_sheet_refinements_a_column_on_white_paper_are_sent_priced_and_made(
    make_settings, telegram, picwish
):
    settings = make_settings(providers__picwish__prices__sheet_vertical=1, providers__picwish__prices__sheet_white=1)
    async with running(settings) as bot:
        user = telegram.user()
        options = ("Print sheet", "Photos in a column", "White paper")
        summary = await order_until_summary(user, "Visa", "India Visa", "White", options=options)
        assert "(in a column, white paper)" in summary.text and "Price: 13 credits" in summary.text  # 6 + 5 + 1 + 1
        await user.press(summary, "Confirm")
        document = await user.next_message(kind="document", timeout=15)
        create = picwish.creates[-1]
        assert (create["layout_vertical"], create["layout_bg_color"]) == ("1", "FFFFFF")
        width, height = pixel_size(document.data)
        assert height > width and corner_rgb(document.data) == (255, 255, 255)  # a column, on white
        assert await bot.ledger.balance(user.id) == 30 - 13
        plain = await order_until_summary(user, "Visa", "India Visa", "White", options=("Print sheet",))
        await user.press(plain, "Confirm")
        sheet = await user.next_message(kind="document", timeout=15)
        width, height = pixel_size(sheet.data)
        assert width > height and corner_rgb(sheet.data) != (255, 255, 255)  # PicWish's grey


async def test_a_custom_size_typed_in_mm_is_checked_sent_by_its_millimetres_priced_and_made(
    make_settings, telegram, picwish
):
    async with running(make_settings(providers__picwish__prices__custom_size=2)) as bot:
        user = telegram.user()
        question = await ask_custom_size(user)
        assert "Each side 10–179 mm, the width 0.6 to 1.5 times the height" in question.text
        await user.send_text("forty by sixty")
        await user.next_message("“forty by sixty” is not a size")
        await user.send_text("180x60")  # PicWish: "<180mm"
        await user.next_message("each side must be 10–179 mm")
        await user.send_text("20x45")
        await user.next_message("too narrow or too wide for a head")
        await user.send_text("33 × 48 mm")
        menu = await user.next_message("background colour")
        assert "Custom Size\n33×48 mm · 390×567 px · 300 dpi" in menu.text
        assert [b["text"] for b in menu.buttons()] == ["⬜ White", "🟦 Blue", "🟥 Red", "🎨 Custom…", "« Back"]
        summary = await choose_options(user, menu, "Blue")
        assert "33×48 mm · 390×567 px · 300 dpi" in summary.text and "Price: 8 credits" in summary.text  # 6 + 2
        await user.press(summary, "Confirm")
        document = await user.next_message(kind="document", timeout=15)
        create = picwish.creates[-1]
        assert (create["mm_width"], create["mm_height"], create["dpi"]) == ("33", "48", "300")
        assert "spec_id" not in create and "px_width" not in create  # PicWish knows no spec 9001
        assert document.filename == "idphoto_custom-size-33x48mm_390x567_300dpi.jpg"
        assert pixel_size(document.data) == (390, 567) and dpi(document.data) == (300, 300)
        assert await bot.ledger.balance(user.id) == 30 - 8

        # Another background keeps the size: the same millimetres, re-rendered from the image id.
        await user.press(document, "Another background colour")
        colours = await user.next_message("background colour")
        assert "33×48 mm" in colours.text
        await user.press(colours, "White")
        again = await user.edited(colours, "Please check your order")
        await user.press(again, "Confirm")
        recoloured = await user.next_message(kind="document", timeout=15)
        assert picwish.creates[-1]["mm_width"] == "33" and "last_id" in picwish.creates[-1]
        assert pixel_size(recoloured.data) == (390, 567)


async def test_a_large_custom_size_gets_a_lower_dpi_and_a_small_head_is_told_to_type_a_smaller_one(
    bot, telegram, picwish
):
    user = telegram.user()
    menu = await send_photo_and_pick_idphoto(user)
    await user.send_text("custom")  # found by search too
    found = await user.next_message("Results for")
    await user.press(found, "✏️ Custom size")
    await user.edited(found, "type the width and height")
    # 170 mm at 300 dpi would be 2008 px, and PicWish makes sides under 1800 px: 268 dpi.
    await user.send_text("150x170")
    refused = await user.next_message("type a smaller size")
    assert "1583×1794 px" in refused.text  # the head would have to be enlarged more than twice
    await user.send_text("30x40")
    colours = await user.next_message("background colour")
    assert "30×40 mm · 354×472 px · 300 dpi" in colours.text
    assert menu.text.startswith("Choose a category")
    assert picwish.creates == [] and await bot.ledger.balance(user.id) == 30


async def test_a_chinese_user_finds_and_orders_a_spec_in_chinese(bot, telegram, picwish):
    user = telegram.user(user_id=6003, language_code="zh-hans")
    await user.send_photo(portrait_jpeg())
    menu = await user.next_message("想做什么")
    await user.press(menu, "证件照")
    await user.edited(menu, "请选择类别")
    assert [b["text"] for b in menu.buttons()][:3] == ["常用尺寸", "政务证件", "签证与护照"]
    await user.send_text("美国签证照片")
    found = await user.next_message("的搜索结果")
    assert found.buttons()[0]["text"] == "51×51 毫米 · 美国签证"
    await user.press(found, "美国签证")
    await user.edited(found, "请选择底色")
    assert "美国签证\n51×51 毫米 · 602×602 像素" in found.text
    await user.press(found, "白色")
    await user.edited(found, "选项")
    await user.press(found, "继续")
    summary = await user.edited(found, "请确认订单")
    assert "美国签证" in summary.text and "USA" not in summary.text
    await user.press(summary, "确认")
    photo = await user.next_message(kind="photo", timeout=15)
    document = await user.next_message(kind="document")
    assert photo.text.startswith("美国签证 · 602×602 像素")
    assert document.filename == "idphoto_usa-visa_602x602_300dpi.jpg"  # file names stay ASCII


async def test_a_summary_confirmed_after_a_price_change_shows_the_new_price_first(make_settings, telegram, picwish):
    """The operator raises the price between the summary and its Confirm (a restart): Confirm
    charges nothing and shows the summary again with the new price; its Confirm charges that
    (before, the new price was taken in one tap)."""
    user = telegram.user(user_id=2801)
    async with running(make_settings()):
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        assert "Price: 6 credits (you have 30)." in summary.text
    async with running(make_settings(providers__picwish__prices__base=9)) as bot:
        await user.press(summary, "Confirm")
        summary = await user.edited(summary, "Price: 9 credits (you have 30).")
        assert picwish.creates == [] and await bot.ledger.balance(2801) == 30
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        await bot.runner.idle()
        assert await bot.ledger.balance(2801) == 21 and len(picwish.creates) == 1
        assert await bot.ledger.problems() == []


async def test_back_under_another_colour_of_a_photo_from_no_list_shows_the_categories(make_settings, telegram, picwish):
    """ "Another background colour" under a finished photo whose session has gone (swept as quiet,
    here deleted across a restart): its "Back" leads to the categories. Before, it showed an empty
    search: 'Results for “”: Choose a spec (0 found)'."""
    import sqlite3

    settings = make_settings()
    user = telegram.user()
    async with running(settings):
        document = await order_finished(user, "Visa", "USA Visa", "White")
    with sqlite3.connect(settings.database.path) as db:
        db.execute("DELETE FROM sessions")
    async with running(settings):
        await user.press(document, "Another background colour")
        colours = await user.next_message("background colour")
        await user.press(colours, "« Back")
        shown = await user.edited(colours, "Choose a category")
        assert "0 found" not in shown.text
