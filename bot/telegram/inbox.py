"""Telegram updates that arrive by webhook, kept in the database until they have been handled.

Any bot process may receive the webhook (several behind one address): it checks the update,
stores it (a resent update_id is stored once) and answers Telegram only then, so an update it
acknowledged survives its crash. One process at a time, the holder of the updates right
(bot/main/app.py), takes them from here in update_id order and handles them, with the sessions and
conversation steps it read when it took the right over: one process owns every dialogue, as
with long polling, and another takes over when it dies.

An update stays in the inbox until its handlers have finished: taking one only marks it taken,
and it is marked handled (its body emptied) once python-telegram-bot has run its handlers. A
process that takes over, or starts, first takes again what was taken but not handled: its
predecessor died in between. A handled update_id is remembered for a day, so an update Telegram
sends again (it did not see our answer) is not handled twice. What no design can close is the
moment between a handler's answer reaching Telegram and the mark: a crash there handles that
update once more. A take that failed may have marked updates taken all the same (the database
committed, and the connection broke before the answer came): the handling process then takes
back those it is not handling (:meth:`UpdateInbox.take_back_unanswered`).

A holder may also lose the right without dying: the connection that holds its lock broke, and
another process took over while it still ran. It handles that as a crash of its handling at that
moment: it drops the updates it is handling (:meth:`UpdateInbox.abandon`), leaving them taken, for
the next process. Before, it let their handlers run to their end while the next process took
them again and answered them too. Every take counts under a takeover (``update_takeovers``: each
process that takes the right over counts one more, :meth:`UpdateInbox.take_over`), and marks the
updates it takes with that number (``taken_by``): a process that lost the right and does not know
it yet finds a newer takeover as it takes, takes nothing and drops what it handles
(:class:`Superseded`), and hands back only updates it took itself. The process taking over takes
again what earlier takeovers left only once its predecessor cannot still be handling them: once
the right's ``overlap`` (bot/storage/store.Exclusive) has passed since it took the right. A
predecessor that let go of the right (a deploy) finished its updates first: nothing is left, and
nothing is waited for.

An update python-telegram-bot cannot read (:func:`read_update`: a field of a type it does not know)
is dropped, remembered as handled and logged once: by the webhook, which answers it all the same
(:meth:`UpdateInbox.drop`; refused, Telegram would send it again and again, and hold every update
behind it), or as it is taken (the poller keeps updates as Telegram sent them, unread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from telegram import Bot, Update
from telegram.ext import Application

from bot.storage.store import DATABASE_ERRORS, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Notified with the update_id when an update is stored.
UPDATES_CHANNEL = "photobot_updates"
#: Updates taken at once, and seconds between looks when no notification came (one was missed
#: while the listening connection was being re-established).
BATCH = 100
LOOK_INTERVAL = 5.0
#: Times an update is taken before it is dropped, each process that took it having died under it.
MAX_TAKES = 3
#: Seconds before trying again when the database failed to give the updates.
RETRY_WAIT = 1.0
#: Seconds a handled update_id is remembered: Telegram gives up resending an update within a day.
REMEMBER_HANDLED = 24 * 3600.0
#: Seconds between two purges of the update_ids handled longer ago than that.
PURGE_INTERVAL = 3600.0
#: update_ids the database keeps (BIGINT); Telegram's count up from 0.
_LARGEST_UPDATE_ID = 2**63 - 1


class Superseded(Exception):
    """Another bot process took the updates right over since this one did: this one takes no more."""


class Unreadable(Exception):
    """An update python-telegram-bot cannot read. Its message names the update by its id and
    kind, and why by the exception's type: nothing the user sent."""

    def __init__(self, update_id: int | None, kind: str, why: BaseException) -> None:
        super().__init__(f"update {update_id} ({kind!r:.40}) cannot be read ({type(why).__name__})")
        self.update_id = update_id


