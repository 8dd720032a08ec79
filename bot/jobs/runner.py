"""The job runner: one asyncio task per job, each driven by the state machine (bot/jobs/driver.py)
while this process holds the job's lease (bot/jobs/keeper.py).

A process drives only jobs it holds a lease on (``owner``, ``lease_until``): it claims them,
renews its leases every third of ``lease`` seconds, and gives them back when they are done or it
stops. New jobs and provider callbacks are announced on the database (``Store.notify``:
PostgreSQL's NOTIFY, or within the process on SQLite); every worker also looks for unclaimed jobs
at each renewal, so a job whose worker died (its lease ran out) is taken over by another: a task
already submitted is followed, never submitted again, and its delivery stays a compare-and-set
that only one process wins. On SQLite one process has the database to itself and takes every
unfinished job at start.

Leases are fenced: every write the driver makes (``LeasedJobs``) compares the lease holder as well
as the state, so a worker that stalled past its lease and was taken over changes nothing, and a
worker stops driving a job before another may take it over (``keeper.GIVE_UP``).
"""

from __future__ import annotations

import asyncio
import functools
import logging

from bot.jobs.driver import DriverDeps, JobDriver
from bot.jobs.keeper import LeaseKeeper, process_name
from bot.jobs.settings import RunnerSettings
from bot.storage.jobs import Job, Jobs, JobState
from bot.storage.leases import Leases
from bot.storage.store import DATABASE_ERRORS

log = logging.getLogger(__name__)

#: Notification channels (bot/storage/store.Store.notify): a job for the workers to take (new, or
#: cancelled while it waited), and a provider callback for the job's worker; the payload is the id.
JOBS_CHANNEL = "photobot_jobs"
WAKE_CHANNEL = "photobot_wake"
#: Seconds an announcement (a notification) may take before it is given up (JobRunner._tell); on a
#: server fallen silent about twice that, asyncpg then waiting as long for its cancellation.
ANNOUNCE_TIMEOUT = 3.0


