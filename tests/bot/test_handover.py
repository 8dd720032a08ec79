"""End-to-end: a bot process that stops gracefully in webhook mode (a deploy) while it handles an
update: the standby takes over Telegram's updates only once that update's handlers have finished,
so it is answered once, not again by the standby (which takes again what was taken and not
finished: a predecessor that died). And one that loses the right to handle updates (its lock's
database connection broke) while it handles one: it drops that update at once, and the standby
that takes over answers it, once; and what it does beside updates (an album it was finishing, the
sessions it writes as it stops) it drops too. Two bot processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json

import asyncpg
import pytest

from bot.main.app import UPDATES, running
from tests.bot.flows import forget, order_idphoto, send_photo_and_pick_idphoto, to_options
from tests.bot.process import until
from tests.conftest import portrait_jpeg, postgres_schema
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram

#: Seconds the standby is given to take over while the first process is busy with an update (it
#: takes over at once when the first lets go).
TAKEOVER = 2.0


def _webhooks_set(telegram: FakeTelegram) -> int:
    return sum(1 for method, _ in telegram.calls if method == "setWebhook")


def _answers_held(telegram: FakeTelegram, method: str = "sendMessage") -> int:
    return sum(1 for held, _ in telegram.held_requests if held == method)


def _answers_to(telegram: FakeTelegram, query: str) -> int:
    """Answers the bot sent to the button press ``query`` (Telegram takes the first only)."""
    answers = (params for method, params in telegram.calls if method == "answerCallbackQuery")
    return sum(1 for params in answers if params["callback_query_id"] == query)


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
    standby = _webhook_bots(await postgres_schema())
    user = telegram.user(user_id=3400)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    await first.__aenter__()
    stopped = False
    try:
        async with running(make_settings(**standby), role="bot"):
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
    url = await postgres_schema()
    standby = _webhook_bots(url)
    user = telegram.user(user_id=3401)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    await first.__aenter__()
    try:
        async with running(make_settings(**standby), role="bot"):
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


def _webhook_bots(url: str) -> dict[str, object]:
    """The settings of a bot process on ``url``'s database in webhook mode to which Telegram posts
    (the standby: the process first started is given another port)."""
    port = free_port()
    return {
        "database__url": url,
        "telegram__mode": "webhook",
        "telegram__webhook_secret": "hook-secret-of-at-least-32-characters",
        "server__public_url": f"http://127.0.0.1:{port}",  # Telegram posts to the standby
        "server__port": port,
    }


async def _lose_the_right_while_finishing_an_album(telegram, user, url: str, stale) -> asyncio.Event:
    """The user sends an album, whose finishing the first process holds at Telegram (its
    "typing..."), and the server ends that process's lock connection: once the first knows it lost
    the right and the standby took over, the gate that lets the held call through."""
    telegram.hold["sendChatAction"] = gate = asyncio.Event()
    await user.send_album([portrait_jpeg(), portrait_jpeg(900, 1000)])
    await asyncio.wait_for(telegram.held.setdefault("sendChatAction", asyncio.Event()).wait(), 30)
    await _end_holders_connection(url, UPDATES)
    await asyncio.wait_for(stale.halt.wait(), 15)  # the first knows it lost the right
    await telegram.wait_for(lambda: _webhooks_set(telegram) == 2, timeout=15)
    return gate


async def test_an_album_the_bot_losing_the_right_was_finishing_is_shown_by_the_one_taking_over(
    make_settings, telegram, picwish
):
    """The first process is finishing an album (a job of the job queue, not an update: its
    "typing..." held at Telegram) when the server ends its lock's connection. Before, it went on,
    showed "Album of 2 photos" and wrote the session holding it, after the standby had read the
    sessions: the standby knew no album, and the album's ID photo button said "This menu has
    expired" (with separate processes the standby showed the album a second time, too). Now the
    first drops it at once, and the standby finishes it, once the first cannot still be."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    url = await postgres_schema()
    standby = _webhook_bots(url)
    user = telegram.user(user_id=3402)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    stale = await first.__aenter__()
    try:
        async with running(make_settings(**standby), role="bot"):
            gate = await _lose_the_right_while_finishing_an_album(telegram, user, url, stale)
            gate.set()
            menu = await user.next_message("Album of 2 photos", timeout=30)
            await first.__aexit__(None, None, None)
            first = None
            query = await user.press(menu, "ID photo")
            await telegram.wait_for(lambda: query in telegram.callback_answers, timeout=15)
            assert telegram.callback_answers[query] is None  # before: "This menu has expired. ..."
            await user.edited(menu, "Choose a category")
        assert sum(1 for message in user.messages() if "Album of 2 photos" in message.shown[0]) == 1
    finally:
        if first is not None:
            await first.__aexit__(None, None, None)


