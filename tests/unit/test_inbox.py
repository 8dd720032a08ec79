"""The webhook inbox (bot/telegram/inbox.py) on both backends: an update stays until its handlers have
finished, is taken again by the next process if the one that took it died first (or lost the
right to handle updates: it then takes no more, and hands back only its own), and a resent
update_id is dropped for a day once handled."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, TypeHandler

from bot.storage.db import Database
from bot.telegram.inbox import MAX_TAKES, REMEMBER_HANDLED, UPDATES_CHANNEL, Superseded, UpdateInbox
from bot.telegram.polling import poll_into
from bot.telegram.transport import AiohttpRequest


def _update(update_id: int) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": f"/balance {update_id}"}}


def _readable(update_id: int) -> dict:
    """An update python-telegram-bot reads (a private message)."""
    message = {"message_id": update_id, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/balance"}
    return {"update_id": update_id, "message": message}


async def _ids(inbox: UpdateInbox, limit: int = 100) -> list[int]:
    return [body["update_id"] for body in await inbox.take(limit)]


async def _took_over(store) -> UpdateInbox:
    """The inbox of a process that took the updates right over."""
    inbox = UpdateInbox(store)
    await inbox.take_over()
    return inbox


async def test_updates_taken_but_not_handled_are_taken_again_after_a_restart(store):
    inbox = await _took_over(store)
    for update_id in (14, 10, 11, 12, 13):
        await inbox.put(_update(update_id))
    assert await _ids(inbox, 3) == [10, 11, 12]  # the oldest first
    assert await inbox.take(1) == [_update(13)]  # each taken once
    await inbox.finish(10)

    restarted = UpdateInbox(store)  # the process died: 11, 12 and 13 were taken, not handled
    assert await restarted.take_over() == 3
    assert await restarted.take_back() == 3
    assert await _ids(restarted) == [11, 12, 13, 14]
    for update_id in (11, 12, 13, 14):
        await restarted.finish(update_id)
    assert await _ids(restarted) == []
    assert await UpdateInbox(store).take_over() == 0


async def test_updates_of_a_take_whose_answer_was_lost_are_taken_again_but_none_being_handled(store):
    """A take marked 11 and 12 taken and its answer never came; 10 is being handled: 11 and 12
    are taken again, their lost take not counted against them (MAX_TAKES)."""
    inbox = await _took_over(store)
    for update_id in (10, 11, 12):
        await inbox.put(_update(update_id))
    assert await _ids(inbox, 1) == [10]
    assert await _ids(inbox, 2) == [11, 12]  # the answer this process never saw
    assert await inbox.take_back_unanswered({10}) == 2
    assert await _ids(inbox) == [11, 12]
    rows = await store.fetchall("SELECT update_id, takes FROM updates ORDER BY update_id")
    assert [(row["update_id"], row["takes"]) for row in rows] == [(10, 1), (11, 1), (12, 1)]
    assert await inbox.take_back_unanswered(set()) == 3  # none handled now: each is taken again


async def test_a_process_that_lost_the_right_takes_nothing_more_and_hands_back_only_its_own(store):
    """Process a handles update 10; its lock's connection breaks, and b takes the right over
    before a knows. Before, a still took update 11 beside b, and a's take-back after a failed take
    (all taken and not handled but what a handles) made 11, which b was handling, takeable again:
    each was handled twice. Now a finds b's takeover as it takes (Superseded) and takes nothing,
    its take-back leaves b's updates alone, and b takes 10 again (once a cannot still be handling
    it: bot/telegram/inbox.hand_over waits the right's overlap for that)."""
    a = await _took_over(store)
    for update_id in (10, 11, 12):
        await a.put(_update(update_id))
    assert await _ids(a, 1) == [10]

    b = UpdateInbox(store)
    assert await b.take_over() == 1  # 10, left by a
    with pytest.raises(Superseded):
        await a.take()
    assert await _ids(b, 1) == [11]
    assert await a.take_back_unanswered({10}) == 0  # 11 is b's
    assert await a.take_back_unanswered(set()) == 1  # 10 is a's own: it handles it no more
    assert await b.take_back() == 0
    assert await _ids(b) == [10, 12]
    rows = await store.fetchall("SELECT update_id, takes FROM updates ORDER BY update_id")
    assert [(row["update_id"], row["takes"]) for row in rows] == [(10, 1), (11, 1), (12, 1)]


