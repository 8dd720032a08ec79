"""Jobs: what a user ordered, where it is (:class:`JobState`), what it came to, and the queries
over them. Every state change is a compare-and-set; those a job's driver makes go through
bot/storage/leases.LeasedJobs, which also names the lease holder.

A job and its credit hold are one aggregate with the ledger's rows about it: creating a job holds
its price and settling it captures or releases the hold, each in one transaction, through the
ledger's functions that take the open ``Tx`` (bot/storage/ledger.py)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.storage import invites, ledger
from bot.storage.ledger import Ledger
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
    (:meth:`Jobs.past_orders`) lists the purchase in the preview's stead."""
    return PURCHASE + preview_id


#: Seconds over which free previews are counted (``Jobs.create``'s ``previews_per_hour``).
PREVIEW_WINDOW = 3600.0
#: The error of a preview the engine was too busy to start (providers.errors.EngineBusy): it made
#: nothing, so it does not count toward the bound.
_NEVER_STARTED = "engine_busy"
#: Jobs that still need work: not finished, or finished but not yet told to the user (the
#: predicate of the ``jobs_unfinished`` index, word for word).
UNFINISHED = "state IN ('queued', 'submitting', 'running') OR delivery IS NULL OR delivery = 'sending'"


class AlreadyPlaced(Exception):
    """The summary was confirmed before: its job exists, the first of ``parts`` jobs that order
    placed (fewer than the confirmed order has where a preview was bought on its own before)."""

    def __init__(self, job_id: str, parts: int = 1) -> None:
        super().__init__(f"placed as job {job_id}")
        self.job_id = job_id
        self.parts = parts


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


class ActiveJobs(Exception):
    """The user still has unfinished jobs; /forget waits for them."""

    def __init__(self, count: int = 1) -> None:
        super().__init__(f"{count} unfinished jobs")
        self.count = count


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
    #: It could not be measured when it came (the local engine busy, say): its caption says so.
    unmeasured: bool = False
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
    #: of an ID photo: :meth:`Jobs.create_many`); None for an order of one job.
    order_group: str | None = None
    #: Seconds from each sending to the deadline, as placed (None: placed before it was kept).
    deadline_span: float | None = None

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
            deadline_span=row["deadline_span"],
        )

    def files(self) -> set[str]:
        """Every stored file the job uses: its input, files in its options, its results."""
        refs = {self.input_ref} if self.input_ref else set()
        refs |= {ref for value in self.options.values() if (ref := linked_ref(value))}
        if self.result:
            refs |= {*self.result.files, *self.result.extra_files}
        return refs


def _being_made_or_sent(job: Job) -> bool:
    """Whether /forget waits for the job: it is being made, or it was made (and paid for) and its
    files are not all sent yet. A failed or cancelled job's status is only text: no wait."""
    return job.state in ACTIVE_STATES or (job.state == JobState.SUCCEEDED and job.delivery != "done")


async def files_to_forget(tx: Tx, user_id: int) -> list[str]:
    """/forget, first: every stored file the user's jobs use; raises ActiveJobs while one of them
    is unfinished, or finished and its result not yet delivered (deleting its files then charged
    for a result that never came: a delivery Telegram put off reads them again)."""
    rows = await tx.fetchall("SELECT * FROM jobs WHERE user_id = ?", (user_id,))
    jobs = [Job.from_row(row) for row in rows]
    if waiting := sum(map(_being_made_or_sent, jobs)):
        raise ActiveJobs(waiting)
    return sorted({ref for job in jobs for ref in job.files()})


#: Deletes what /forget kept of previews made before the given time (see keep_previews).
_FORGET_OLD_PREVIEWS = "DELETE FROM forgotten_previews WHERE made_at <= ?"


async def keep_previews(tx: Tx, user_id: int, fingerprint: str, now: float) -> None:
    """/forget, before :func:`move_to_pseudonym`: the free previews the user made in the last hour
    kept by ``fingerprint`` (their service, provider and time, nothing else), so that the hourly
    bound holds across it (Jobs._check_previews); those an hour old go."""
    await tx.execute(_FORGET_OLD_PREVIEWS, (now - PREVIEW_WINDOW,))
    rows = await tx.fetchall(
        "SELECT service, provider, options, state, error, created_at FROM jobs WHERE user_id = ? AND created_at > ?",
        (user_id, now - PREVIEW_WINDOW),
    )
    for row in rows:
        if _counted_preview(row):
            await tx.execute(
                "INSERT INTO forgotten_previews (fingerprint, service, provider, made_at) VALUES (?, ?, ?, ?)",
                (fingerprint, row["service"], row["provider"], row["created_at"]),
            )


