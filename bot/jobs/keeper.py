"""Lease keeping: which jobs this process drives. It claims unfinished jobs no one holds, renews
its leases every third of ``lease`` seconds, looks again sooner when another worker's lease is
about to run out, and hands leases back when a job is done or the process stops.

A worker stops driving a job once ``GIVE_UP`` of the lease has passed since its last renewal that
worked (renewals that cannot get a connection give up after ``RENEW_TIMEOUT`` of it), a third of
the lease before another may take the job over: two workers never drive one job, so a stale one
does not submit a paid task that another is failing as interrupted. What a driver writes is fenced
by the lease as well (``LeasedJobs``, :attr:`LeaseKeeper.fenced`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import Protocol

from bot.jobs.driver import wait_or_timeout
from bot.storage.leases import LeasedJobs, Leases
from bot.storage.store import DATABASE_ERRORS

log = logging.getLogger(__name__)

#: Jobs claimed at one look at the table.
CLAIM_BATCH = 100
#: Seconds after another worker's lease runs out before looking again (not before: it is taken
#: over only once it ran out by the database's clock).
LEASE_SLACK = 0.05
#: Shares of the lease: a worker stops driving a job once this much of it passed since the lease
#: was last renewed (so it has stopped a third of a lease before another may take the job), and a
#: renewal may wait this long for a connection and for its answer (so it fails in time).
GIVE_UP = 2 / 3
RENEW_TIMEOUT = 1 / 6
#: A share of the lease: each of a driver's reads and writes, a claim of one job and a hand-back
#: may wait this long for a connection and as long for its answer, as a renewal may. Without a
#: limit a statement on a connection whose server fell silent held its driver for good.
STATEMENT_TIMEOUT = 1 / 6


def process_name() -> str:
    """This process as a lease owner: its machine and pid (what an operator looks for), and a
    random part so that a pid reused after a restart is not taken for the old process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Drivers(Protocol):
    """What the lease keeper asks of whoever drives the jobs (bot/jobs/runner.JobRunner)."""

    def driving(self) -> int:
        """How many jobs are driven here now."""
        ...

    def start(self, job_id: str, *, claimed_at: float | None = None) -> None:
        """Drive a job claimed at ``claimed_at`` (monotonic)."""
        ...

    def lost(self, job_id: str, why: str) -> None:
        """Stop driving a job whose lease this process no longer holds (or soon may not)."""
        ...