def read_update(body: object, bot: Bot) -> Update:
    """``body`` (a webhook's JSON, or one of ``getUpdates``'s) as python-telegram-bot reads it;
    :class:`Unreadable` when it cannot, or when it has no update_id the database can keep."""
    fields = body if isinstance(body, dict) else {}
    update_id = fields.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= _LARGEST_UPDATE_ID:
        update_id = None
    try:
        if update_id is None:
            raise KeyError("update_id")
        return Update.de_json(fields, bot)
    # Whatever it raises (KeyError, TypeError, OverflowError for a date past the calendar...),
    # the update cannot be handled, and sending it again changes nothing.
    except Exception as err:  # noqa: BLE001
        kind = next((str(key) for key in fields if key != "update_id"), "nothing")
        raise Unreadable(update_id, kind, err) from None


class UpdateInbox:
    def __init__(self, store: Store) -> None:
        self.store = store
        #: Updates handled here whose mark the database refused: marked again as updates are taken.
        self._unmarked: set[int] = set()
        #: The takeover this process takes updates under (:meth:`take_over`); None before it.
        self._takeover: int | None = None
        #: The updates being handled here, by their task.
        self._handling: dict[asyncio.Task[None], int] = {}

    async def put(self, *bodies: dict[str, Any]) -> None:
        """Keep checked updates (each ``update_id`` an int) for the handling process, in one
        statement (a webhook's one update, or a long poll's batch of up to 100); one that is
        waiting, being handled or was handled within a day is not kept again."""
        if not bodies:
            return
        now = time.time()
        params = [
            value for body in bodies for value in (int(body["update_id"]), json.dumps(body, ensure_ascii=False), now)
        ]
        await self.store.write(
            "INSERT INTO updates (update_id, body, received_at) VALUES "
            + ", ".join(["(?, ?, ?)"] * len(bodies))
            + " ON CONFLICT (update_id) DO NOTHING",
            params,
        )
        await self.store.notify(UPDATES_CHANNEL, str(bodies[-1]["update_id"]))

    async def seen(self, update_id: int) -> bool:
        """Whether the update is kept: waiting, being handled, or handled within a day."""
        return await self.store.fetchone("SELECT 1 FROM updates WHERE update_id = ?", (update_id,)) is not None

    async def handled_here(self, update_id: int) -> bool:
        """Remember (for a day) an update the receiving process handled itself (a pre-checkout
        query: bot/telegram/conversations/payments.checkout_arrived); it is never taken. Whether
        it was not remembered already."""
        now = time.time()
        return (
            await self.store.write(
                "INSERT INTO updates (update_id, body, received_at, taken_at, handled_at) VALUES (?, '', ?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update_id, now, now, now),
            )
            > 0
        )

    async def drop(self, unreadable: Unreadable) -> None:
        """Remember an update python-telegram-bot cannot read as handled, and log it: Telegram
        sending it again (it did not see our answer) is neither kept nor logged again."""
        if unreadable.update_id is None or await self.handled_here(unreadable.update_id):
            log.warning("%s: dropped", unreadable)

    async def take_over(self) -> int:
        """Count this process's takeover of the updates right: from now on it takes updates under
        it, and a process that took them before takes none (:class:`Superseded`). How many updates
        earlier takeovers took and did not finish (:meth:`take_back` takes them again): a take
        made before the count is among them, one made after it finds the count."""
        counted = await self.store.fetchall(
            "UPDATE update_takeovers SET generation = generation + 1 RETURNING generation"
        )
        self._takeover = int(counted[0]["generation"])
        left = await self.store.fetchone(
            "SELECT COUNT(*) AS n FROM updates WHERE taken_at IS NOT NULL AND handled_at IS NULL"
        )
        return int(left["n"]) if left is not None else 0

    @property
    def takeover(self) -> int | None:
        """This process's takeover count (:meth:`take_over`), None before it took the right."""
        return self._takeover

    async def count_takeover(self) -> int:
        """:meth:`take_over`, tried again while the database fails (the process holds the right)."""
        return await _until_done(self.take_over, "take Telegram's updates over")

    async def take(self, limit: int = BATCH) -> list[dict[str, Any]]:
        """The oldest updates nobody took, marked taken under this process's takeover (only the
        handling process takes); they stay in the inbox until :meth:`finish`. :class:`Superseded`
        when another process took the updates over since (or this one never did)."""
        if self._takeover is None:
            raise Superseded
        # The takeover's row is read under a share lock: a takeover counted meanwhile waits for this
        # take to commit, or this take waits for it and finds it. taken_at is looked at again outside
        # the subquery: PostgreSQL checks a row another statement changed meanwhile only against
        # the statement's own conditions.
        rows = await self.store.fetchall(
            "UPDATE updates SET taken_at = ?, takes = takes + 1, taken_by = ? WHERE taken_at IS NULL"
            " AND update_id IN (SELECT update_id FROM updates WHERE taken_at IS NULL ORDER BY update_id LIMIT ?)"
            f" AND (SELECT generation FROM update_takeovers{self.store.share_lock}) = ?"
            " RETURNING update_id, body",
            (time.time(), self._takeover, limit, self._takeover),
        )
        if not rows and await self._superseded():
            raise Superseded
        return [json.loads(row["body"]) for row in sorted(rows, key=lambda row: int(row["update_id"]))]

    async def _superseded(self) -> bool:
        """Whether another process took the updates over since this one did."""
        row = await self.store.fetchone("SELECT generation FROM update_takeovers")
        return row is None or int(row["generation"]) != self._takeover

    async def finish(self, update_id: int) -> None:
        """The update's handlers have finished: its id is remembered (for a day), its body dropped."""
        await self.store.write(
            "UPDATE updates SET handled_at = ?, body = '' WHERE update_id = ?", (time.time(), update_id)
        )

    async def take_back(self) -> int:
        """Make the updates that earlier takeovers took but did not finish takeable again (a
        process that handled updates died, or lost the right); how many. One taken ``MAX_TAKES``
        times is dropped instead (remembered as handled): each process that took it died under it,
        and every next one would. Only once :meth:`take_over` counted this process's takeover, and
        its predecessor cannot still be handling them."""
        earlier = "taken_at IS NOT NULL AND handled_at IS NULL AND COALESCE(taken_by, 0) < ?"
        dropped = await self.store.fetchall(
            f"UPDATE updates SET handled_at = ?, body = '' WHERE {earlier} AND takes >= ? RETURNING update_id",
            (time.time(), self._takeover, MAX_TAKES),
        )
        for row in dropped:
            log.error(
                "update %d was taken %d times and never handled (the bot process died under it each time): dropped",
                row["update_id"],
                MAX_TAKES,
            )
        return await self.store.write(f"UPDATE updates SET taken_at = NULL WHERE {earlier}", (self._takeover,))

    async def take_back_unanswered(self, handling: Collection[int]) -> int:
        """Make takeable again the updates this process's takeover took that are neither handled
        nor in ``handling`` (the update_ids it handles now), and uncount that take; how many. Those
        are the ones a :meth:`take` it saw fail took: the database marked them taken, and the
        connection broke before the answer came. What another process took is left alone."""
        sql = (
            "UPDATE updates SET taken_at = NULL, takes = takes - 1"
            " WHERE taken_at IS NOT NULL AND handled_at IS NULL AND taken_by = ?"
        )
        if handling:
            sql += f" AND update_id NOT IN ({', '.join('?' * len(handling))})"
        return await self.store.write(sql, (self._takeover, *handling))

    def abandon(self) -> None:
        """Stop handling every update under way at once (the updates right was lost: the process
        taking over handles them again); each stays taken, as by a process that died."""
        for task in self._handling:
            task.cancel()

    async def forget_handled(self, before: float) -> int:
        """Forget the update_ids handled before ``before`` (seconds since the epoch); how many."""
        return await self.store.write("DELETE FROM updates WHERE handled_at < ?", (before,))

    async def hand_over(
        self, app: Application[Any, Any, Any, Any, Any, Any], predecessor_done_at: float = 0.0, left: int | None = None
    ) -> None:
        """Handle in ``app`` every kept update, and each one that arrives (until cancelled, or
        :class:`Superseded`: then what is under way is dropped too): first those a process before
        this one took and did not finish, then the rest in update_id order; as many at once as
        ``app`` handles at once, the others wait in the database. ``predecessor_done_at``: the
        event loop's time from which the process that held the updates right before cannot still
        be handling updates (the right's ``overlap`` after this one took it); those it left are
        taken again then, and nothing is taken before. ``left``: :meth:`count_takeover`'s answer,
        where the caller counted the takeover already."""
        arrived = asyncio.Event()
        await self.store.listen(UPDATES_CHANNEL, lambda _update_id: arrived.set())
        if left is None:
            left = await self.count_takeover()
        wait = predecessor_done_at - asyncio.get_running_loop().time()
        if left and wait > 0:
            log.warning(
                "%d updates were taken by a bot process before this one and not handled: taking them again in"
                " %.1f s, once it cannot still be handling them",
                left,
                wait,
            )
            await asyncio.sleep(wait)
        if left and (again := await _until_done(self.take_back, "take back the updates a bot process left")):
            log.warning("taking again %d updates taken but not handled before (a bot process stopped)", again)
        limit = max(1, app.update_processor.max_concurrent_updates)
        handling = self._handling
        finished = asyncio.Event()

        def done(task: asyncio.Task[None]) -> None:
            handling.pop(task, None)
            finished.set()

        purge_at = 0.0
        unanswered = False  # a take failed: it may have marked updates taken all the same
        while True:
            arrived.clear()
            finished.clear()
            room = limit - len(handling)
            wanted = min(BATCH, room)
            try:
                for update_id in list(self._unmarked):  # each marked before any is taken back
                    await self.finish(update_id)
                    self._unmarked.discard(update_id)
                if unanswered:
                    # Before, they stayed taken until the next process took over: those users
                    # got no answer from a bot that answered everyone else.
                    if again := await self.take_back_unanswered(set(handling.values())):
                        log.warning("taking again %d updates taken by a take whose answer was lost", again)
                    unanswered = False
                if time.time() >= purge_at:
                    await self.forget_handled(time.time() - REMEMBER_HANDLED)
                    purge_at = time.time() + PURGE_INTERVAL
                taken = await self.take(wanted) if wanted > 0 else []
            except DATABASE_ERRORS as err:
                # Before, the error ended this task: the bot took no update again until restarted.
                log.warning("could not take updates from the inbox (trying again): %s", err)
                unanswered = True
                await asyncio.sleep(RETRY_WAIT)
                continue
            except Superseded:
                self.abandon()
                raise
            for body in taken:
                update_id = int(body["update_id"])
                task = app.create_task(self._handle(app, body), name=f"update-{update_id}")
                handling[task] = update_id
                task.add_done_callback(done)
            if wanted and len(taken) == wanted and len(handling) < limit:
                continue  # more may be waiting
            if len(handling) >= limit:
                await finished.wait()
            else:
                # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that comes in the step
                # the event is set in, and the stopping bot waited for this task for good.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_INTERVAL):
                        await arrived.wait()

    async def _handle(self, app: Application[Any, Any, Any, Any, Any, Any], body: dict[str, Any]) -> None:
        """Run the update's handlers (python-telegram-bot gives their errors to the error
        handler), then mark it handled; a mark the database refuses is made again by
        :meth:`hand_over`, and until then the update is not taken again. Cancelled, it stays
        taken: the next process takes it again."""
        update_id = int(body["update_id"])
        try:
            update = read_update(body, app.bot)
        except Unreadable as err:  # kept by a version of python-telegram-bot that could read it
            log.warning("%s: dropped", err)
        else:
            await app.update_processor.process_update(update, app.process_update(update))
        try:
            await self.finish(update_id)
        except DATABASE_ERRORS as err:
            self._unmarked.add(update_id)
            log.warning("update %d was handled but could not be marked so (trying again): %s", update_id, err)


async def _until_done(work: Callable[[], Awaitable[T]], what: str) -> T:
    """``work()``'s result, tried again while the database fails it."""
    while True:
        try:
            return await work()
        except DATABASE_ERRORS as err:
            log.warning("could not %s (trying again): %s", what, err)
            await asyncio.sleep(RETRY_WAIT)
