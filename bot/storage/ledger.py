"""The credit ledger: append-only rows whose sums are every balance (docs/architecture.md,
"Credits: a ledger"). A job's hold, its capture or release and /forget's move of a user's rows are
written here too, but inside the transactions of the jobs and users repositories: the functions
that take a ``Tx`` (and :meth:`Ledger.grant_daily`, :meth:`Ledger.plan_hold`) run in the caller's
transaction and never open one of their own."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.invites import Invites
from bot.storage.store import Store, Tx

# Balance is derived from the ledger: holds, refunds and debts take credits away, releases give
# them back, a capture only settles a hold (the credits already left with the hold). `paid` is
# the part of a row that is bought credits; the rest is free credits (daily top-up, admin grants).
# A debt is what a user who used /forget owed (a refunded pack already spent): taken from their
# Telegram id and given back to the pseudonym their rows moved to ('debt_carried').
_SIGNED = (
    "CASE kind WHEN 'hold' THEN -{0} WHEN 'refund' THEN -{0} WHEN 'debt' THEN -{0} WHEN 'capture' THEN 0 ELSE {0} END"
)
BALANCE_SQL = f"SELECT COALESCE(SUM({_SIGNED.format('amount')}), 0) FROM ledger WHERE user_id = ?"
#: Bought credits left (negative when a refunded pack had been spent).
BOUGHT_SQL = f"SELECT COALESCE(SUM({_SIGNED.format('paid')}), 0) FROM ledger WHERE user_id = ?"

#: Bought credits of a ledger user set aside by refunds under way (bot/storage/payments.py): not
#: to be spent. Parameters: reservations newer than this (seconds since the epoch), the user.
RESERVED_SQL = """
SELECT COALESCE(SUM(p.credits), 0) FROM payments p
JOIN ledger l ON l.payment = p.charge_id AND l.kind = 'purchase'
WHERE p.refund_started_at IS NOT NULL AND p.refunded_at IS NULL AND p.refund_started_at > ? AND l.user_id = ?
"""
#: Seconds a refund under way sets credits aside: far longer than Telegram takes to answer
#: refundStarPayment; a reservation left by a process that died in between lapses then.
REFUND_RESERVATION = 300.0

#: Free credits held by jobs not yet settled (captured or released).
_FREE_ON_HOLD_SQL = """
SELECT COALESCE(SUM(h.amount - h.paid), 0) FROM ledger h
WHERE h.user_id = ? AND h.kind = 'hold' AND NOT EXISTS (
    SELECT 1 FROM ledger s WHERE s.job_id = h.job_id AND s.kind IN ('capture', 'release'))
"""

#: How a job's hold is settled, by the state the job ended in (bot/storage/jobs.JobState's
#: values); a job in any other state is active and its hold unsettled.
SETTLED_BY = {"succeeded": "capture", "failed": "release", "cancelled": "release"}


class InsufficientCredits(Exception):
    def __init__(self, balance: int, price: int) -> None:
        super().__init__(f"balance {balance} < price {price}")
        self.balance = balance
        self.price = price


class OwesCredits(Exception):
    """A refunded pack had been spent: no new order until bought credits are back above zero."""

    def __init__(self, owed: int) -> None:
        super().__init__(f"owes {owed} bought credits")
        self.owed = owed


@dataclass(frozen=True)
class Credits:
    total: int
    #: Bought credits left; below zero when a refunded pack had been spent.
    bought: int

    @property
    def free(self) -> int:
        return self.total - self.bought


def utc_day(now: float | None = None) -> str:
    return datetime.fromtimestamp(now if now is not None else time.time(), UTC).date().isoformat()


async def balance(tx: Tx, user_id: int) -> int:
    return await tx.number(BALANCE_SQL, (user_id,))


async def bought(tx: Tx, user_id: int) -> int:
    return await tx.number(BOUGHT_SQL, (user_id,))


async def hold(tx: Tx, user_id: int, job_id: str, price: int, paid: int, now: float) -> None:
    """Hold a new job's price (``paid`` of it bought credits), in the transaction that inserts the
    job (after its row: the hold names it)."""
    await tx.execute(
        "INSERT INTO ledger (user_id, kind, amount, paid, job_id, created_at) VALUES (?, 'hold', ?, ?, ?, ?)",
        (user_id, price, paid, job_id, now),
    )


async def settle_hold(tx: Tx, job_id: str, *, captured: bool, now: float) -> None:
    """Capture or release the job's hold, in the transaction that ends the job. Settled as held: a
    release gives back free and bought credits as they were taken."""
    await tx.execute(
        "INSERT INTO ledger (user_id, kind, amount, paid, job_id, created_at)"
        " SELECT user_id, ?, amount, paid, job_id, CAST(? AS DOUBLE PRECISION) FROM ledger"
        " WHERE job_id = ? AND kind = 'hold'",
        ("capture" if captured else "release", now, job_id),
    )


async def move_to_pseudonym(tx: Tx, user_id: int, pseudonym: int) -> None:
    """/forget: the user's rows name the pseudonym (the one update the append-only trigger allows)."""
    await tx.execute("UPDATE ledger SET user_id = ? WHERE user_id = ?", (pseudonym, user_id))


