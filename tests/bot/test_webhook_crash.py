"""Webhook updates survive a SIGKILL between being taken from the inbox and being handled (issue
24): the bot (a real ``photobot run`` process, webhook mode) has acknowledged every update, so
Telegram will not send them again; the restarted bot must handle each one it had not finished,
and none it had.

The kill lands where it hurts and nowhere else: Telegram serves the first answers, then holds
every later one, and the test waits until each unanswered update's answer is held there (its
update taken, its handler running) and each answered one is marked handled. What no design can
close is a crash between an answer reaching Telegram and the mark (the Bot API has no
idempotency key); the test keeps its kill out of that moment, as tests/bot/test_crash.py does.
"""

from __future__ import annotations

import asyncio

import yaml

from tests.bot.process import ANSWERED, USERS, BotProcess, until


async def test_webhook_updates_taken_when_the_bot_is_killed_are_each_answered_once(
    tmp_path, make_settings, telegram, open_repos
):
    settings = make_settings(telegram__mode="webhook")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    process = BotProcess(config, tmp_path / "bot.log")
    users = [telegram.user(user_id=8500 + n) for n in range(USERS)]

    async def count(where: str) -> int:
        row = await repos.db.fetchone(f"SELECT COUNT(*) AS n FROM updates WHERE {where}")
        return int(row["n"])

    async def handled(n: int) -> bool:
        return await count("handled_at IS NOT NULL") == n

    await process.start(telegram)
    repos = await open_repos(settings)
    try:
        telegram.pause_after("sendMessage", ANSWERED)
        # Every user at once; each update is acknowledged (200) only once the bot stored it.
        await asyncio.gather(*(user.send_text("/balance") for user in users))
        assert telegram.webhook_results == [200] * USERS
        await telegram.wait_for(lambda: len(telegram.paused_requests) == USERS - ANSWERED, timeout=60)
        assert {method for method, _ in telegram.paused_requests} == {"sendMessage"}
        await until(lambda: handled(ANSWERED), f"{ANSWERED} updates marked handled")
        await process.kill()
        telegram.resume(abandoned=True)  # the held answers never reached Telegram
        assert sum(1 for user in users if telegram.sent_to(user.id)) == ANSWERED
        assert await count("taken_at IS NOT NULL AND handled_at IS NULL") == USERS - ANSWERED

        await process.start(telegram)
        await telegram.wait_for(lambda: all(telegram.sent_to(user.id) for user in users), timeout=60)
        await until(lambda: handled(USERS), "every update marked handled")

        # Telegram sends a handled update again (it did not see the answer): it is not handled again.
        first = min(telegram.pushed)
        await telegram.resend_update(first)
        assert telegram.webhook_results[-1] == 200
        assert await count("handled_at IS NULL") == 0
    finally:
        await process.stop()
    for user in users:
        (answer,) = telegram.sent_to(user.id)
        assert answer.text.startswith("You have 30 credits.")