class JobRunner:
    def __init__(
        self,
        jobs: Jobs,
        leases: Leases,
        deps: DriverDeps,
        settings: RunnerSettings | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        settings = settings or RunnerSettings()
        self.jobs = jobs
        self.keeper = LeaseKeeper(
            leases, self, owner=owner or process_name(), lease=settings.lease, max_held=settings.max_held
        )
        #: This process in the jobs' ``owner`` column.
        self.owner = self.keeper.owner
        #: The driver's writes: compare-and-sets that also name this process as the lease holder.
        self.fenced = self.keeper.fenced
        self.driver = JobDriver(jobs, self.fenced, deps, settings)
        self.stop_grace = settings.stop_grace
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        #: Whether this process drives jobs (``resume`` was called: roles ``all`` and ``worker``).
        self._working = False

    # --- control -------------------------------------------------------------

    async def resume(self) -> int:
        """Work on jobs: listen for new ones and for wake-ups, claim the unfinished ones (on a
        database this process has to itself, all of them: it restarted), and keep the leases;
        returns how many were claimed now."""
        db = self.jobs.db
        self._working = True
        await db.listen(JOBS_CHANNEL, self._announced)
        await db.listen(WAKE_CHANNEL, self.wake)
        claimed = await self.keeper.claim(take_over=not db.shared)
        if claimed:
            log.info("resumed %d open jobs", claimed)
        self.keeper.start()
        return claimed

    async def announce(self, job_id: str) -> None:
        """A job for a worker to take: new, or cancelled while it waited (to deliver that)."""
        await self._tell(JOBS_CHANNEL, job_id)

    async def announce_wake(self, job_id: str) -> None:
        """A provider called back about the job: its worker asks the provider now."""
        await self._tell(WAKE_CHANNEL, job_id)

    async def _tell(self, channel: str, job_id: str) -> None:
        """Best effort, within ANNOUNCE_TIMEOUT: the job is stored already, and what an announcement
        hastens happens anyway (the workers look for jobs at each renewal, a job's driver asks its
        provider at each poll). Before, a database that failed or fell silent right after a
        Confirm's transaction had stored and held the job failed that Confirm: the person was told
        something went wrong, and the job was made and charged all the same."""
        try:
            await self.jobs.db.notify(channel, job_id, timeout=ANNOUNCE_TIMEOUT)
        except DATABASE_ERRORS as err:
            log.warning("job %s: could not announce it (%s): taken up at the next look", job_id, type(err).__name__)

    def _announced(self, job_id: str) -> None:
        if not self._working:  # not a worker: one of the worker processes takes it
            return
        if self.keeper.room() > 0:
            self.start(job_id)
        else:
            self.keeper.look_again()

    def driving(self) -> int:
        """How many jobs are driven here now."""
        return len(self._tasks)

    def start(self, job_id: str, *, claimed_at: float | None = None) -> None:
        """Drive ``job_id`` here: claim it first unless it was claimed at ``claimed_at`` (monotonic)."""
        if self._stopping or job_id in self._tasks:
            return
        task = asyncio.create_task(self._drive(job_id, claimed_at), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(functools.partial(self._forget, job_id))

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
            self.driver.forget(job_id)

    def lost(self, job_id: str, why: str) -> None:
        """Stop driving a job whose lease this process no longer holds (or soon may not)."""
        for task in (self._tasks.get(job_id), self.driver.finishing.get(job_id)):
            if task is not None and not task.done():
                log.warning("job %s: no longer driven here: %s", job_id, why)
                task.cancel()

    def wake(self, job_id: str) -> None:
        """A provider callback arrived: look at the task now instead of at the next poll."""
        self.driver.wake(job_id)

    def cancellable(self, job: Job) -> bool:
        """Whether cancelling can still save the provider's work (:meth:`JobDriver.cancellable`)."""
        return self.driver.cancellable(job)

    async def cancel(self, job_id: str, user_id: int) -> bool:
        """Cancel the user's own job while that saves the provider's work, and release its credits."""
        job = await self.jobs.get(job_id)
        if job is None or job.user_id != user_id or not self.driver.cancellable(job):
            return False
        if not await self.driver.cancel(job):
            return False
        if job.state == JobState.QUEUED:
            # Its driver waits for a slot (or its CAS to submitting will fail): a new driver
            # delivers the cancellation now.
            waiting = self._tasks.pop(job_id, None)
            if waiting is not None:
                waiting.cancel()
                await self.keeper.release(job_id)
        # Whichever worker holds it delivers the cancellation now; if none does, one takes it.
        await self.announce_wake(job_id)
        await self.announce(job_id)
        return True

    async def stop(self) -> None:
        """Stop following jobs; submissions and deliveries under way may finish, for
        ``stop_grace`` seconds (a delivery cut is resumed by the next worker; a submission cut
        leaves its job to be failed as interrupted). Then give the leases back, so that another
        worker takes the jobs over at once."""
        self._stopping = True
        self._working = False
        self.keeper.stop_claiming()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        finishing = [*self.driver.finishing.values(), *self.driver.storing.values()]
        if finishing:
            # The leases are still renewed meanwhile: what finishes is still this process's (and a
            # renewal that fails cuts it, JobRunner.lost, before another may take the job over).
            _done, late = await asyncio.wait(finishing, timeout=self.stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*finishing, return_exceptions=True)
        await self.keeper.stop()
        await self.keeper.hand_back_all()

    async def idle(self) -> None:
        """Wait until no job is being driven (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _drive(self, job_id: str, claimed_at: float | None) -> None:
        try:
            if not await self.keeper.hold(job_id, claimed_at):
                return  # another worker drives it, or it needs nothing more
        except DATABASE_ERRORS as err:
            log.warning("job %s: could not claim it (%s); left for the next look", job_id, err)
            return
        try:
            await self.driver.drive(job_id)
        except DATABASE_ERRORS as err:
            # The job stays as stored; its lease is handed back (or runs out, the database being out
            # of reach), and the keeper's next look, here or in another worker, drives it on.
            log.warning("job %s: the database failed under its driver (%s); driven again later", job_id, err)
        except Exception:
            log.exception("job %s: its driver failed; driven again later", job_id)
        try:
            await self.keeper.release(job_id)
        except DATABASE_ERRORS as err:
            log.warning("job %s: could not hand its lease back (%s); it is taken over when it runs out", job_id, err)