def _counted_preview(row: sqlite3.Row) -> bool:
    """Whether a job's row is a free preview that counts toward the hour's bound: one the engine
    was too busy to start made nothing (before, under load, Try again used up a person's free
    previews without one made)."""
    started = not (row["state"] == JobState.FAILED and row["error"] == _NEVER_STARTED)
    return bool(json.loads(row["options"]).get("preview")) and started


async def move_to_pseudonym(tx: Tx, user_id: int, pseudonym: int) -> None:
    """/forget: the user's jobs name the pseudonym and lose their chat, options and file
    references; a free preview keeps only that it was one (``{"preview": true}``, nothing of the
    person), so that /stats does not count it as an order."""
    await tx.execute(
        "UPDATE jobs SET user_id = ?, chat_id = ?, input_ref = NULL, result = NULL,"
        f" options = CASE WHEN options LIKE ? THEN '{_PREVIEW_ONLY}' ELSE '{{}}' END,"
        " status_message_id = NULL, delivery = 'done', sent_parts = '[]' WHERE user_id = ?",
        (pseudonym, pseudonym, '%"preview": true%', user_id),
    )


#: What /forget leaves of a free preview's options.
_PREVIEW_ONLY = json.dumps({"preview": True})


class Jobs:
    """Creating, reading and moving on jobs; a job's hold and settlement go to the ledger in the
    same transaction."""

    def __init__(self, db: Store, ledger: Ledger, invite_bonus: int = 0) -> None:
        self.db = db
        self.ledger = ledger
        #: Free credits each side of an invitation gets with the newcomer's first paid order.
        self.invite_bonus = invite_bonus

    async def create(self, draft: JobDraft, max_active: int | None = None, previews_per_hour: int | None = None) -> Job:
        """Insert the job and hold its price in one transaction, or raise InsufficientCredits
        (or TooManyJobs when the user already has ``max_active`` unfinished orders, TooManyPreviews
        when the draft is a preview, ``options["preview"]``, and the user had ``previews_per_hour``
        of its provider in the last hour, AlreadyPlaced when the draft's ``order_key`` was placed
        before)."""
        return (await self.create_many([draft], max_active, previews_per_hour))[0]

    async def create_many(
        self, drafts: list[JobDraft], max_active: int | None = None, previews_per_hour: int | None = None
    ) -> list[Job]:
        """One order of several jobs (more sizes of an ID photo, one Confirm): every job and the
        hold of its own price in one transaction, all or none, refused as :meth:`create` refuses
        when the credits do not cover them all. Each job is settled on its own (one that fails is
        given back, the others are charged); with more than one, each names the first in
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
                await self._place_once(tx, first.user_id, first.order_key, first.status_message_id)
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
            # The total is held or nothing; free credits go first, so the first parts take them.
            free_left = total - await self.ledger.plan_hold(tx, first.user_id, total)
            for index, (job_id, draft) in enumerate(zip(job_ids, drafts, strict=True)):
                free = min(draft.price, free_left)
                free_left -= free
                key = draft.order_key if index == 0 or draft.order_key is None else f"{draft.order_key}+{index}"
                await self._insert(tx, job_id, draft, now, key, group)
                await ledger.hold(tx, draft.user_id, job_id, draft.price, draft.price - free, now)

        await self.db.transaction(work, user=first.user_id)
        marks = ", ".join("?" * len(job_ids))
        rows = await self.db.fetchall(f"SELECT * FROM jobs WHERE id IN ({marks})", tuple(job_ids))
        by_id = {row["id"]: Job.from_row(row) for row in rows}
        return [by_id[job_id] for job_id in job_ids]

    @staticmethod
    async def _insert(
        tx: Tx, job_id: str, draft: JobDraft, now: float, order_key: str | None, group: str | None
    ) -> None:
        """The job's row (its hold follows: it names the row)."""
        await tx.execute(
            "INSERT INTO jobs (id, user_id, chat_id, service, provider, options, input_ref, price, state,"
            " created_at, updated_at, deadline, deadline_span, callback_secret, status_message_id, order_key,"
            " order_group) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)",
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
                draft.deadline_seconds,
                secrets.token_urlsafe(24),
                draft.status_message_id,
                order_key,
                group,
            ),
        )

    @staticmethod
    async def _place_once(tx: Tx, user_id: int, order_key: str, status_message_id: int | None) -> None:
        """Raise AlreadyPlaced where the order ``order_key`` (its extras' keys are ``order_key+n``)
        was placed before, unless every part of it was cancelled or failed (and given back): then
        its keys are released and Confirm places it anew. Before, a preview whose purchase was
        cancelled could never be bought (its Confirm answered "on its way" and placed nothing).
        Not so where its first part's status message is ``status_message_id`` (the summary being
        confirmed): that is this very press handled again (a bot process took over from one that
        died before marking it handled), and its order stands as it ended; before, one that had
        failed meanwhile was placed, and charged, again."""
        extra = order_key + "+"
        parts = await tx.fetchall(
            "SELECT id, order_key, state, status_message_id FROM jobs WHERE user_id = ?"
            " AND (order_key = ? OR substr(order_key, 1, ?) = ?)",
            (user_id, order_key, len(extra), extra),
        )
        if not parts:
            return
        first = next((part for part in parts if part["order_key"] == order_key), parts[0])
        this_press = status_message_id is not None and first["status_message_id"] == status_message_id
        if this_press or any(part["state"] not in (JobState.CANCELLED, JobState.FAILED) for part in parts):
            raise AlreadyPlaced(first["id"], len(parts))
        marks = ", ".join("?" * len(parts))
        await tx.execute(f"UPDATE jobs SET order_key = NULL WHERE id IN ({marks})", tuple(part["id"] for part in parts))

    async def _check_previews(self, tx: Tx, draft: JobDraft, now: float, allowed: int) -> None:
        """Raise TooManyPreviews when the user had ``allowed`` previews of the draft's service and
        provider in the hour before ``now`` (in the user's transaction: two at once count both),
        those made before a /forget in that hour included (``forgotten_previews``: without them,
        /forget gave a new hour of free previews each time)."""
        since = now - PREVIEW_WINDOW
        await tx.execute(_FORGET_OLD_PREVIEWS, (since,))
        rows = await tx.fetchall(
            "SELECT created_at, options, state, error FROM jobs WHERE user_id = ? AND service = ? AND provider = ?"
            " AND created_at > ?",
            (draft.user_id, draft.service, draft.provider, since),
        )
        forgotten = await tx.fetchall(
            "SELECT made_at FROM forgotten_previews WHERE fingerprint = ? AND service = ? AND provider = ?"
            " AND made_at > ?",
            (self.ledger.fingerprint(draft.user_id), draft.service, draft.provider, since),
        )
        made = sorted(
            [row["created_at"] for row in rows if _counted_preview(row)] + [row["made_at"] for row in forgotten]
        )
        if len(made) >= allowed:
            # The next may be made when enough of them are an hour old.
            raise TooManyPreviews(len(made), made[len(made) - allowed] + PREVIEW_WINDOW - now)

    async def forget_old_previews(self, now: float) -> int:
        """Delete what /forget kept of previews an hour old (``forgotten_previews``); how many."""
        return await self.db.write(_FORGET_OLD_PREVIEWS, (now - PREVIEW_WINDOW,))

    async def active(self, user_id: int) -> list[Job]:
        """The user's jobs not yet finished (queued, submitting or running)."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? AND state IN ('queued', 'submitting', 'running')", (user_id,)
        )
        return [Job.from_row(row) for row in rows]

    async def recent(self, user_id: int, limit: int, offset: int = 0) -> list[Job]:
        """The user's jobs, newest first: ``limit`` of them after the ``offset`` newest (/orders,
        on the ``jobs_user_recent`` index)."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
        return [Job.from_row(row) for row in rows]

    async def past_orders(self, user_id: int, limit: int, offset: int = 0) -> list[list[Job]]:
        """The user's orders for /orders, newest first, ``limit`` of them after the ``offset``
        newest: each the jobs one Confirm placed (one ``order_group``: several sizes of a photo, an
        album's photos), first first, a job of no group its own order. A free preview they bought
        is not listed: the purchase (:func:`purchase_key`) is that order, unless it failed or was
        cancelled, and then the preview is still a free preview."""
        listed = (
            "user_id = ? AND NOT EXISTS ("
            "SELECT 1 FROM jobs AS bought WHERE bought.user_id = jobs.user_id"
            " AND bought.order_key = ? || jobs.id AND bought.state NOT IN (?, ?))"
        )
        args = (user_id, PURCHASE, JobState.FAILED.value, JobState.CANCELLED.value)
        rows = await self.db.fetchall(
            "SELECT COALESCE(order_group, id) AS placed, MAX(created_at) AS placed_at FROM jobs"
            f" WHERE {listed} GROUP BY COALESCE(order_group, id)"
            " ORDER BY placed_at DESC, placed DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        groups = [row["placed"] for row in rows]
        if not groups:
            return []
        marks = ", ".join("?" for _ in groups)
        jobs = [
            Job.from_row(row)
            for row in await self.db.fetchall(
                f"SELECT * FROM jobs WHERE {listed} AND COALESCE(order_group, id) IN ({marks})"
                # the first job first, then the extras as placed (keys ``+1``… ``+9``, ``+10``…)
                " ORDER BY COALESCE(id = order_group, TRUE) DESC, LENGTH(order_key), order_key, id",
                (*args, *groups),
            )
        ]
        by_group: dict[str, list[Job]] = {group: [] for group in groups}
        for job in jobs:
            by_group[job.order_group or job.id].append(job)
        return list(by_group.values())

    async def finished(self, user_id: int, service: str, limit: int) -> list[Job]:
        """The user's latest succeeded jobs of ``service``, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE user_id = ? AND state = 'succeeded' AND service = ?"
            " ORDER BY created_at DESC LIMIT ?",
            (user_id, service, limit),
        )
        return [Job.from_row(row) for row in rows]

    async def of_order(self, group: str) -> list[Job]:
        """Every job of the order whose first job is ``group`` (``order_group``), first first."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE order_group = ? ORDER BY (id = ?) DESC, order_key", (group, group)
        )
        return [Job.from_row(row) for row in rows]

    async def placed(self, user_id: int, order_key: str) -> bool:
        """Whether the user's order ``order_key`` (a summary's nonce) was placed and stands,
        neither failed nor cancelled."""
        row = await self.db.fetchone(
            "SELECT 1 FROM jobs WHERE user_id = ? AND order_key = ? AND state NOT IN (?, ?) LIMIT 1",
            (user_id, order_key, JobState.FAILED.value, JobState.CANCELLED.value),
        )
        return row is not None

    async def first_of_order(self, user_id: int, order_key: str) -> Job | None:
        """The first part's job of the user's order ``order_key`` (the one with that key: the extras'
        are ``order_key+n``), whatever its state; None where none was placed under it (or its key
        was released: :meth:`_place_once`)."""
        row = await self.db.fetchone("SELECT * FROM jobs WHERE user_id = ? AND order_key = ?", (user_id, order_key))
        return Job.from_row(row) if row else None

    async def bought(self, user_id: int, preview_id: str) -> bool:
        """Whether the user's free preview ``preview_id`` was bought: its purchase
        (:func:`purchase_key`) stands, neither failed nor cancelled."""
        return await self.placed(user_id, purchase_key(preview_id))

    async def get(self, job_id: str, *, timeout: float | None = None) -> Job | None:
        """``timeout`` as for :meth:`Store.fetchall`."""
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,), timeout=timeout)
        return Job.from_row(row) if row else None

    async def of_user_since(self, user_id: int, since: float) -> list[Job]:
        """The user's jobs created at ``since`` (seconds since the epoch) or later."""
        rows = await self.db.fetchall("SELECT * FROM jobs WHERE user_id = ? AND created_at >= ?", (user_id, since))
        return [Job.from_row(row) for row in rows]

    async def input_used(self, ref: str) -> bool:
        """Whether a job was made from the stored photo ``ref``."""
        return await self.db.fetchone("SELECT 1 FROM jobs WHERE input_ref = ? LIMIT 1", (ref,)) is not None

    async def unfinished(self) -> list[Job]:
        """Jobs that still need work: not finished, or finished but not yet told to the user."""
        rows = await self.db.report(f"SELECT * FROM jobs WHERE {UNFINISHED} ORDER BY created_at")
        return [Job.from_row(r) for r in rows]

    async def transition(
        self,
        job_id: str,
        from_states: tuple[str, ...],
        to_state: str,
        *,
        holder: str | None = None,
        renew: float | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the state (and, with ``holder``, the lease holder); True when this caller
        made the change. ``renew``: only while the holder's lease still runs by the database's
        clock, and renewed for that many seconds from now in the same write. ``timeout`` as for
        :meth:`Store.fetchall`."""
        sql, params = self._update_sql(
            job_id, from_states, {"state": to_state, **fields}, holder, renew=(self.db.clock, renew)
        )
        return await self.db.write(sql, params, timeout=timeout) == 1

    async def update(
        self, job_id: str, *, holder: str | None = None, timeout: float | None = None, **fields: Any
    ) -> bool:
        """Set fields (only while ``holder``, if given, holds the lease); True when it did."""
        return await self.db.write(*self._update_sql(job_id, None, fields, holder), timeout=timeout) == 1

    @staticmethod
    def _update_sql(
        job_id: str,
        from_states: tuple[str, ...] | None,
        fields: dict[str, Any],
        holder: str | None = None,
        *,
        renew: tuple[str, float | None] = ("", None),
    ) -> tuple[str, list[Any]]:
        """``renew``: the database's clock and the seconds the holder's running lease is renewed for."""
        values = {
            k: v.stored() if isinstance(v, JobResult) else json.dumps(v) if isinstance(v, (dict, list)) else v
            for k, v in fields.items()
        }
        values["updated_at"] = time.time()
        clock, lease = renew
        sets = [f"{k} = ?" for k in values]
        params: list[Any] = list(values.values())
        if lease is not None:
            sets.append(f"lease_until = {clock} + ?")
            params.append(lease)
        sql = "UPDATE jobs SET " + ", ".join(sets) + " WHERE id = ?"
        params.append(job_id)
        if from_states is not None:
            sql += f" AND state IN ({', '.join('?' * len(from_states))})"
            params += from_states
        if holder is not None:
            sql += " AND owner = ?"
            params.append(holder)
        if lease is not None:
            sql += f" AND lease_until >= {clock}"
        return sql, params

    async def settle(
        self,
        job: Job,
        to_state: JobState,
        *,
        from_states: tuple[JobState, ...] = ACTIVE_STATES,
        holder: str | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> bool:
        """Move an active job (one in ``from_states``) to a terminal state and capture or release
        its hold, atomically; False when the job was no longer in one of those states (or, with
        ``holder``, no longer held by it). ``timeout`` as for :meth:`Store.transaction`."""
        update = self._update_sql(job.id, from_states, {"state": to_state, **fields}, holder)

        async def work(tx: Tx) -> bool:
            if (await tx.execute(*update)) != 1:
                return False
            now = time.time()
            await ledger.settle_hold(tx, job.id, captured=to_state == JobState.SUCCEEDED, now=now)
            if to_state == JobState.SUCCEEDED and job.price > 0:  # a newcomer's first paid order
                await invites.reward(tx, job.user_id, job.id, self.invite_bonus, now)
            return True

        return await self.db.transaction(work, user=job.user_id, timeout=timeout)

    async def begin_delivery(self, job_id: str, *, holder: str | None = None, timeout: float | None = None) -> bool:
        """Claim a finished job for delivery; only one caller ever wins (with ``holder``, only while
        its lease runs: a stale holder does not start sending what a worker taking over resends)."""
        fenced = "" if holder is None else f" AND owner = ? AND lease_until >= {self.db.clock}"
        changed = await self.db.write(
            "UPDATE jobs SET delivery = 'sending', updated_at = ? WHERE id = ? AND delivery IS NULL"
            f" AND state IN ('succeeded', 'failed', 'cancelled'){fenced}",
            (time.time(), job_id) if holder is None else (time.time(), job_id, holder),
            timeout=timeout,
        )
        return changed == 1

    async def record_part(
        self, job_id: str, sent_parts: list[str], *, holder: str | None = None, timeout: float | None = None
    ) -> bool:
        return await self.update(job_id, holder=holder, timeout=timeout, sent_parts=sent_parts)

    async def end_delivery(self, job_id: str, *, holder: str | None = None, timeout: float | None = None) -> bool:
        return await self.update(job_id, holder=holder, timeout=timeout, delivery="done")
