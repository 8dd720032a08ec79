"""Queries over users, the credit ledger and jobs. Every state change is a compare-and-set; those
a job's driver makes (through :class:`LeasedJobs`) also name the lease holder."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.storage import invites
from bot.storage.invites import Invites
from bot.storage.links import linked_ref
from bot.storage.store import Store, Tx


class JobState(StrEnum):
    """Where a job is; see docs/architecture.md for why each state exists."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING)


#: Starts the order key of a paid order that buys a free preview: :func:`purchase_key`.
PURCHASE = "pv"


def purchase_key(preview_id: str) -> str:
    """The order key of the paid order that buys the free preview ``preview_id`` (its Confirm,
    services/idphoto/preview.buy): a second Confirm finds the same job, and /orders
    (:meth:`Repository.past_orders`) lists the purchase in the preview's stead."""
    return PURCHASE + preview_id


#: Seconds over which free previews are counted (``create_job``'s ``previews_per_hour``).
PREVIEW_WINDOW = 3600.0
#: Jobs that still need work: not finished, or finished but not yet told to the user (the
#: predicate of the ``jobs_unfinished`` index, word for word).
_UNFINISHED = "state IN ('queued', 'submitting', 'running') OR delivery IS NULL OR delivery = 'sending'"

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


class AlreadyPlaced(Exception):
    """The summary was confirmed before: its job exists."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"placed as job {job_id}")
        self.job_id = job_id


class TooManyJobs(Exception):
    def __init__(self, active: int) -> None:
        super().__init__(f"{active} unfinished jobs")
        self.active = active


class TooManyPreviews(Exception):
    """The user had as many free previews of this provider in the last hour as they may."""

    def __init__(self, made: int, wait: float) -> None:
        super().__init__(f"{made} previews in the last hour; the next in {wait:.0f} s")
        self.made = made
        #: Seconds until one more may be made.
        self.wait = wait


class InsufficientCredits(Exception):
    def __init__(self, balance: int, price: int) -> None:
        super().__init__(f"balance {balance} < price {price}")
        self.balance = balance
        self.price = price


@dataclass(frozen=True)
class Credits:
    total: int
    #: Bought credits left; below zero when a refunded pack had been spent.
    bought: int

    @property
    def free(self) -> int:
        return self.total - self.bought


class OwesCredits(Exception):
    """A refunded pack had been spent: no new order until bought credits are back above zero."""

    def __init__(self, owed: int) -> None:
        super().__init__(f"owes {owed} bought credits")
        self.owed = owed


@dataclass(frozen=True)
class User:
    user_id: int
    chat_id: int
    language: str
    language_chosen: bool


class JobResult(BaseModel):
    """What a finished job came to, as its row keeps it (JSON in ``jobs.result``)."""

    model_config = ConfigDict(frozen=True)

    #: The result files (bot/ops/media refs), in order.
    files: list[str] = []
    #: By-products delivered after them (MagicTiger's face close-ups).
    extra_files: list[str] = []
    #: The provider's id of each result image, where it has one (PicWish's, for re-renders).
    image_ids: list[str | None] = []
    #: Links to videos the provider made besides (QQ's transformation video).
    videos: list[str] = []
    #: An ID photo's placement report: the rule, where the head landed, the checklist
    #: (providers/models.ResultImage.placement).
    placement: dict[str, Any] | None = None
    #: The result is a free preview whose exact file is kept, to be bought as it is
    #: (``TaskStatus.kept_preview``): never handed out before.
    kept_preview: bool = False

    def stored(self) -> str:
        """The JSON kept in the row (fields at their defaults left out), written as rows were
        before results were typed."""
        return json.dumps(self.model_dump(mode="json", exclude_defaults=True))


@dataclass(frozen=True)
class JobDraft:
    """What a conversation hands over to create a job."""

    user_id: int
    chat_id: int
    service: str
    provider: str
    options: dict[str, Any]
    input_ref: str | None
    price: int
    deadline_seconds: float
    status_message_id: int | None = None
    #: The confirmed summary's nonce: one job per summary, however often Confirm arrives.
    order_key: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    user_id: int
    chat_id: int
    service: str
    provider: str
    options: dict[str, Any]
    input_ref: str | None
    price: int
    provider_task_id: str | None
    state: JobState
    progress: int
    attempts: int
    created_at: float
    deadline: float | None
    result: JobResult | None
    error: str | None
    callback_secret: str
    status_message_id: int | None
    delivery: str | None
    sent_parts: list[str] = field(default_factory=list)
    #: The worker that holds the job's lease (bot/jobs/runner.py), if one does.
    owner: str | None = None
    #: The first job of the order this job is one of, when one Confirm placed several (more sizes
    #: of an ID photo: :meth:`Repository.create_jobs`); None for an order of one job.
    order_group: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            service=row["service"],
            provider=row["provider"],
            options=json.loads(row["options"]),
            input_ref=row["input_ref"],
            price=row["price"],
            provider_task_id=row["provider_task_id"],
            state=JobState(row["state"]),
            progress=row["progress"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            deadline=row["deadline"],
            result=JobResult.model_validate_json(row["result"]) if row["result"] else None,
            error=row["error"],
            callback_secret=row["callback_secret"],
            status_message_id=row["status_message_id"],
            delivery=row["delivery"],
            sent_parts=json.loads(row["sent_parts"]),
            owner=row["owner"],
            order_group=row["order_group"],
        )

    def files(self) -> set[str]:
        """Every stored file the job uses: its input, files in its options, its results."""
        refs = {self.input_ref} if self.input_ref else set()
        refs |= {ref for value in self.options.values() if (ref := linked_ref(value))}
        if self.result:
            refs |= {*self.result.files, *self.result.extra_files}
        return refs


def utc_day(now: float | None = None) -> str:
    return datetime.fromtimestamp(now if now is not None else time.time(), UTC).date().isoformat()


def conversation_key(chat_id: int, user_id: int) -> str:
    """How a conversation step is kept (``conversations.chat_key``, bot/telegram/persistence.py): the
    JSON of python-telegram-bot's (chat id, user id) key."""
    return json.dumps([chat_id, user_id])


