"""The bot process is killed hard (SIGKILL) in the middle of a job and started again.

The fakes live in the test process; the bot runs as ``python -m bot run --config ...``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import yaml

from bot.config import Settings
from bot.services import registry
from tests.bot.flows import add_size, order_until_summary, pixel_size
from tests.bot.process import BotProcess


@pytest.fixture
async def bot_process(tmp_path, make_settings, telegram) -> AsyncIterator[tuple[BotProcess, Settings]]:
    settings: Settings = make_settings(log_level="DEBUG")  # the most talkative level, for the secrets check
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    process = BotProcess(config, tmp_path / "bot.log")
    await process.start(telegram)
    yield process, settings
    await process.stop()


async def test_killed_while_the_provider_works_resumes_without_resubmitting(bot_process, telegram, picwish, open_repos):
    process, settings = bot_process
    picwish.hold_new_tasks = True
    assert "picwish" in registry.enabled(settings).values()
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await picwish.task_created.wait()
    await telegram.wait_for(lambda: picwish.queries > 0)  # the task id is stored: the bot polls it

    await process.kill()
    picwish.release()
    await process.start(telegram)

    document = await user.next_message(kind="document", timeout=20)
    assert pixel_size(document.data) == (602, 602)
    await user.edited(summary, "Done! 6 credits used.")
    await process.stop()
    assert len(picwish.creates) == 1
    assert len(user.messages("document")) == 1 and len(user.messages("photo")) == 1
    repos = await open_repos(settings)
    assert await repos.ledger.problems() == []
    assert await repos.ledger.balance(user.id) == 24
    assert await repos.jobs.unfinished() == []
    log = process.log_path.read_text()
    assert "photobot is running" in log
    assert settings.telegram.token not in log and settings.providers.picwish.api_key not in log


async def test_killed_during_delivery_sends_each_part_once(bot_process, telegram, picwish, open_repos):
    process, settings = bot_process
    telegram.hold["sendDocument"] = asyncio.Event()
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await telegram.wait_for(lambda: "sendDocument" in telegram.held, timeout=20)
    assert len(user.messages("photo")) == 1

    await process.kill()
    gate = telegram.hold.pop("sendDocument")
    gate.abandoned = True  # the killed client's request never reached Telegram
    gate.set()
    await process.start(telegram)

    await user.next_message(kind="document", timeout=20)
    await user.edited(summary, "Done! 6 credits used.")
    await process.stop()
    assert len(user.messages("photo")) == 1
    assert len(user.messages("document")) == 1
    assert len(picwish.creates) == 1
    repos = await open_repos(settings)
    assert await repos.ledger.problems() == []
    assert await repos.jobs.unfinished() == []


async def test_killed_while_the_sizes_of_one_order_are_made_each_is_delivered_once(
    bot_process, telegram, picwish, open_repos
):
    """Two sizes from one photo, one Confirm: both tasks are with PicWish when the bot dies; after
    the restart each is followed to its end, not sent again, and delivered once."""
    process, settings = bot_process
    picwish.hold_new_tasks = True
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    summary = await add_size(user, summary, "1104", "Small 2 Inch", "Blue")
    await user.press(summary, "Confirm")
    await telegram.wait_for(lambda: len(picwish.creates) == 2 and picwish.queries > 0, timeout=20)

    await process.kill()
    picwish.release()
    await process.start(telegram)

    await telegram.wait_for(lambda: len(user.messages("document")) == 2, timeout=30)
    await user.edited(summary, "USA Visa · 51×51 mm, ⬜ White: ✅ Done! 6 credits used.")
    await user.next_message("Small 2 Inch · 35×45 mm, 🟦 Blue: ✅ Done! 3 credits used.", timeout=20)
    await process.stop()
    assert len(picwish.creates) == 2
    assert len(user.messages("photo")) == 2
    assert sorted(document.filename for document in user.messages("document")) == [
        "idphoto_small-2-inch_413x531_300dpi.jpg",
        "idphoto_usa-visa_602x602_300dpi.jpg",
    ]
    repos = await open_repos(settings)
    assert await repos.ledger.problems() == []
    assert await repos.ledger.balance(user.id) == 21
    assert await repos.jobs.unfinished() == []
