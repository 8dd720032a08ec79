"""Invitations: each person's code for ``t.me/<bot>?start=<code>``, who came through whose code, and
the bonus both earn with the newcomer's first paid order.

The statements that must share a transaction with another repository's (a new user's row, a job's
settlement, /forget's move to a pseudonym) take its ``Tx``; bot/storage/users.py and jobs.py call
them there.

Who counts as new: a Telegram id with no row yet, whose first update is ``/start <code>``, and
whose keyed fingerprint is not among those who used /forget (``former_users``, kept for good: a
row deleted by /forget must not make a person new again). The bonus is free credits
(``invite_bonus`` ledger rows, ``paid = 0``, noted with the job that earned them), given once, in
the transaction that captures that job's hold, so a restart cannot give it twice or lose it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from bot.storage.store import Store, Tx

#: Characters of a new code (``secrets.token_urlsafe``: letters, digits, ``-`` and ``_``, all that
#: Telegram's start parameter allows).
CODE_BYTES = 8


@dataclass(frozen=True)
class Reward:
    """An invitation a delivered order rewarded: the bonus each side got, and where to tell the
    inviter (None when they had used /forget by then: only the newcomer got it)."""

    bonus: int
    inviter_chat_id: int | None = None
    inviter_language: str = "en"


@dataclass(frozen=True)
class InviteFigures:
    """For /stats: people who came through an invitation, those whose first paid order was
    delivered, and the credits given for them (both sides)."""

    invited: int
    rewarded: int
    credits: int


async def record(tx: Tx, invitee_id: int, code: str, fingerprint: str, now: float) -> None:
    """Note that a person seen for the first time came through ``code``: unless the code is
    unknown, their own, or they used the bot before (/forget left their ``fingerprint``)."""
    inviter = await tx.fetchone("SELECT user_id FROM invite_codes WHERE code = ?", (code,))
    if inviter is None or inviter["user_id"] == invitee_id:
        return
    if await tx.fetchone("SELECT 1 FROM former_users WHERE fingerprint = ?", (fingerprint,)):
        return
    await tx.execute(
        "INSERT INTO invitations (invitee_id, inviter_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (invitee_id, inviter["user_id"], now),
    )


async def reward(tx: Tx, invitee_id: int, job_id: str, bonus: int, now: float) -> None:
    """With a delivered paid order of ``invitee_id``: if they came through an invitation not yet
    rewarded, give both sides ``bonus`` free credits, once."""
    found = await tx.fetchone(
        "SELECT inviter_id FROM invitations WHERE invitee_id = ? AND rewarded_at IS NULL", (invitee_id,)
    )
    if found is None or bonus <= 0:
        return
    changed = await tx.execute(
        "UPDATE invitations SET rewarded_at = ?, bonus = ?, job_id = ? WHERE invitee_id = ? AND rewarded_at IS NULL",
        (now, bonus, job_id, invitee_id),
    )
    if changed != 1:
        return
    inviter = int(found["inviter_id"])
    for user_id in (invitee_id, inviter) if inviter > 0 else (invitee_id,):  # negative: a pseudonym
        await tx.execute(
            "INSERT INTO ledger (user_id, kind, amount, paid, note, created_at) VALUES (?, 'invite_bonus', ?, 0, ?, ?)",
            (user_id, bonus, job_id, now),
        )


async def forget(tx: Tx, user_id: int, pseudonym: int, fingerprint: str, now: float) -> None:
    """/forget: the person's code goes, their invitations name the pseudonym their rows moved to
    (so they still count once, and a pending one is never rewarded), and their fingerprint stays,
    so that coming back is not coming new."""
    await tx.execute("DELETE FROM invite_codes WHERE user_id = ?", (user_id,))
    await tx.execute("UPDATE invitations SET invitee_id = ? WHERE invitee_id = ?", (pseudonym, user_id))
    await tx.execute("UPDATE invitations SET inviter_id = ? WHERE inviter_id = ?", (pseudonym, user_id))
    await tx.execute(
        "INSERT INTO former_users (fingerprint, forgot_at) VALUES (?, ?) ON CONFLICT (fingerprint) DO NOTHING",
        (fingerprint, now),
    )


class Invites:
    """The codes people share, and the figures and checks over invitations."""

    def __init__(self, db: Store) -> None:
        self.db = db

    async def code_of(self, user_id: int) -> str:
        """The person's invitation code, made on first asking."""

        async def work(tx: Tx) -> str:
            row = await tx.fetchone("SELECT code FROM invite_codes WHERE user_id = ?", (user_id,))
            if row is not None:
                return str(row["code"])
            code = secrets.token_urlsafe(CODE_BYTES)
            await tx.execute(
                "INSERT INTO invite_codes (code, user_id, created_at) VALUES (?, ?, ?)", (code, user_id, time.time())
            )
            return code

        return await self.db.transaction(work, user=user_id)

    async def rewarded_by(self, job_id: str) -> Reward | None:
        """The invitation the delivered job ``job_id`` rewarded, if it did."""
        row = await self.db.fetchone(
            "SELECT i.bonus, u.chat_id, u.language FROM invitations i"
            " LEFT JOIN users u ON u.user_id = i.inviter_id AND i.inviter_id > 0 WHERE i.job_id = ?",
            (job_id,),
        )
        if row is None:
            return None
        return Reward(int(row["bonus"]), row["chat_id"], row["language"] or "en")

    async def figures(self, since: float = 0.0) -> InviteFigures:
        """People invited since ``since``, those rewarded, and the credits given for them."""
        rows = await self.db.report(
            "SELECT COUNT(*) AS invited, COUNT(rewarded_at) AS rewarded FROM invitations WHERE created_at >= ?",
            (since,),
        )
        given = await self.db.report(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM ledger WHERE kind = 'invite_bonus' AND created_at >= ?",
            (since,),
        )
        return InviteFigures(int(rows[0]["invited"]), int(rows[0]["rewarded"]), int(given[0]["n"]))

    async def problems(self) -> list[str]:
        """Every rewarded invitation gave its bonus to the newcomer and (unless they had used
        /forget by then) the inviter, and no bonus was given for anything else."""
        rows = await self.db.report(
            "SELECT i.job_id, i.bonus, i.inviter_id, COALESCE(SUM(l.amount), 0) AS given, COUNT(l.id) AS rows"
            " FROM invitations i LEFT JOIN ledger l ON l.kind = 'invite_bonus' AND l.note = i.job_id"
            " WHERE i.rewarded_at IS NOT NULL GROUP BY i.job_id, i.bonus, i.inviter_id"
        )
        problems = [
            f"invitation rewarded by job {row['job_id']}: {row['given']} credits given in {row['rows']} rows"
            for row in rows
            if row["rows"] not in (1, 2) or row["given"] != row["bonus"] * row["rows"]
        ]
        orphans = await self.db.report(
            "SELECT note FROM ledger l WHERE kind = 'invite_bonus'"
            " AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.job_id = l.note)"
        )
        return problems + [
            f"ledger: an invitation bonus for {row['note']}, which rewarded no invitation" for row in orphans
        ]
