"""The update inbox (bot/telegram/inbox.py) under long polling and through database errors.

Long-polled updates survive a SIGKILL while they are handled: python-telegram-bot's next
``getUpdates`` moved the offset on (Telegram drops what it sent) while the handlers of the batch
before still ran, so the bot now keeps each batch in the inbox before it asks for the next. The
restarted bot (a real ``photobot run`` process, long polling) handles each one it had not finished,
and none it had. Before, every update under way when the bot died was gone: a Confirm pressed, a
photo sent, a payment (until the reconciliation found it) went unanswered. The kill lands where
tests/bot/test_webhook_crash.py lands it: Telegram serves the first answers and holds the others,
so the updates answered are marked handled and the others are under way.

A database error while updates are taken from the inbox is waited out, in either mode (and on
PostgreSQL, a take whose answer was lost after the server committed it is taken again), and an
update python-telegram-bot cannot read is dropped, not handled, and holds up no other.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import yaml

from bot.main.app import running
from tests.bot.process import ANSWERED, USERS, BotProcess, until
from tests.conftest import postgres_schema
from tests.fakes.pg_proxy import CuttingProxy


async def test_polled_updates_under_way_when_the_bot_is_killed_are_each_answered_once(
    tmp_path, make_settings, telegram, open_repos
):
    settings = make_settings()
    assert settings.telegram.mode == "polling"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    process = BotProcess(config, tmp_path / "bot.log")
    users = [telegram.user(user_id=8600 + n) for n in range(USERS)]

    async def handled(n: int) -> bool:
        row = await repos.db.fetchone("SELECT COUNT(*) AS n FROM updates WHERE handled_at IS NOT NULL")
        return row is not None and int(row["n"]) == n

    await process.start(telegram)
    repos = await open_repos(settings)
    try:
        telegram.pause_after("sendMessage", ANSWERED)
        await asyncio.gather(*(user.send_text("/balance") for user in users))
        await telegram.wait_for(lambda: len(telegram.paused_requests) == USERS - ANSWERED, timeout=60)
        assert {method for method, _ in telegram.paused_requests} == {"sendMessage"}
        # Telegram has been told the bot has every update: it would not send them again.
        await telegram.wait_for(lambda: not telegram.updates, timeout=10)
        await until(lambda: handled(ANSWERED), f"{ANSWERED} updates marked handled")
        await process.kill()
        telegram.resume(abandoned=True)  # the held answers never reached Telegram
        assert sum(1 for user in users if telegram.sent_to(user.id)) == ANSWERED

        await process.start(telegram)
        await telegram.wait_for(lambda: all(telegram.sent_to(user.id) for user in users), timeout=60)
        await until(lambda: handled(USERS), "every update marked handled")
    finally:
        await process.stop()
    for user in users:
        (answer,) = telegram.sent_to(user.id)
        assert answer.text.startswith("You have 30 credits.")


#: Fail the inbox's next ``take`` statements, as many as ``inbox_faults.left`` (as a full disk or
#: a lost connection fails them).
_TAKES_FAIL = (
    "CREATE TABLE inbox_faults (left INTEGER NOT NULL)",
    "CREATE TRIGGER inbox_take_fails BEFORE UPDATE OF taken_at ON updates"
    " WHEN NEW.taken_at IS NOT NULL AND (SELECT left FROM inbox_faults) > 0"
    " BEGIN UPDATE inbox_faults SET left = left - 1; SELECT RAISE(FAIL, 'disk I/O error'); END",
    "INSERT INTO inbox_faults (left) VALUES (2)",
)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_updates_are_handled_through_database_errors_in_the_inbox(mode, make_settings, telegram):
    """Taking updates from the inbox fails twice: the bot tries again and answers. Before, in
    webhook mode, the error ended the task that takes them: the bot answered nothing more until
    restarted, while it looked healthy."""
    webhook = {"telegram__webhook_secret": "hook-secret-of-at-least-32-characters"} if mode == "webhook" else {}
    async with running(make_settings(telegram__mode=mode, **webhook)) as bot:
        for statement in _TAKES_FAIL:
            await bot.db.write(statement)
        user = telegram.user(user_id=8700)
        await user.send_text("/balance")
        await user.next_message("You have 30 credits.")
        assert (await bot.db.fetchone("SELECT left FROM inbox_faults"))["left"] == 0


async def test_updates_taken_by_a_take_whose_answer_was_lost_are_taken_again(make_settings, telegram):
    """PostgreSQL marks the update taken and commits, and the connection breaks before its answer
    reaches the bot: the bot never saw the update, and it stayed taken. Before, that user got no
    answer until the next bot process took over (a restart), while every other user got theirs."""
    proxy = CuttingProxy(await postgres_schema())
    await proxy.start()
    try:
        async with running(make_settings(database__url=proxy.url)) as bot:
            user = telegram.user(user_id=8750, first_name="Lost-answer-8750")
            proxy.arm(b"Lost-answer-8750")  # the take is the one statement whose answer holds the update
            await user.send_text("/balance")
            await user.next_message("You have 30 credits.", timeout=30)
            assert proxy.cuts == 1
            row = await bot.db.fetchone("SELECT takes FROM updates")
            assert row["takes"] == 1  # the take it never saw is not counted against the update
    finally:
        await proxy.stop()


#: The mark of the next handled update fails once, and after it the next take (as a lost
#: connection fails them); inbox_faults counts down what is left of each.
_MARK_THEN_TAKE_FAIL = (
    "CREATE TABLE inbox_faults (marks INTEGER NOT NULL, takes INTEGER NOT NULL)",
    "CREATE TRIGGER inbox_mark_fails BEFORE UPDATE OF handled_at ON updates"
    " WHEN NEW.handled_at IS NOT NULL AND (SELECT marks FROM inbox_faults) > 0"
    " BEGIN UPDATE inbox_faults SET marks = marks - 1; SELECT RAISE(FAIL, 'disk I/O error'); END",
    "CREATE TRIGGER inbox_take_fails BEFORE UPDATE OF taken_at ON updates"
    " WHEN NEW.taken_at IS NOT NULL AND (SELECT marks FROM inbox_faults) = 0 AND (SELECT takes FROM inbox_faults) > 0"
    " BEGIN UPDATE inbox_faults SET takes = takes - 1; SELECT RAISE(FAIL, 'disk I/O error'); END",
    "INSERT INTO inbox_faults (marks, takes) VALUES (1, 1)",
)


async def test_an_update_whose_mark_failed_is_marked_and_answered_once(make_settings, telegram):
    """The database fails to mark a handled update, then a take: the update is marked when the
    database answers again, and not taken again (it is no lost take's). Before, it stayed taken
    and not handled, and the next bot process to start handled it again: a second answer."""
    async with running(make_settings()) as bot:
        for statement in _MARK_THEN_TAKE_FAIL:
            await bot.db.write(statement)

        async def left(marks: int, takes: int, unhandled: int | None = None) -> bool:
            row = await bot.db.fetchone(
                "SELECT marks, takes, (SELECT COUNT(*) FROM updates WHERE handled_at IS NULL) AS unhandled"
                " FROM inbox_faults"
            )
            return (row["marks"], row["takes"]) == (marks, takes) and unhandled in (None, row["unhandled"])

        user = telegram.user(user_id=8760)
        await user.send_text("/balance")
        await user.next_message("You have 30 credits.")
        await until(lambda: left(0, 1), "the mark of the first update failed")
        await user.send_text("/balance")
        await user.next_message("You have 30 credits.")
        await until(lambda: left(0, 0, 0), "a take failed, and both updates were marked handled")
    assert [message.text.startswith("You have 30 credits.") for message in telegram.sent_to(user.id)] == [True] * 2


def _unreadable(user_id: int) -> list[dict]:
    """Updates python-telegram-bot cannot read (as one Telegram sends after a Bot API change may
    be): a field of a type it does not know, a date past its calendar, a pre-checkout query whose
    user lacks what it needs. Each holds a text of the user's, which no log may show."""
    chat = {"id": user_id, "type": "private", "first_name": "Ann"}
    sender = {"id": user_id, "is_bot": False, "first_name": "Ann"}
    message = {"message_id": 1, "chat": chat, "from": sender, "text": "my secret note"}
    query = {"id": "q-8800", "from": {"id": user_id}, "currency": "XTR", "total_amount": 5}
    return [
        {"message": {**message, "date": int(time.time()), "entities": {"type": "bold", "offset": 0, "length": 2}}},
        {"message": {**message, "date": 10**20}},
        {"pre_checkout_query": {**query, "invoice_payload": "my secret note"}},
    ]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_update_the_bot_cannot_read_is_dropped_and_the_next_is_answered(mode, make_settings, telegram, caplog):
    """Before, the webhook refused such an update (400, or 500 for the date): Telegram sends a
    refused update again and again and holds those behind it, so the bot answered no one. Long
    polling died on it: taken from the inbox, it ended the task that takes updates, and the
    process; a pre-checkout query ended the poller, and every process started after it, which
    asked for the same batch again, until Telegram let the update go a day later."""
    webhook = {"telegram__webhook_secret": "hook-secret-of-at-least-32-characters"} if mode == "webhook" else {}
    caplog.set_level(logging.WARNING)
    async with running(make_settings(telegram__mode=mode, **webhook)) as bot:
        user = telegram.user(user_id=8800)
        unreadable = _unreadable(user.id)
        for update in unreadable:
            await telegram.push_update(update)
        await user.send_text("/balance")
        await user.next_message("You have 30 credits.")
        dropped = sorted(telegram.pushed)[: len(unreadable)]
        if mode == "webhook":
            assert telegram.webhook_results == [200] * (len(unreadable) + 1)
            await telegram.resend_update(dropped[0])  # it did not see the answer: nothing is done again
            assert telegram.webhook_results[-1] == 200
        rows = await bot.db.fetchall("SELECT update_id, body, handled_at FROM updates ORDER BY update_id")
        assert [(row["update_id"], row["body"]) for row in rows][: len(dropped)] == [(i, "") for i in dropped]
        assert all(row["handled_at"] is not None for row in rows[: len(dropped)])
    assert telegram.sent_to(user.id)[1:] == []  # nothing more was said to the user
    assert telegram.pre_checkout_answers == {}
    logged = [record.getMessage() for record in caplog.records]
    for update_id, update in zip(dropped, unreadable, strict=True):
        kind = next(key for key in update if key != "update_id")
        assert sum(f"update {update_id} ({kind!r}) cannot be read" in line for line in logged) == 1
    assert not any("my secret note" in line for line in logged)