async def test_forget_after_a_takeover_is_not_undone_by_the_bot_that_lost_the_right(make_settings, telegram, picwish):
    """The first process is finishing an album (its "typing..." held at Telegram) when the server
    ends its lock's connection; the user then uses /forget, which the standby, taking over,
    handles. Before, the first let the album's job run to its end as it stopped and then wrote its
    sessions once more: the user's session, /forget had just deleted, was stored again (their
    language, the photo sent before), read back by the next process. Now a process that lost the
    right writes no session, as if it had died there."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    url = await postgres_schema()
    standby = _webhook_bots(url)
    user = telegram.user(user_id=3403)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    stale = await first.__aenter__()
    try:
        async with running(make_settings(**standby), role="bot") as services:
            await user.send_photo(portrait_jpeg())
            await user.next_message("What would you like", timeout=30)
            gate = await _lose_the_right_while_finishing_an_album(telegram, user, url, stale)
            await forget(user)
            gate.set()
            await first.__aexit__(None, None, None)
            first = None
            assert await services.db.fetchall("SELECT user_id FROM sessions WHERE user_id = ?", (user.id,)) == []
    finally:
        if first is not None:
            await first.__aexit__(None, None, None)


@pytest.mark.parametrize("fails", [False, True], ids=["delivered", "failed"])
async def test_a_confirm_handled_again_after_a_takeover_leaves_its_order_as_it_ended(
    make_settings, telegram, picwish, fails
):
    """The first process places the order of a Confirm and dies (its lock's connection ends) before
    it has answered the press; the standby's worker makes and delivers the job, or PicWish fails it
    (given back). The standby, taking over, handles that press again, after the lock's overlap:
    nothing is placed twice. Before, it showed the summary as "queued" over the delivered order's "Done!" (the
    multi-process test in test_processes.py failed on it now and then); and a failed order, whose
    key had been released, was placed and charged again, unasked."""
    if fails:
        picwish.states_by_spec = {"3108": [(0, 0), (4, 30), (-7, 0)]}
    url = await postgres_schema()
    standby = _webhook_bots(url)
    user = telegram.user(user_id=3404)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    stale = await first.__aenter__()
    try:
        async with running(make_settings(**standby), role="all") as services:
            summary = await order_idphoto(user)

            async def order_written() -> bool:  # sessions are written every few seconds
                row = await services.db.fetchone("SELECT data FROM sessions WHERE user_id = ?", (user.id,))
                return row is not None and json.loads(row["data"])["order"] is not None

            await until(order_written, "the session holding the summary's order written")
            telegram.hold["answerCallbackQuery"] = gate = asyncio.Event()
            await user.press(summary, "Confirm")
            # The first process placed the order and waits for Telegram to take its answer: it dies
            # there, before it has marked the press handled (dropping it, it tells the workers).
            await telegram.wait_for(lambda: _answers_held(telegram, "answerCallbackQuery") == 1, timeout=15)
            await _end_holders_connection(url, UPDATES)
            await asyncio.wait_for(stale.halt.wait(), 15)
            ended = "could not read this image" if fails else "Done!"
            await user.edited(summary, ended, timeout=60)  # made or failed by the standby's worker
            await telegram.wait_for(lambda: _answers_held(telegram, "answerCallbackQuery") == 2, timeout=30)
            gate.set()
            await first.__aexit__(None, None, None)
            first = None
            await services.runner.idle()
            balance = await services.ledger.balance(user.id)
        # The standby has stopped: its handling of the press has ended.
        assert ended in summary.text
        assert len(picwish.creates) == 1
        assert sum(1 for message in user.messages() if message.kind == "document") == (0 if fails else 1)
        assert balance == (30 if fails else 24)
    finally:
        if first is not None:
            await first.__aexit__(None, None, None)


async def test_a_preview_press_handled_again_after_a_takeover_makes_one_preview(make_settings, telegram):
    """The first process places the local engine's free preview of a Continue press and dies (its
    lock's connection ends) before it has answered the press, while the standby's worker makes and
    sends the preview. The standby, taking over, handles that press again. Before, it placed a
    second preview (a new order key each time) and showed "Making" over the first's status: the
    person got the preview twice, and two of their free previews were counted."""
    pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")
    url = await postgres_schema()
    standby = {**_webhook_bots(url), "providers__picwish__enabled": False}
    user = telegram.user(user_id=3405)
    first = running(make_settings(**{**standby, "server__port": free_port()}), role="bot")
    stale = await first.__aenter__()
    try:
        async with running(make_settings(**standby), role="all") as services:
            menu = await send_photo_and_pick_idphoto(user)
            await to_options(user, menu, "Visa", "USA Visa", "White")

            async def step_written() -> bool:  # sessions and steps are written every few seconds
                row = await services.db.fetchone("SELECT data FROM sessions WHERE user_id = ?", (user.id,))
                return row is not None and json.loads(row["data"])["services"].get("idphoto", {}).get("draft")

            await until(step_written, "the session holding the draft at its options written")
            telegram.hold["answerCallbackQuery"] = gate = asyncio.Event()
            query = await user.press(menu, "Continue")
            await user.next_message(kind="photo", timeout=60)  # made by the standby's worker
            await _end_holders_connection(url, UPDATES)
            await asyncio.wait_for(stale.halt.wait(), 15)
            await telegram.wait_for(lambda: _answers_to(telegram, query) == 2, timeout=30)
            gate.set()
            await first.__aexit__(None, None, None)
            first = None
            previews = await services.db.fetchall("SELECT id FROM jobs WHERE user_id = ?", (user.id,))
        # The standby has stopped: its handling of the press has ended.
        assert len(previews) == 1
        assert sum(1 for message in user.messages() if message.kind == "photo") == 1
        assert "Making your free preview" not in menu.text
    finally:
        if first is not None:
            await first.__aexit__(None, None, None)
