"""End-to-end: a bot process that stops gracefully in webhook mode (a deploy) while it handles an
update: the standby takes over Telegram's updates only once that update's handlers have finished,
so it is answered once, not again by the standby (which takes again what was taken and not
finished: a predecessor that died). And one that loses the right to handle updates (its lock's
database connection broke) while it handles one: it drops that update at once, and the standby
that takes over answers it, once. Two bot processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from bot.main.app import UPDATES, running
from tests.conftest import postgres_schema
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram

#: Seconds the standby is given to take over while the first process is busy with an update (it
#: takes over at once when the first lets go).
TAKEOVER = 2.0


def _webhooks_set(telegram: FakeTelegram) -> int:
    return sum(1 for method, _ in telegram.calls if method == "setWebhook")


def _answers_held(telegram: FakeTelegram) -> int:
    return sum(1 for method, _ in telegram.held_requests if method == "sendMessage")


async def _end_holders_connection(url: str, right: str) -> None:
    """End, from the server, the connection that holds ``right`` (bot/storage/postgres.py's
    AdvisoryLock): as an operator's pg_terminate_backend, a server restart or a connection pooler
    does. The server lets the lock go at once."""
    conn = await asyncpg.connect(url)
    try:
        ended = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = hashtext(current_schema() || ':' || $1)",
            right,
        )
    finally:
        await conn.close()
    assert [row[0] for row in ended] == [True]


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


async def test_a_bot_that_loses_the_right_mid_update_leaves_it_to_the_one_taking_over(make_settings, telegram):
    """The server ends the connection that holds the first process's updates right while that process
    answers /balance (its answer not yet at Telegram). Before, it let its handlers under way run to
    their end as it stopped, while the standby, taking over at once, took that update again (taken,
    not handled: as from a process that died) and answered it too: the user got two answers. Now the
    first process drops what it was handling as soon as it knows, and the standby takes again what
    its predecessor left only once that one cannot still be handling it."""
    port = free_port()
    url = await postgres_schema()
    common = {
        "database__url": url,
        "telegram__mode": "webhook",
        "telegram__webhook_secret": "hook-secret-of-at-least-32-characters",
        "server__public_url": f"http://127.0.0.1:{port}",  # Telegram posts to the standby
    }
    user = telegram.user(user_id=3401)
    first = running(make_settings(server__port=free_port(), **common), role="bot")
    await first.__aenter__()
    try:
        async with running(make_settings(server__port=port, **common), role="bot"):
            telegram.hold["sendMessage"] = gate = asyncio.Event()
            await user.send_text("/balance")
            await telegram.wait_for(lambda: _answers_held(telegram) == 1, timeout=15)
            await _end_holders_connection(url, UPDATES)
            # The standby takes over and answers the update again: the first process's answer is
            # still held at Telegram's door, as one under way when a process dies.
            await telegram.wait_for(lambda: _webhooks_set(telegram) == 2, timeout=15)
            await telegram.wait_for(lambda: _answers_held(telegram) == 2, timeout=30)
            gate.set()
            await user.next_message("You have")
            await first.__aexit__(None, None, None)
            first = None
        # Both processes have stopped: every answer either gave has reached Telegram.
        assert sum(1 for message in user.messages() if message.text.startswith("You have")) == 1
    finally:
        if first is not None:
            await first.__aexit__(None, None, None)