class ActiveJobs(Exception):
    """The user still has unfinished jobs; /forget waits for them."""

    def __init__(self, count: int = 1) -> None:
        super().__init__(f"{count} unfinished jobs")
        self.count = count


class Repository:
    def __init__(
        self,
        db: Store,
        daily_free: int,
        today: Callable[[], str] = utc_day,
        fingerprint_key: bytes = b"photobot",
        invite_bonus: int = 0,
    ) -> None:
        self.db = db
        self.daily_free = daily_free
        #: Free credits each side of an invitation gets with the newcomer's first paid order.
        self.invite_bonus = invite_bonus
        #: The UTC day of the daily free credits (a parameter so that tests can turn the day).
        self.today = today
        self._fingerprint_key = fingerprint_key

    # --- users -----------------------------------------------------------------

    async def ensure_user(self, user_id: int, chat_id: int, language: str, invite_code: str | None = None) -> User:
        """Create the user on first sight (language from Telegram) and grant today's credits; a
        first sight through an invitation (``/start <invite_code>``) is noted (bot/storage/invites.py).
        Every update comes through here: a user already known in this chat, with the same
        language and today's credits granted, is only read."""
        known = await self.db.fetchone(
            "SELECT u.*, EXISTS (SELECT 1 FROM ledger l WHERE l.user_id = u.user_id AND l.kind = 'daily_grant'"
            " AND l.day = ?) AS granted FROM users u WHERE u.user_id = ?",
            (self.today(), user_id),
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
                await invites.record(tx, user_id, invite_code, self._fingerprint(user_id), time.time())
            await self._grant_daily(tx, user_id)
            return await tx.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))

        row = await self.db.transaction(work, user=user_id)
        assert row is not None
        return User(row["user_id"], row["chat_id"], row["language"], bool(row["language_chosen"]))

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.write("UPDATE users SET language = ?, language_chosen = 1 WHERE user_id = ?", (language, user_id))

    async def user_language(self, user_id: int) -> str | None:
        row = await self.db.fetchone("SELECT language FROM users WHERE user_id = ?", (user_id,))
        return row["language"] if row else None

    # --- credits ---------------------------------------------------------------

    @staticmethod
    async def _balance(tx: Tx, user_id: int) -> int:
        return await tx.number(BALANCE_SQL, (user_id,))

    @staticmethod
    async def _bought(tx: Tx, user_id: int) -> int:
        return await tx.number(BOUGHT_SQL, (user_id,))

    async def _grant_daily(self, tx: Tx, user_id: int) -> None:
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
        free = await self._balance(tx, user_id) - await self._bought(tx, user_id)
        amount = max(0, self.daily_free - free - held)
        forgot_today = await tx.fetchone(
            "SELECT 1 FROM forgotten_today WHERE fingerprint = ? AND day = ?", (self._fingerprint(user_id), day)
        )
        if forgot_today:  # back the same day after /forget: today's credits were given already
            amount = 0
        await tx.execute(
            "INSERT INTO ledger (user_id, kind, amount, day, created_at) VALUES (?, 'daily_grant', ?, ?, ?)",
            (user_id, amount, day, time.time()),
        )

    def _fingerprint(self, user_id: int) -> str:
        return hmac.new(self._fingerprint_key, str(user_id).encode(), hashlib.sha256).hexdigest()

    async def forget_user(self, user_id: int) -> list[str]:
        """/forget: move the user's rows to a pseudonym, so the ledger keeps balancing without
        naming them, drop their jobs' file references, and delete their invoices, kept session
        and conversation steps; the stored files to delete. Raises ActiveJobs while a job is
        unfinished. A user who owes credits (a refunded pack already spent) keeps the debt: it
        moves from the pseudonym to their Telegram id, which stays known for that (as a payment
        keeps it for refunds), so coming back does not wipe it."""
        pseudonym = -1 - secrets.randbelow(2**52)
        day = self.today()
        now = time.time()

        async def work(tx: Tx) -> list[str]:
            rows = await tx.fetchall("SELECT * FROM jobs WHERE user_id = ?", (user_id,))
            jobs = [Job.from_row(row) for row in rows]
            if any(job.state in ACTIVE_STATES for job in jobs):
                raise ActiveJobs(sum(job.state in ACTIVE_STATES for job in jobs))
            refs = sorted({ref for job in jobs for ref in job.files()})
            user = await tx.fetchone("SELECT chat_id FROM users WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM invoices WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            chats = {user_id} if user is None else {user_id, int(user["chat_id"])}
            for chat_id in chats:
                await tx.execute("DELETE FROM conversations WHERE chat_key = ?", (conversation_key(chat_id, user_id),))
            if user is None:
                return refs
            owed = -min(0, await self._bought(tx, user_id))
            await tx.execute(
                "INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (?, ?, '', 0)",
                (pseudonym, pseudonym),
            )
            await tx.execute(
                "UPDATE jobs SET user_id = ?, chat_id = ?, input_ref = NULL, result = NULL, options = '{}',"
                " status_message_id = NULL, delivery = 'done', sent_parts = '[]' WHERE user_id = ?",
                (pseudonym, pseudonym, user_id),
            )
            await tx.execute("UPDATE ledger SET user_id = ? WHERE user_id = ?", (pseudonym, user_id))
            if owed:
                # Only the id stays, for the debt: no chat, no language, no first sight.
                await tx.execute(
                    "UPDATE users SET chat_id = user_id, language = '', language_chosen = 0, first_seen = 0"
                    " WHERE user_id = ?",
                    (user_id,),
                )
                for debtor, kind in ((pseudonym, "debt_carried"), (user_id, "debt")):
                    await tx.execute(
                        "INSERT INTO ledger (user_id, kind, amount, paid, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (debtor, kind, owed, owed, "kept by /forget", now),
                    )
            else:
                await tx.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            await invites.forget(tx, user_id, pseudonym, self._fingerprint(user_id), now)
            await tx.execute("DELETE FROM forgotten_today WHERE day < ?", (day,))
            await tx.execute(
                "INSERT INTO forgotten_today (fingerprint, day) VALUES (?, ?)"
                " ON CONFLICT (fingerprint) DO UPDATE SET day = excluded.day",
                (self._fingerprint(user_id), day),
            )
            return refs

        return await self.db.transaction(work, user=user_id)

    async def balance(self, user_id: int) -> int:
        return (await self.credits(user_id)).total

    async def credits(self, user_id: int) -> Credits:
        """The user's credits after today's top-up: all, and how many of them were bought."""

        async def work(tx: Tx) -> Credits:
            await self._grant_daily(tx, user_id)
            return Credits(await self._balance(tx, user_id), await self._bought(tx, user_id))

        return await self.db.transaction(work, user=user_id)

    async def admin_grant(self, user_id: int, amount: int, note: str) -> int:
        async def work(tx: Tx) -> int:
            await tx.execute(
                "INSERT INTO ledger (user_id, kind, amount, note, created_at) VALUES (?, 'admin_grant', ?, ?, ?)",
                (user_id, amount, note, time.time()),
            )
            return await self._balance(tx, user_id)

        return await self.db.transaction(work, user=user_id)

    async def ledger_problems(self) -> list[str]:
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
            if row["state"] in ACTIVE_STATES and settled:
                problems.append(f"job {row['id']}: settled while {row['state']}")
            if row["state"] == JobState.SUCCEEDED and captured != held:
                problems.append(f"job {row['id']}: succeeded but captured {captured} of {held}")
            if row["state"] in (JobState.FAILED, JobState.CANCELLED) and released != held:
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
        """Every payment added its pack's credits once, and a refund took back exactly those."""
        rows = await self.db.report(
            """
            SELECT p.charge_id, p.credits, p.refunded_at,
                   (SELECT SUM(amount) FROM ledger WHERE kind = 'purchase' AND payment = p.charge_id) AS bought,
                   (SELECT SUM(amount) FROM ledger WHERE kind = 'refund' AND payment = p.charge_id) AS refunded
            FROM payments p
            """
        )
        problems = []
        for row in rows:
            if row["bought"] != row["credits"]:
                problems.append(f"payment {row['charge_id']}: added {row['bought']} of {row['credits']} credits")
            expected = row["credits"] if row["refunded_at"] is not None else None
            if row["refunded"] != expected:
                problems.append(f"payment {row['charge_id']}: refund took {row['refunded']}, expected {expected}")
        orphans = await self.db.report(
            "SELECT payment FROM ledger l WHERE kind IN ('purchase', 'refund')"
            " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.charge_id = l.payment)"
        )
        problems += [f"ledger: {r['payment']} names no payment" for r in orphans]
        return problems

    # --- jobs ------------------------------------------------------------------

    async def create_job(
        self, draft: JobDraft, max_active: int | None = None, previews_per_hour: int | None = None
    ) -> Job:
        """Insert the job and hold its price in one transaction, or raise InsufficientCredits
        (or TooManyJobs when the user already has ``max_active`` unfinished orders, TooManyPreviews
        when the draft is a preview, ``options["preview"]``, and the user had ``previews_per_hour``
        of its provider in the last hour, AlreadyPlaced when the draft's ``order_key`` was placed
        before)."""
        return (await self.create_jobs([draft], max_active, previews_per_hour))[0]

    async def create_jobs(
        self, drafts: list[JobDraft], max_active: int | None = None, previews_per_hour: int | None = None
    ) -> list[Job]:
        """One order of several jobs (more sizes of an ID photo, one Confirm): every job and the
        hold of its own price in one transaction, all or none, refused as :meth:`create_job`
        refuses when the credits do not cover them all. Each job is settled on its own (one that
        fails is given back, the others are charged); with more than one, each names the first in
        ``order_group``, and the order counts once against ``max_active``. The extras' order keys
        are the first's with ``+1``, ``+2``…: a second Confirm finds the first and places nothing."""
        assert drafts
        job_ids = [uuid.uuid4().hex for _ in drafts]
        group = job_ids[0] if len(drafts) > 1 else None
        now = time.time()
        first = drafts[0]
        total = sum(draft.price for draft in drafts)

        async def work(tx: Tx) -> None:
            if first.order_key is not None:
                placed = await tx.fetchone(
                    "SELECT id FROM jobs WHERE user_id = ? AND order_key = ?", (first.user_id, first.order_key)
                )
                if placed is not None:
                    raise AlreadyPlaced(placed["id"])
            if previews_per_hour is not None and first.options.get("preview"):
                await self._check_previews(tx, first, now, previews_per_hour)
            if max_active is not None:
                row = await tx.fetchone(
                    "SELECT COUNT(DISTINCT COALESCE(order_group, id)) FROM jobs"
                    " WHERE user_id = ? AND state IN ('queued', 'submitting', 'running')",
                    (first.user_id,),
                )
                if row and row[0] >= max_active:
                    raise TooManyJobs(row[0])
            await self._grant_daily(tx, first.user_id)
            balance, bought = await self._balance(tx, first.user_id), await self._bought(tx, first.user_id)
            # Bought credits a refund under way takes back are not to be spent.
            reserved = await tx.number(RESERVED_SQL, (time.time() - REFUND_RESERVATION, first.user_id))
            balance, bought = balance - reserved, bought - reserved
            if bought < 0:
                raise OwesCredits(-bought)
            if balance < total:
                raise InsufficientCredits(balance, total)
            for index, (job_id, draft) in enumerate(zip(job_ids, drafts, strict=True)):
                # Free credits first, bought ones for the rest.
                paid = max(0, draft.price - (balance - bought))
                balance, bought = balance - draft.price, bought - paid
                key = draft.order_key if index == 0 or draft.order_key is None else f"{draft.order_key}+{index}"
                await self._insert_job(tx, job_id, draft, now, paid, key, group)

        await self.db.transaction(work, user=first.user_id)
        jobs = [await self.get_job(job_id) for job_id in job_ids]
        assert all(job is not None for job in jobs)
        return [job for job in jobs if job is not None]

    @staticmethod
    async def _insert_job(
        tx: Tx, job_id: str, draft: JobDraft, now: float, paid: int, order_key: str | None, group: str | None
    ) -> None:
        """The job's row and the hold of its price (``paid`` of it bought credits)."""
        await tx.execute(
            "INSERT INTO jobs (id, user_id, chat_id, service, provider, options, input_ref, price,"
            " state, created_at, updated_at, deadline, callback_secret, status_message_id, order_key, order_group)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                draft.user_id,
                draft.chat_id,
                draft.service,
                draft.provider,
                json.dumps(draft.options, sort_keys=True),
                draft.input_ref,
                draft.price,
                now,
                now,
                now + draft.deadline_seconds,
                secrets.token_urlsafe(24),
                draft.status_message_id,
                order_key,
                group,
            ),
        )
        await tx.execute(
            "INSERT INTO ledger (user_id, kind, amount, paid, job_id, created_at) VALUES (?, 'hold', ?, ?, ?, ?)",
            (draft.user_id, draft.price, paid, job_id, now),
        )

    @staticmethod
    async def _check_previews(tx: Tx, draft: JobDraft, now: float, allowed: int) -> None:
        """Raise TooManyPreviews when the user had ``allowed`` previews of the draft's service and
        provider in the hour before ``now`` (in the user's transaction: two at once count both)."""
        rows = await tx.fetchall(
            "SELECT created_at, options FROM jobs WHERE user_id = ? AND service = ? AND provider = ?"
            " AND created_at > ?",
            (draft.user_id, draft.service, draft.provider, now - PREVIEW_WINDOW),
        )
        made = sorted(row["created_at"] for row in rows if json.loads(row["options"]).get("preview"))
        if len(made) >= allowed:
            # The next may be made when enough of them are an hour old.
            raise TooManyPreviews(len(made), made[len(made) - allowed] + PREVIEW_WINDOW - now)

    async def active_jobs(self, user_id: int) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? AND state IN ('queued', 'submitting', 'running')", (user_id,)
        )
        return [Job.from_row(row) for row in rows]

    async def recent_jobs(self, user_id: int, limit: int, offset: int = 0) -> list[Job]:
        """The user's jobs, newest first: ``limit`` of them after the ``offset`` newest (/orders,
        on the ``jobs_user_recent`` index)."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
        return [Job.from_row(row) for row in rows]

    async def past_orders(self, user_id: int, limit: int, offset: int = 0) -> list[Job]:
        """The user's orders for /orders, newest first, as :meth:`recent_jobs` pages them, but for
        free previews they bought: the purchase (:func:`purchase_key`) is that order, unless it
        failed or was cancelled, and then the preview is still a free preview."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? AND NOT EXISTS ("
            "SELECT 1 FROM jobs AS bought WHERE bought.user_id = jobs.user_id"
            " AND bought.order_key = ? || jobs.id AND bought.state NOT IN (?, ?))"
            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, PURCHASE, JobState.FAILED.value, JobState.CANCELLED.value, limit, offset),
        )
        return [Job.from_row(row) for row in rows]

    async def finished_jobs(self, user_id: int, service: str, limit: int) -> list[Job]:
        """The user's latest succeeded jobs of ``service``, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? AND state = 'succeeded' AND service = ?"
            " ORDER BY created_at DESC LIMIT ?",
            (user_id, service, limit),
        )
        return [Job.from_row(row) for row in rows]

    async def order_jobs(self, group: str) -> list[Job]:
        """Every job of the order whose first job is ``group`` (``order_group``), first first."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE order_group = ? ORDER BY (id = ?) DESC, order_key", (group, group)
        )
        return [Job.from_row(row) for row in rows]

    async def get_job(self, job_id: str) -> Job | None:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return Job.from_row(row) if row else None

    async def open_jobs(self) -> list[Job]:
        """Jobs that still need work: not finished, or finished but not yet told to the user."""
        rows = await self.db.report(f"SELECT * FROM jobs WHERE {_UNFINISHED} ORDER BY created_at")
        return [Job.from_row(r) for r in rows]

    # --- leases: which worker drives which job (bot/jobs/runner.py) -------------------------

    async def claim_jobs(self, owner: str, lease: float, limit: int, *, take_over: bool = False) -> list[str]:
        """Claim up to ``limit`` unfinished jobs that no worker holds (or whose lease ran out),
        oldest first, for ``lease`` seconds; their ids. ``take_over`` claims every unfinished job
        whoever held it: for a database only this process uses, at start."""
        clock = self.db.clock
        free = "" if take_over else f" AND (owner IS NULL OR lease_until < {clock})"
        rows = await self.db.fetchall(
            f"UPDATE jobs SET owner = ?, lease_until = {clock} + ? WHERE id IN ("
            f"SELECT id FROM jobs WHERE ({_UNFINISHED}){free} ORDER BY created_at LIMIT ?{self.db.skip_locked}"
            ") RETURNING id",
            (owner, lease, limit),
        )
        return [row["id"] for row in rows]

    async def claim_job(self, job_id: str, owner: str, lease: float) -> bool:
        """Claim one unfinished job unless another worker's lease on it still runs."""
        clock = self.db.clock
        return (
            await self.db.write(
                f"UPDATE jobs SET owner = ?, lease_until = {clock} + ? WHERE id = ?"
                f" AND ({_UNFINISHED}) AND (owner IS NULL OR owner = ? OR lease_until < {clock})",
                (owner, lease, job_id, owner),
            )
            == 1
        )

    async def seconds_to_next_expiry(self, owner: str) -> float | None:
        """Seconds until the first lease another worker holds runs out (0 if one already did),
        or None when no other worker holds an unfinished job."""
        row = await self.db.fetchone(
            f"SELECT MIN(lease_until) - {self.db.clock} AS left FROM jobs"
            f" WHERE ({_UNFINISHED}) AND owner IS NOT NULL AND owner <> ?",
            (owner,),
        )
        if row is None or row["left"] is None:
            return None
        return max(0.0, float(row["left"]))

    async def renew_leases(
        self, owner: str, lease: float, job_ids: Collection[str] | None = None, *, timeout: float | None = None
    ) -> set[str]:
        """Extend the leases ``owner`` holds on ``job_ids`` (None: on every job); the ids of those
        it still holds. Only the jobs a worker still drives: one it stopped driving (its renewals
        failed for too long) runs out, and is taken over. ``timeout``: the seconds it may wait
        for a connection and for its answer (a renewal must fail in time)."""
        chosen = "" if job_ids is None else f" AND id IN ({', '.join('?' * len(job_ids))})"
        rows = await self.db.fetchall(
            f"UPDATE jobs SET lease_until = {self.db.clock} + ? WHERE owner = ?{chosen} RETURNING id",
            (lease, owner, *(job_ids or ())),
            timeout=timeout,
        )
        return {row["id"] for row in rows}

    def leased(self, owner: str) -> LeasedJobs:
        """The writes of the driver that holds leases as ``owner``."""
        return LeasedJobs(self, owner)

    async def hand_back_lease(self, job_id: str, owner: str) -> None:
        await self.db.write(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?", (job_id, owner)
        )

    async def hand_back_leases(self, owner: str) -> None:
        """Give back every job ``owner`` holds: a worker stopping lets others take them at once."""
        await self.db.write("UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,))

    async def transition(
        self, job_id: str, from_states: tuple[str, ...], to_state: str, *, holder: str | None = None, **fields: Any
    ) -> bool:
        """Compare-and-set the state (and, with ``holder``, the lease holder); True when this
        caller made the change."""
        return await self._update(job_id, from_states, {"state": to_state, **fields}, holder)

    async def update(self, job_id: str, *, holder: str | None = None, **fields: Any) -> bool:
        """Set fields (only while ``holder``, if given, holds the lease); True when it did."""
        return await self._update(job_id, None, fields, holder)

    async def _update(
        self, job_id: str, from_states: tuple[str, ...] | None, fields: dict[str, Any], holder: str | None
    ) -> bool:
        return await self.db.write(*self._update_sql(job_id, from_states, fields, holder)) == 1

    @staticmethod
    def _update_sql(
        job_id: str, from_states: tuple[str, ...] | None, fields: dict[str, Any], holder: str | None = None
    ) -> tuple[str, list[Any]]:
        values = {
            k: v.stored() if isinstance(v, JobResult) else json.dumps(v) if isinstance(v, (dict, list)) else v
            for k, v in fields.items()
        }
        values["updated_at"] = time.time()
        sql = "UPDATE jobs SET " + ", ".join(f"{k} = ?" for k in values) + " WHERE id = ?"
        params: list[Any] = [*values.values(), job_id]
        if from_states is not None:
            sql += f" AND state IN ({', '.join('?' * len(from_states))})"
            params += from_states
        if holder is not None:
            sql += " AND owner = ?"
            params.append(holder)
        return sql, params

    async def settle(
        self,
        job: Job,
        to_state: JobState,
        *,
        from_states: tuple[JobState, ...] = ACTIVE_STATES,
        holder: str | None = None,
        **fields: Any,
    ) -> bool:
        """Move an active job (one in ``from_states``) to a terminal state and capture or release
        its hold, atomically; False when the job was no longer in one of those states (or, with
        ``holder``, no longer held by it)."""
        kind = "capture" if to_state == JobState.SUCCEEDED else "release"
        update = self._update_sql(job.id, from_states, {"state": to_state, **fields}, holder)

        async def work(tx: Tx) -> bool:
            if (await tx.execute(*update)) != 1:
                return False
            # Settled as held: a release gives back free and bought credits as they were taken.
            now = time.time()
            await tx.execute(
                "INSERT INTO ledger (user_id, kind, amount, paid, job_id, created_at)"
                " SELECT user_id, ?, amount, paid, job_id, CAST(? AS DOUBLE PRECISION) FROM ledger"
                " WHERE job_id = ? AND kind = 'hold'",
                (kind, now, job.id),
            )
            if to_state == JobState.SUCCEEDED and job.price > 0:  # a newcomer's first paid order
                await invites.reward(tx, job.user_id, job.id, self.invite_bonus, now)
            return True

        return await self.db.transaction(work, user=job.user_id)

    async def begin_delivery(self, job_id: str, *, holder: str | None = None) -> bool:
        """Claim a finished job for delivery; only one caller ever wins."""
        fenced = "" if holder is None else " AND owner = ?"
        changed = await self.db.write(
            "UPDATE jobs SET delivery = 'sending', updated_at = ? WHERE id = ? AND delivery IS NULL"
            f" AND state IN ('succeeded', 'failed', 'cancelled'){fenced}",
            (time.time(), job_id) if holder is None else (time.time(), job_id, holder),
        )
        return changed == 1

    async def record_part(self, job_id: str, sent_parts: list[str], *, holder: str | None = None) -> bool:
        return await self.update(job_id, holder=holder, sent_parts=sent_parts)

    async def end_delivery(self, job_id: str, *, holder: str | None = None) -> bool:
        return await self.update(job_id, holder=holder, delivery="done")


class LeasedJobs:
    """Every write a job's driver makes (bot/jobs/runner.py, and the delivery it runs): each also compares
    the lease holder. A worker whose lease ran out and was taken over (it stalled, or lost the
    database for a while) so changes nothing: it cannot move ``queued -> submitting`` after
    another claimed the job (which would fail it as interrupted and refund it while the first
    one's paid submission goes through), nor settle, deliver or record what the other does.
    A refused write returns False; :meth:`holds` tells a refusal by state from a lost lease."""

    def __init__(self, repo: Repository, owner: str) -> None:
        self.repo = repo
        self.owner = owner

    async def transition(self, job_id: str, from_states: tuple[str, ...], to_state: str, **fields: Any) -> bool:
        return await self.repo.transition(job_id, from_states, to_state, holder=self.owner, **fields)

    async def update(self, job_id: str, **fields: Any) -> bool:
        return await self.repo.update(job_id, holder=self.owner, **fields)

    async def settle(
        self, job: Job, to_state: JobState, *, from_states: tuple[JobState, ...] = ACTIVE_STATES, **fields: Any
    ) -> bool:
        return await self.repo.settle(job, to_state, from_states=from_states, holder=self.owner, **fields)

    async def begin_delivery(self, job_id: str) -> bool:
        return await self.repo.begin_delivery(job_id, holder=self.owner)

    async def record_part(self, job_id: str, sent_parts: list[str]) -> bool:
        return await self.repo.record_part(job_id, sent_parts, holder=self.owner)

    async def end_delivery(self, job_id: str) -> bool:
        return await self.repo.end_delivery(job_id, holder=self.owner)

    async def holds(self, job_id: str) -> bool:
        """Whether this driver still holds the job's lease."""
        row = await self.repo.db.fetchone("SELECT owner FROM jobs WHERE id = ?", (job_id,))
        return row is not None and row["owner"] == self.owner

    async def hand_back(self, job_id: str) -> None:
        await self.repo.hand_back_lease(job_id, self.owner)