async def test_the_next_process_takes_again_what_one_that_lost_the_right_left(store):
    """a lost the right while it handled 10 and 11, and dropped them (as a process that died); b,
    taking over, takes both again; a's mark of 11, which it had finished, stands."""
    a = await _took_over(store)
    for update_id in (10, 11, 12):
        await a.put(_update(update_id))
    assert await _ids(a, 2) == [10, 11]
    b = UpdateInbox(store)
    assert await b.take_over() == 2
    await a.finish(11)  # a finished 11 before it knew
    assert await b.take_back() == 1
    assert await _ids(b) == [10, 12]


async def test_a_resent_update_is_kept_once_and_not_handled_again_for_a_day(store):
    inbox = await _took_over(store)
    await inbox.put(_update(20))
    await inbox.put(_update(20))  # resent while waiting
    assert await _ids(inbox) == [20]
    await inbox.put(_update(20))  # resent while being handled
    assert await _ids(inbox) == []
    await inbox.finish(20)
    await inbox.put(_update(20))  # resent after it was handled: Telegram did not see the answer
    inbox = UpdateInbox(store)
    assert await inbox.take_over() == 0 and await _ids(inbox) == []
    row = await store.fetchone("SELECT body, handled_at FROM updates WHERE update_id = 20")
    assert row["body"] == "" and row["handled_at"] is not None  # what the user sent is not kept

    assert await inbox.forget_handled(time.time() - REMEMBER_HANDLED) == 0  # remembered for a day
    assert await inbox.forget_handled(time.time() + 1) == 1
    await inbox.put(_update(20))
    assert await _ids(inbox) == [20]


async def test_a_long_polls_batch_is_kept_in_one_go_each_update_once(store):
    """A batch from getUpdates (bot/telegram/polling.py) is kept in one statement; an update of it
    kept before (Telegram sends the batch again when its offset did not reach it) is kept once."""
    inbox = await _took_over(store)
    await inbox.put(_update(31))
    await inbox.put(*(_update(update_id) for update_id in range(30, 130)))
    assert await _ids(inbox, 200) == list(range(30, 130))
    await inbox.put()  # an empty long poll keeps nothing
    assert await _ids(inbox) == []


async def test_an_update_whose_handling_never_finishes_is_dropped_after_a_few_takes(store):
    """The bot process died each time it handled update 30 (its handling kills the process): it
    is taken again MAX_TAKES times, then dropped, so the bot stops dying of it and handles the
    others (before, every restart took it again first, for good)."""
    inbox = await _took_over(store)
    await inbox.put(_update(30))
    await inbox.put(_update(31))
    for take in range(1, MAX_TAKES + 1):
        assert await _ids(inbox, 1) == [30]
        inbox = await _took_over(store)  # the process died; the next one takes back what it left
        assert await inbox.take_back() == (1 if take < MAX_TAKES else 0)
    assert await _ids(inbox) == [31]
    row = await store.fetchone("SELECT body, handled_at FROM updates WHERE update_id = 30")
    assert row["body"] == "" and row["handled_at"] is not None
    await inbox.put(_update(30))  # Telegram sends it again: not handled either
    assert await _ids(inbox) == []


async def test_a_stop_as_an_update_arrives_ends_the_inbox(tmp_path):
    """The bot stops (its inbox task is cancelled) in the loop step an update arrives in: the task
    ends. Before, asyncio.wait_for (Python 3.11) returned the arrival and dropped the cancellation:
    the inbox ran on and the stopping bot waited for it for good (until killed)."""
    db = await Database.open(tmp_path / "db.sqlite3")
    try:
        inbox = UpdateInbox(db)
        handing = asyncio.create_task(inbox.hand_over(ApplicationBuilder().token("123456:TEST-inbox").build()))
        # SQLite answers without giving the loop away: one step takes the inbox to its wait.
        await asyncio.sleep(0)
        await db.notify(UPDATES_CHANNEL, "1")
        handing.cancel()
        await asyncio.wait({handing}, timeout=10)
        assert handing.cancelled()
    finally:
        await db.close()


