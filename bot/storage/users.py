"""Users: who talks to the bot, in which chat and language; their first sight (with today's free
credits, and the invitation they came through) and /forget, which moves their rows in the ledger
and jobs to a pseudonym in the same transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass

from bot.storage import albums, invites, jobs, ledger
from bot.storage.ledger import Ledger
from bot.storage.store import Store, Tx


@dataclass(frozen=True)
class User:
    user_id: int
    chat_id: int
    language: str
    language_chosen: bool


def conversation_key(chat_id: int, user_id: int) -> str:
    """How a conversation step is kept (``conversations.chat_key``, bot/telegram/persistence.py): the
    JSON of python-telegram-bot's (chat id, user id) key."""
    return json.dumps([chat_id, user_id])


class Users:
    def __init__(self, db: Store, ledger: Ledger) -> None:
        self.db = db
        #: Today's free credits are granted with a user's first update of the day.
        self.ledger = ledger

    async def ensure(self, user_id: int, chat_id: int, language: str, invite_code: str | None = None) -> User:
        """Create the user on first sight (language from Telegram) and grant today's credits; a
        first sight through an invitation (``/start <invite_code>``) is noted (bot/storage/invites.py).
        Every update comes through here: a user already known in this chat, with the same
        language and today's credits granted, is only read."""
        known = await self.db.fetchone(
            "SELECT u.*, EXISTS (SELECT 1 FROM ledger l WHERE l.user_id = u.user_id AND l.kind = 'daily_grant'"
            " AND l.day = ?) AS granted FROM users u WHERE u.user_id = ?",
            (self.ledger.today(), user_id),
        )
        if (
            known is not None
            and known["granted"]
            and known["chat_id"] == chat_id
            and (known["language_chosen"] or known["language"] == language)
        ):
            return User(user_id, chat_id, known["language"], bool(known["language_chosen"]))

        async def work(tx: Tx) -> sqlite3.Row | None:
            new = invite_code is not None and not await tx.fetchone("SELECT 1 FROM users WHERE user_id = ?", (user_id,))
            await tx.execute(
                "INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id,"
                " language = CASE WHEN users.language_chosen = 1 THEN users.language ELSE excluded.language END",
                (user_id, chat_id, language, time.time()),
            )
            if new and invite_code is not None:
                await invites.record(tx, user_id, invite_code, self.ledger.fingerprint(user_id), time.time())
            await self.ledger.grant_daily(tx, user_id)
            return await tx.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))

        row = await self.db.transaction(work, user=user_id)
        assert row is not None
        return User(row["user_id"], row["chat_id"], row["language"], bool(row["language_chosen"]))

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.write("UPDATE users SET language = ?, language_chosen = 1 WHERE user_id = ?", (language, user_id))

    async def language(self, user_id: int) -> str | None:
        row = await self.db.fetchone("SELECT language FROM users WHERE user_id = ?", (user_id,))
        return row["language"] if row else None

    async def forget(self, user_id: int) -> list[str]:
        """/forget: move the user's rows to a pseudonym, so the ledger keeps balancing without
        naming them, drop their jobs' file references, and delete their invoices (but one Telegram
        was told yes for and not yet paid, until it is swept), kept session and conversation
        steps; the stored files to delete. Raises ActiveJobs while a job is
        unfinished. A user who owes credits (a refunded pack already spent) keeps the debt: it
        moves from the pseudonym to their Telegram id, which stays known for that (as a payment
        keeps it for refunds), so coming back does not wipe it."""
        pseudonym = -1 - secrets.randbelow(2**52)
        day = self.ledger.today()
        now = time.time()
        fingerprint = self.ledger.fingerprint(user_id)

        async def work(tx: Tx) -> list[str]:
            refs = await jobs.files_to_forget(tx, user_id)
            user = await tx.fetchone("SELECT chat_id FROM users WHERE user_id = ?", (user_id,))
            # An invoice Telegram was told yes for and not yet paid stays until it is swept: its
            # payment may be on its way, and finds it (else the Stars are taken for no credits).
            await tx.execute(
                "DELETE FROM invoices WHERE user_id = ? AND (checked_out_at IS NULL"
                " OR EXISTS (SELECT 1 FROM payments p WHERE p.payload = invoices.payload))",
                (user_id,),
            )
            await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            await albums.forget(tx, user_id)
            chats = {user_id} if user is None else {user_id, int(user["chat_id"])}
            for chat_id in chats:
                await tx.execute("DELETE FROM conversations WHERE chat_key = ?", (conversation_key(chat_id, user_id),))
            if user is None:
                return refs
            owed = -min(0, await ledger.bought(tx, user_id))
            await tx.execute(
                "INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (?, ?, '', 0)",
                (pseudonym, pseudonym),
            )
            await jobs.keep_previews(tx, user_id, fingerprint, now)
            await jobs.move_to_pseudonym(tx, user_id, pseudonym)
            await ledger.move_to_pseudonym(tx, user_id, pseudonym)
            if owed:
                # Only the id stays, for the debt: no chat, no language, no first sight.
                await tx.execute(
                    "UPDATE users SET chat_id = user_id, language = '', language_chosen = 0, first_seen = 0"
                    " WHERE user_id = ?",
                    (user_id,),
                )
                await ledger.keep_debt(tx, user_id, pseudonym, owed, now)
            else:
                await tx.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            await invites.forget(tx, user_id, pseudonym, fingerprint, now)
            await tx.execute("DELETE FROM forgotten_today WHERE day < ?", (day,))
            await tx.execute(
                "INSERT INTO forgotten_today (fingerprint, day) VALUES (?, ?)"
                " ON CONFLICT (fingerprint) DO UPDATE SET day = excluded.day",
                (fingerprint, day),
            )
            return refs

        return await self.db.transaction(work, user=user_id)
