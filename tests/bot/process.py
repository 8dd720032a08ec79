"""The bot as a real subprocess (``python -m bot run``), to be killed hard and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.db import Database
from bot.storage.repositories import Repositories

#: The users of the crash tests (tests/bot/test_webhook_crash.py, test_update_inbox.py), each with one update.
USERS = 40
#: Answers Telegram takes before the kill; the other users' answers are held there when it lands.
ANSWERED = 10


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """SQLite commits in another process give no event to wait on: poll, bounded."""
    for _ in range(1500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


class BotProcess:
    def __init__(self, config_path: Path, log_path: Path, role: str = "all") -> None:
        self.config_path = config_path
        self.log_path = log_path
        #: ``photobot run --role``: a worker takes no updates, so it is ready once it says so.
        self.role = role
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, telegram) -> None:
        def started() -> int:
            """Long polls, and webhooks set (in webhook mode the bot sets its webhook as it starts)."""
            return sum(1 for method, _ in telegram.calls if method in ("getUpdates", "setWebhook"))

        polls = started()
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "PHOTOBOT_CONFIG")}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--role",
            self.role,
            "--config",
            str(self.config_path),
            stdout=log,
            stderr=log,
            env=env,
        )
        log.close()
        if self.role == "worker":  # it says so once it has claimed its jobs
            await telegram.wait_for(lambda: "photobot is running (worker)" in self.log_path.read_text(), timeout=30)
        else:  # ready when it has started long polling, or set its webhook
            await telegram.wait_for(lambda: started() > polls, timeout=30)

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
async def open_repos() -> AsyncIterator[object]:
    """Opens the bot's database from the test, closing it whatever the outcome."""
    opened: list[Database] = []

    async def open_(settings: Settings) -> Repositories:
        db = await Database.open(settings.database.path)
        opened.append(db)
        return Repositories.on(db, daily_free=settings.credits.daily_free)

    yield open_
    for db in opened:
        await db.close()