async def test_a_process_that_finds_another_took_over_drops_the_update_it_handles(tmp_path, telegram):
    """Its lock's connection broke, and another process took the updates over before it knew: as
    it looks for more updates it finds the newer takeover, takes nothing, and drops the update it
    is handling (cancelled, left taken for the new holder) rather than answer it beside the new
    holder, which takes it again."""
    db = await Database.open(tmp_path / "db.sqlite3")
    app = ApplicationBuilder().token(telegram.token).base_url(telegram.base_url).concurrent_updates(True).build()
    handling, dropped = asyncio.Event(), asyncio.Event()

    async def endless(_update: Update, _context: object) -> None:
        handling.set()
        try:
            await asyncio.Event().wait()
        finally:
            dropped.set()

    app.add_handler(TypeHandler(Update, endless))
    await app.initialize()
    try:
        first = UpdateInbox(db)
        handing = asyncio.create_task(first.hand_over(app))
        await first.put(_readable(10))
        async with asyncio.timeout(10):
            await handling.wait()
        assert await UpdateInbox(db).take_over() == 1
        await first.put(_readable(11))  # the first process looks for updates again
        with pytest.raises(Superseded):
            async with asyncio.timeout(10):
                await handing
        assert dropped.is_set()
        rows = await db.fetchall("SELECT update_id, taken_at, handled_at FROM updates ORDER BY update_id")
        assert [(row[0], row[1] is not None, row[2]) for row in rows] == [(10, True, None), (11, False, None)]
    finally:
        await app.shutdown()
        await db.close()


async def test_a_long_poll_keeps_each_update_as_telegram_sent_it(store, telegram):
    """Long polling keeps Telegram's own JSON of an update (bot/telegram/polling.py). Before, each
    was made a python-telegram-bot object and turned back into a dict to be kept, which cost the bot
    about 0.3 ms an update and kept fields Telegram never sent (``"group_chat_created": False``)."""
    inbox = await _took_over(store)
    kept = asyncio.Event()
    await store.listen(UPDATES_CHANNEL, lambda _update_id: kept.set())
    await telegram.user().send_text("/balance")
    sent = next(iter(telegram.pushed.values()))
    checkouts: list[dict] = []

    async def checkout(update: dict) -> None:
        checkouts.append(update)

    async with AiohttpRequest(connection_pool_size=1) as request:
        url = telegram.base_url + telegram.token
        polling = asyncio.create_task(
            poll_into(inbox, request, url, timeout=1, allowed_updates=["message"], checkout=checkout)
        )
        try:
            async with asyncio.timeout(10):
                await kept.wait()
        finally:
            polling.cancel()
    assert await inbox.take() == [sent] and checkouts == []


async def test_a_polling_process_superseded_ends_with_superseded_itself():
    """In polling mode the inbox runs beside the poller (bot/main/app._together): an inbox that found
    another process took the updates over ends the pair with Superseded itself, which the process
    tells apart from a failure. Before, it came wrapped in an ExceptionGroup: the process logged "stopped
    taking Telegram's updates" with a traceback, as for an error it could not get over."""
    from bot.main.app import _together

    async def superseded() -> None:
        raise Superseded

    with pytest.raises(Superseded):
        async with asyncio.timeout(10):
            await _together(asyncio.Event().wait(), superseded())


async def test_a_process_that_lost_the_right_and_does_not_know_it_writes_no_session(store):
    """A process whose updates right went to another (its lock's connection broke) learns of it
    within a heartbeat; meanwhile it wrote its sessions every few seconds, over what the process
    taking over, which had read them as it took over, wrote since (a dialogue set back, a /forget
    undone). Every session write is now fenced by the takeover count the writer read the sessions
    under: the stale one's is refused, and it writes no more; the new holder's goes through."""
    from bot.domain.session import Session
    from bot.services import registry
    from bot.telegram.persistence import DatabasePersistence

    def kept(inbox: UpdateInbox) -> DatabasePersistence:
        persistence = DatabasePersistence(store, registry.order_models(), registry.state_models())
        persistence.fence(inbox.takeover)
        return persistence

    async def lang_of(user_id: int) -> str | None:
        return (await kept(newer).get_user_data()).get(user_id, Session()).lang

    stale = kept(await _took_over(store))
    await stale.update_user_data(7, Session(lang="en"))
    await stale.update_conversation("idphoto", (7, 7), "pick_spec")
    newer = await _took_over(store)
    assert await lang_of(7) == "en"  # written while it held the right
    await kept(newer).update_user_data(7, Session(lang="zh-hans"))
    await stale.update_user_data(7, Session(lang="en"))  # refused: another took over
    await stale.drop_user_data(7)
    await stale.update_conversation("idphoto", (7, 7), None)
    assert await lang_of(7) == "zh-hans"
    assert await kept(newer).get_conversations("idphoto") == {(7, 7): "pick_spec"}
    await stale.update_user_data(8, Session(lang="en"))  # it writes no more at all
    assert 8 not in await kept(newer).get_user_data()