class LeaseKeeper:
    def __init__(self, leases: Leases, drivers: Drivers, *, owner: str, lease: float, max_held: int) -> None:
        #: This process in the jobs' ``owner`` column, how long its claims last, how many it holds.
        self.owner = owner
        self.lease = lease
        self.max_held = max_held
        self.leases = leases
        self.drivers = drivers
        #: The driver's writes: compare-and-sets that also name this process as the lease holder.
        self.fenced: LeasedJobs = leases.leased(owner, lease, timeout=lease * STATEMENT_TIMEOUT)
        #: Jobs this process has claimed and drives (its leases), each with when (monotonic) the
        #: claim or renewal that last extended its lease was sent.
        self._held: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Set by a new job's announcement when this process held too many to take it then.
        self._more = asyncio.Event()

    def room(self) -> int:
        """How many more jobs this process may drive."""
        return self.max_held - self.drivers.driving()

    def look_again(self) -> None:
        """Look for jobs to take now rather than at the next renewal (a job was announced when
        there was no room for it)."""
        self._more.set()

    def start(self) -> None:
        """Keep the leases from now on."""
        self._task = asyncio.create_task(self._keep(), name="job-leases")

    async def claim(self, *, take_over: bool = False, timeout: float | None = None) -> int:
        """Claim unfinished jobs no one else holds, as many as there is room for, and drive them.
        ``timeout``: the seconds each batch's claim may wait for a connection and for its answer."""
        room = self.room()
        claimed = 0
        while room > 0 and not self._stopping:
            sent = time.monotonic()
            ids = await self.leases.claim(
                self.owner, self.lease, min(room, CLAIM_BATCH), take_over=take_over, timeout=timeout
            )
            for job_id in ids:
                self.drivers.start(job_id, claimed_at=sent)
            claimed += len(ids)
            room -= len(ids)
            if len(ids) < CLAIM_BATCH:
                break
        return claimed

    async def hold(self, job_id: str, claimed_at: float | None) -> bool:
        """Hold the job's lease while it is driven: claim it first unless it was claimed at
        ``claimed_at`` (monotonic); False when another worker drives it, or it needs nothing more."""
        if claimed_at is None:
            claimed_at = time.monotonic()
            if not await self.leases.claim_one(job_id, self.owner, self.lease, timeout=self.lease * STATEMENT_TIMEOUT):
                return False
        self._held[job_id] = claimed_at
        return True

    async def release(self, job_id: str) -> None:
        """Stop renewing the job's lease and hand it back (its driver is done with it)."""
        self._held.pop(job_id, None)
        await self.fenced.hand_back(job_id)

    async def _keep(self) -> None:
        """Every third of the lease: renew this process's leases, stop driving jobs it lost (it
        was stalled so long that another took them over), and claim jobs left unclaimed. Another
        worker's lease running out sooner brings the next look forward, so that a dead worker's
        jobs are taken over within ``lease`` seconds of its last renewal. A job whose lease went
        ``GIVE_UP`` of its length without a renewal that worked is no longer driven here: the
        database was out of reach, or had no connection to spare, and another worker may take it
        over once the lease runs out."""
        wait = self.lease / 3
        while True:
            oldest = min(self._held.values(), default=None)
            until_give_up = wait if oldest is None else oldest + self.lease * GIVE_UP - time.monotonic()
            await wait_or_timeout(self._more, max(0.0, min(wait, until_give_up)))
            self._more.clear()
            wait = self.lease / 3
            stale = time.monotonic() - self.lease * GIVE_UP
            for job_id in [job_id for job_id, renewed in self._held.items() if renewed <= stale]:
                self._lost(job_id, "its lease could not be renewed in time")
            sent = time.monotonic()
            # Only the jobs this renewal names are judged by it: a claim that comes back while it
            # waits for the database adds a job it did not ask about.
            asked = list(self._held)
            try:
                still = (
                    await self.leases.renew(self.owner, self.lease, asked, timeout=self.lease * RENEW_TIMEOUT)
                    if asked
                    else set()
                )
            except DATABASE_ERRORS as err:  # out of reach, or no connection free: the drivers' writes wait too
                log.warning("could not renew the job leases: %s", err or type(err).__name__)
                continue
            for job_id in asked:
                if (renewed := self._held.get(job_id)) is None:
                    continue  # done meanwhile
                if job_id in still:
                    self._held[job_id] = max(renewed, sent)
                elif renewed < sent:  # held before this renewal, yet not renewed: another has it
                    self._lost(job_id, "its lease was taken over")
            # Bounded as the renewal is: a look that never ends would stop every renewal after it. Each
            # statement is given the limit too: cancelled from outside only, one sent to a server that
            # stopped answering kept its pooled connection, and the look, until that connection died
            # (with it, asyncpg waits at most the limit again for the cancellation, then closes it).
            try:
                limit = self.lease * RENEW_TIMEOUT
                async with asyncio.timeout(limit):
                    await self.claim(timeout=limit)
                async with asyncio.timeout(limit):
                    expiry = await self.leases.seconds_to_next_expiry(self.owner, timeout=limit)
            except DATABASE_ERRORS as err:
                log.warning("could not look for jobs to take: %s", err or type(err).__name__)
                continue
            if expiry is not None and self.room() > 0:
                wait = min(wait, expiry + LEASE_SLACK)

    def _lost(self, job_id: str, why: str) -> None:
        self._held.pop(job_id, None)
        self.drivers.lost(job_id, why)

    def stop_claiming(self) -> None:
        """Claim no more jobs; the leases held are still renewed (the process is stopping, and lets
        what is under way finish within them)."""
        self._stopping = True

    async def stop(self) -> None:
        """Stop renewing and claiming (the leases stay held until :meth:`hand_back_all`)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def hand_back_all(self) -> None:
        """Give every lease back, so that another worker takes the jobs over at once."""
        if self._held:
            try:
                await self.leases.hand_back_all(self.owner, timeout=self.lease * STATEMENT_TIMEOUT)
            except DATABASE_ERRORS as err:  # they are taken over when the leases run out
                log.warning("could not give back the job leases: %s", err)
            self._held.clear()