async def keep_debt(tx: Tx, user_id: int, pseudonym: int, owed: int, now: float, note: str = "kept by /forget") -> None:
    """/forget of a user who owes ``owed`` bought credits (or a refund, after it, of credits they
    had spent): a ``debt_carried`` entry squares the pseudonym's books and a ``debt`` entry takes
    the same credits from the Telegram id."""
    for debtor, kind in ((pseudonym, "debt_carried"), (user_id, "debt")):
        await tx.execute(
            "INSERT INTO ledger (user_id, kind, amount, paid, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (debtor, kind, owed, owed, note, now),
        )


class Ledger:
    """Balances, the daily top-up, admin grants, and the check that the books balance."""

    def __init__(
        self,
        db: Store,
        daily_free: int,
        today: Callable[[], str] = utc_day,
        fingerprint_key: bytes = b"photobot",
    ) -> None:
        self.db = db
        self.daily_free = daily_free
        #: The UTC day of the daily free credits (a parameter so that tests can turn the day).
        self.today = today
        self._fingerprint_key = fingerprint_key

    def fingerprint(self, user_id: int) -> str:
        """What is kept of a person after /forget: a keyed hash of their id (no second top-up the
        same day, and never coming new to an invitation)."""
        return hmac.new(self._fingerprint_key, str(user_id).encode(), hashlib.sha256).hexdigest()

    async def grant_daily(self, tx: Tx, user_id: int) -> None:
        """Top the free credits up to ``daily_free`` once per UTC day; free credits above it are
        kept, bought credits do not count. Free credits on hold count as the user's: a job that
        fails after midnight gives them back, and they must not pile up on top of a full top-up."""
        day = self.today()
        granted = await tx.fetchone(
            "SELECT 1 FROM ledger WHERE user_id = ? AND kind = 'daily_grant' AND day = ?", (user_id, day)
        )
        if granted:
            return
        held = await tx.number(_FREE_ON_HOLD_SQL, (user_id,))
        free = await balance(tx, user_id) - await bought(tx, user_id)
        amount = max(0, self.daily_free - free - held)
        forgot_today = await tx.fetchone(
            "SELECT 1 FROM forgotten_today WHERE fingerprint = ? AND day = ?", (self.fingerprint(user_id), day)
        )
        if forgot_today:  # back the same day after /forget: today's credits were given already
            amount = 0
        await tx.execute(
            "INSERT INTO ledger (user_id, kind, amount, day, created_at) VALUES (?, 'daily_grant', ?, ?, ?)",
            (user_id, amount, day, time.time()),
        )

    async def plan_hold(self, tx: Tx, user_id: int, price: int) -> int:
        """Before holding ``price`` for a new job: grant today's credits, then raise OwesCredits or
        InsufficientCredits when the user may not spend it; the part of it that is bought credits
        (free credits go first)."""
        await self.grant_daily(tx, user_id)
        total, bought_left = await balance(tx, user_id), await bought(tx, user_id)
        # Bought credits a refund under way takes back are not to be spent.
        reserved = await tx.number(RESERVED_SQL, (time.time() - REFUND_RESERVATION, user_id))
        total, bought_left = total - reserved, bought_left - reserved
        if bought_left < 0:
            raise OwesCredits(-bought_left)
        if total < price:
            raise InsufficientCredits(total, price)
        return max(0, price - (total - bought_left))

    async def balance(self, user_id: int) -> int:
        return (await self.credits(user_id)).total

    async def credits(self, user_id: int) -> Credits:
        """The user's credits after today's top-up: all, and how many of them were bought."""

        async def work(tx: Tx) -> Credits:
            await self.grant_daily(tx, user_id)
            return Credits(await balance(tx, user_id), await bought(tx, user_id))

        return await self.db.transaction(work, user=user_id)

    async def admin_grant(self, user_id: int, amount: int, note: str) -> int:
        async def work(tx: Tx) -> int:
            await tx.execute(
                "INSERT INTO ledger (user_id, kind, amount, note, created_at) VALUES (?, 'admin_grant', ?, ?, ?)",
                (user_id, amount, note, time.time()),
            )
            return await balance(tx, user_id)

        return await self.db.transaction(work, user=user_id)

    async def problems(self) -> list[str]:
        """Every way the ledger fails to balance; empty when it is consistent."""
        problems = []
        rows = await self.db.report(
            """
            SELECT j.id, j.state, j.price,
                   SUM(CASE WHEN l.kind = 'hold' THEN l.amount END) AS held,
                   SUM(CASE WHEN l.kind = 'capture' THEN l.amount END) AS captured,
                   SUM(CASE WHEN l.kind = 'release' THEN l.amount END) AS released,
                   SUM(CASE WHEN l.kind = 'hold' THEN l.paid END) AS held_paid,
                   SUM(CASE WHEN l.kind IN ('capture', 'release') THEN l.paid END) AS settled_paid
            FROM jobs j LEFT JOIN ledger l ON l.job_id = j.id GROUP BY j.id
            """
        )
        for row in rows:
            held, captured, released = row["held"], row["captured"], row["released"]
            if held != row["price"]:
                problems.append(f"job {row['id']}: hold {held} != price {row['price']}")
            if row["settled_paid"] is not None and row["settled_paid"] != row["held_paid"]:
                problems.append(f"job {row['id']}: settled {row['settled_paid']} bought credits of {row['held_paid']}")
            settled = (captured or 0) + (released or 0)
            settlement = SETTLED_BY.get(row["state"])
            if settlement is None and settled:
                problems.append(f"job {row['id']}: settled while {row['state']}")
            if settlement == "capture" and captured != held:
                problems.append(f"job {row['id']}: succeeded but captured {captured} of {held}")
            if settlement == "release" and released != held:
                problems.append(f"job {row['id']}: {row['state']} but released {released} of {held}")
        problems += await self._payment_problems()
        problems += await Invites(self.db).problems()
        # A balance goes below zero only where a refund took back credits already spent (or where
        # /forget kept such a debt), and every debt kept was given back to a pseudonym.
        negative = await self.db.report(
            f"SELECT user_id, ({BALANCE_SQL.replace('?', 'u.user_id')}) AS bal,"
            f" ({BOUGHT_SQL.replace('?', 'u.user_id')}) AS bought,"
            " EXISTS (SELECT 1 FROM ledger r WHERE r.user_id = u.user_id AND r.kind IN ('refund', 'debt')) AS refunded"
            " FROM users u"
        )
        for r in negative:
            if (r["bal"] < 0 or r["bought"] < 0) and not r["refunded"]:
                problems.append(f"user {r['user_id']}: negative balance {r['bal']} ({r['bought']} bought)")
            if r["bal"] - r["bought"] < 0:
                problems.append(f"user {r['user_id']}: negative free credits {r['bal'] - r['bought']}")
        debts = await self.db.report(
            "SELECT COALESCE(SUM(CASE kind WHEN 'debt' THEN amount ELSE -amount END), 0) AS n FROM ledger"
            " WHERE kind IN ('debt', 'debt_carried')"
        )
        if debts and debts[0]["n"]:
            problems.append(f"ledger: debts kept and carried differ by {debts[0]['n']}")
        return problems

    async def _payment_problems(self) -> list[str]:
        """Every payment added its pack's credits once (an unmatched one none), and a refund took
        back exactly those."""
        rows = await self.db.report(
            """
            SELECT p.charge_id, p.credits, p.refunded_at,
                   (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'purchase' AND payment = p.charge_id)
                     AS bought,
                   (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'refund' AND payment = p.charge_id)
                     AS refunded
            FROM payments p
            """
        )
        problems = []
        for row in rows:
            if row["bought"] != row["credits"]:
                problems.append(f"payment {row['charge_id']}: added {row['bought']} of {row['credits']} credits")
            expected = row["credits"] if row["refunded_at"] is not None else 0
            if row["refunded"] != expected:
                problems.append(f"payment {row['charge_id']}: refund took {row['refunded']}, expected {expected}")
        orphans = await self.db.report(
            "SELECT payment FROM ledger l WHERE kind IN ('purchase', 'refund')"
            " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.charge_id = l.payment)"
        )
        problems += [f"ledger: {r['payment']} names no payment" for r in orphans]
        return problems
