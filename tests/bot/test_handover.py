"""End-to-end: a bot process that stops gracefully in webhook mode (a deploy) while it handles an
update: the standby takes over Telegram's updates only once that update's handlers have finished,
so it is answered once, not again by the standby (which takes again what was taken and not
finished: a predecessor that died). Two bot processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

from bot.main.app import running
from tests.conftest import postgres_schema
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram

#: Seconds the standby is given to take over while the first process is busy with an update (it
#: takes over at once when the first lets go).
TAKEOVER = 2.0


def _webhooks_set(telegram: FakeTelegram) -> int:
    return sum(1 for method, _ in telegram.calls if method == "setWebhook")


async def test_a_bot_stopping_mid_update_finishes_it_before_the_standby_takes_over(make_settings, telegram):
    port = free_port()
    common = {
        "database__url": await postgres_schema(),
        "telegram__mode": "webhook",
        "telegram__webhook_secret": "hook-secret-of-at-least-32-characters",
        "server__public_url": f"http://127.0.0.1:{port}",  # Telegram posts to the standby
    }
    user = telegram.user(user_id=3400)
    first = running(make_settings(server__port=free_port(), **common), role="bot")
    await first.__aenter__()
    stopped = False
    try:
        async with running(make_settings(server__port=port, **common), role="bot"):
            telegram.hold["sendMessage"] = gate = asyncio.Event()
            await user.send_text("/balance")
            await asyncio.wait_for(telegram.held.setdefault("sendMessage", asyncio.Event()).wait(), 15)
            stopping = asyncio.create_task(first.__aexit__(None, None, None))
            stopped = True
            # The standby sets the webhook again as it takes over: not while the first process
            # still answers an update (before, it did at once, and answered that update again).
            with contextlib.suppress(TimeoutError):
                await telegram.wait_for(lambda: _webhooks_set(telegram) == 2, timeout=TAKEOVER)
            assert _webhooks_set(telegram) == 1
            gate.set()  # the first process's answer goes through; then it stops
            await stopping
            del telegram.hold["sendMessage"]
            await user.send_text("/balance")  # handled by the standby, which took over
            await user.next_message("You have")
            await user.next_message("You have")
        # The standby has stopped too: every update it took was handled.
        assert sum(1 for message in user.messages() if message.text.startswith("You have")) == 2
    finally:
        if not stopped:
            await first.__aexit__(None, None, None)
