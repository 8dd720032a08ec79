"""Which worker drives which job (bot/jobs/): a lease is the job row's ``owner`` and ``lease_until``,
by the database's clock. Workers claim unfinished jobs no one holds (or whose lease ran out),
renew what they hold, and hand leases back; :class:`LeasedJobs` is every write a driver makes,
each fenced by its lease."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection
from typing import Any, ParamSpec, TypeVar

from bot.storage.jobs import ACTIVE_STATES, UNFINISHED, Job, Jobs, JobState
from bot.storage.store import DATABASE_ERRORS, Store, StoreFailed


class Leases:
    def __init__(self, db: Store, jobs: Jobs) -> None:
        self.db = db
        self.jobs = jobs

    async def claim(
        self, owner: str, lease: float, limit: int, *, take_over: bool = False, timeout: float | None = None
    ) -> list[str]:
        """Claim up to ``limit`` unfinished jobs that no worker holds (or whose lease ran out),
        oldest first, for ``lease`` seconds; their ids. ``take_over`` claims every unfinished job
        whoever held it: for a database only this process uses, at start. ``timeout`` as for
        :meth:`renew`."""
        clock = self.db.clock
        # Taking over, the jobs this process claimed already are left out: each batch is a new one.
        free = "(owner IS NULL OR owner <> ?)" if take_over else f"(owner IS NULL OR lease_until < {clock})"
        rows = await self.db.fetchall(
            f"UPDATE jobs SET owner = ?, lease_until = {clock} + ? WHERE id IN ("
            f"SELECT id FROM jobs WHERE ({UNFINISHED}) AND {free} ORDER BY created_at LIMIT ?{self.db.skip_locked}"
            ") RETURNING id",
            (owner, lease, owner, limit) if take_over else (owner, lease, limit),
            timeout=timeout,
        )
        return [row["id"] for row in rows]

    async def claim_one(self, job_id: str, owner: str, lease: float, *, timeout: float | None = None) -> bool:
        """Claim one unfinished job unless another worker's lease on it still runs. ``timeout`` as
        for :meth:`renew`."""
        clock = self.db.clock
        return (
            await self.db.write(
                f"UPDATE jobs SET owner = ?, lease_until = {clock} + ? WHERE id = ?"
                f" AND ({UNFINISHED}) AND (owner IS NULL OR owner = ? OR lease_until < {clock})",
                (owner, lease, job_id, owner),
                timeout=timeout,
            )
            == 1
        )

    async def seconds_to_next_expiry(self, owner: str, *, timeout: float | None = None) -> float | None:
        """Seconds until the first lease another worker holds runs out (0 if one already did),
        or None when no other worker holds an unfinished job. ``timeout`` as for :meth:`renew`."""
        row = await self.db.fetchone(
            f"SELECT MIN(lease_until) - {self.db.clock} AS left FROM jobs"
            f" WHERE ({UNFINISHED}) AND owner IS NOT NULL AND owner <> ?",
            (owner,),
            timeout=timeout,
        )
        if row is None or row["left"] is None:
            return None
        return max(0.0, float(row["left"]))

    async def renew(
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

    def leased(self, owner: str, lease: float, *, timeout: float | None = None) -> LeasedJobs:
        """The writes of the driver that holds leases of ``lease`` seconds as ``owner``, each given
        ``timeout`` (as for :meth:`renew`)."""
        return LeasedJobs(self, owner, lease, timeout=timeout)

    async def hand_back(self, job_id: str, owner: str, *, timeout: float | None = None) -> None:
        """``timeout`` as for :meth:`renew`."""
        await self.db.write(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?",
            (job_id, owner),
            timeout=timeout,
        )

    async def hand_back_all(self, owner: str, *, timeout: float | None = None) -> None:
        """Give back every job ``owner`` holds: a worker stopping lets others take them at once.
        ``timeout`` as for :meth:`renew`."""
        await self.db.write(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,), timeout=timeout
        )


P = ParamSpec("P")
T = TypeVar("T")


def _stored(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``method`` with the database's errors raised as StoreFailed."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except StoreFailed:
            raise
        except DATABASE_ERRORS as err:
            raise StoreFailed(f"{type(err).__name__}: {err}") from err

    return call


class LeasedJobs:
    """Every write a job's driver makes (bot/jobs/, and the delivery it runs): each also compares
    the lease holder. A worker whose lease ran out and was taken over (it stalled, or lost the
    database for a while) so changes nothing: it cannot move ``queued -> submitting`` after
    another claimed the job (which would fail it as interrupted and refund it while the first
    one's paid submission goes through), nor settle, deliver or record what the other does.
    A refused write returns False; :meth:`holds` tells a refusal by state from a lost lease. A
    failed one raises StoreFailed, as :meth:`job` does (the driver leaves the job as stored).

    Each read and write is given ``timeout`` (asyncpg's own, as :meth:`Leases.renew` is): without
    one, a statement sent on a connection whose server fell silent held its driver for good,
    cancelling it included, while the keeper renewed the lease on other connections: the job was
    never finished, nor taken over."""

    def __init__(self, leases: Leases, owner: str, lease: float, *, timeout: float | None = None) -> None:
        self.leases = leases
        self._jobs = leases.jobs
        self.owner = owner
        #: Seconds a live transition renews the lease for (the keeper's lease).
        self.lease = lease
        self.timeout = timeout

    @_stored
    async def transition(
        self, job_id: str, from_states: tuple[str, ...], to_state: str, *, live: bool = False, **fields: Any
    ) -> bool:
        """``live``: only while the lease still runs, and renewed for a whole lease in the same
        write. The step starts what a worker taking the job over would not know of (a task sent to
        a provider): the call after it has a whole lease to reach the provider before another
        worker may take the job over."""
        return await self._jobs.transition(
            job_id,
            from_states,
            to_state,
            holder=self.owner,
            renew=self.lease if live else None,
            timeout=self.timeout,
            **fields,
        )

    @_stored
    async def update(self, job_id: str, **fields: Any) -> bool:
        return await self._jobs.update(job_id, holder=self.owner, timeout=self.timeout, **fields)

    @_stored
    async def settle(
        self, job: Job, to_state: JobState, *, from_states: tuple[JobState, ...] = ACTIVE_STATES, **fields: Any
    ) -> bool:
        return await self._jobs.settle(
            job, to_state, from_states=from_states, holder=self.owner, timeout=self.timeout, **fields
        )

    @_stored
    async def begin_delivery(self, job_id: str) -> bool:
        return await self._jobs.begin_delivery(job_id, holder=self.owner, timeout=self.timeout)

    @_stored
    async def record_part(self, job_id: str, sent_parts: list[str]) -> bool:
        return await self._jobs.record_part(job_id, sent_parts, holder=self.owner, timeout=self.timeout)

    @_stored
    async def end_delivery(self, job_id: str) -> bool:
        return await self._jobs.end_delivery(job_id, holder=self.owner, timeout=self.timeout)

    @_stored
    async def job(self, job_id: str) -> Job | None:
        """The job's row as stored (whoever holds it)."""
        return await self._jobs.get(job_id, timeout=self.timeout)

    @_stored
    async def holds(self, job_id: str) -> bool:
        """Whether this driver still holds the job's lease."""
        row = await self.leases.db.fetchone("SELECT owner FROM jobs WHERE id = ?", (job_id,), timeout=self.timeout)
        return row is not None and row["owner"] == self.owner

    @_stored
    async def hand_back(self, job_id: str) -> None:
        await self.leases.hand_back(job_id, self.owner, timeout=self.timeout)
