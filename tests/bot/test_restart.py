"""The bot process is killed hard (SIGKILL) in the middle of a job and started again.

The fakes live in the test process; the bot runs as ``python -m bot run --config ...``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.storage.db import Database
from bot.storage.repo import Repository
from tests.bot.flows import order_until_summary, pixel_size


class BotProcess:
    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, telegram) -> None:
        polls = sum(1 for method, _ in telegram.calls if method == "getUpdates")
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "PHOTOBOT_CONFIG")}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(self.config_path),
            stdout=log, stderr=log, env=env,
        )
        log.close()
        # Ready when it has started long polling.
        await telegram.wait_for(lambda: sum(1 for m, _ in telegram.calls if m == "getUpdates") > polls, timeout=30)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def bot_process(tmp_path, make_settings, telegram) -> AsyncIterator[tuple[BotProcess, Settings]]:
    settings: Settings = make_settings(log_level="DEBUG")  # the most talkative level, for the secrets check
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    process = BotProcess(config, tmp_path / "bot.log")
    await process.start(telegram)
    yield process, settings
    await process.stop()


@pytest.fixture
async def open_repo() -> AsyncIterator[callable]:
    """Opens the bot's database from the test, closing it whatever the outcome."""
    opened: list[Database] = []

    async def open_(settings: Settings) -> Repository:
        db = await Database.open(settings.database.path)
        opened.append(db)
        return Repository(db, settings.credits.daily_free)

    yield open_
    for db in opened:
        await db.close()


async def test_killed_while_the_provider_works_resumes_without_resubmitting(bot_process, telegram, picwish, open_repo):
    process, settings = bot_process
    picwish.hold_new_tasks = True
    assert "picwish" in settings.enabled_services().values()
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
    repo = await open_repo(settings)
    assert await repo.ledger_problems() == []
    assert await repo.balance(user.id) == 24
    assert await repo.open_jobs() == []
    log = process.log_path.read_text()
    assert "photobot is running" in log
    assert settings.telegram.token not in log and settings.providers.picwish.api_key not in log


async def test_killed_during_delivery_sends_each_part_once(bot_process, telegram, picwish, open_repo):
    process, settings = bot_process
    telegram.hold["sendDocument"] = asyncio.Event()
    user = telegram.user()
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await telegram.wait_for(lambda: "sendDocument" in telegram.held, timeout=20)
    assert len(user.messages("photo")) == 1

    await process.kill()
    telegram.hold.pop("sendDocument").set()
    await process.start(telegram)

    await user.next_message(kind="document", timeout=20)
    await user.edited(summary, "Done! 6 credits used.")
    await process.stop()
    assert len(user.messages("photo")) == 1
    assert len(user.messages("document")) == 1
    assert len(picwish.creates) == 1
    repo = await open_repo(settings)
    assert await repo.ledger_problems() == []
    assert await repo.open_jobs() == []
