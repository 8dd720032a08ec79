"""Job lifecycle: submit, follow (poll + callback wake-ups), finish, deliver, resume, release.

Every step that must survive a restart is a compare-and-set in SQLite:

    queued --> submitting --> running --> succeeded / failed / cancelled --> delivered
                   |
                   +-- found on start: the provider may or may not have the task, and it is
                       never sent twice, so the job fails and its credits are released.

One asyncio task drives one job. A process drives only jobs it holds a lease on (``owner``,
``lease_until``): it claims them, renews its leases every third of ``lease`` seconds, and gives
them back when they are done or it stops. New jobs and provider callbacks are announced on the
database (``Store.notify``: PostgreSQL's NOTIFY, or within the process on SQLite); every worker
also looks for unclaimed jobs at each renewal, so a job whose worker died (its lease ran out) is
taken over by another: a task already submitted is followed, never submitted again, and its
delivery stays a compare-and-set that only one process wins. On SQLite one process has the
database to itself and takes every unfinished job at start.

Leases are fenced. Every write the driver makes (``LeasedJobs``) compares the lease holder as
well as the state, so a worker that stalled past its lease and was taken over changes nothing.
And a worker stops driving a job once ``GIVE_UP`` of the lease has passed since its last renewal
that worked (renewals that cannot get a connection give up after ``RENEW_TIMEOUT`` of it), a
third of the lease before another may take the job over: two workers never drive one job, so
a stale one does not submit a paid task that another is failing as interrupted. Each result file
gets a name of its own (bot/ops/media.py), and a driver whose settlement was refused deletes its
files: two workers never write the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.jobs.events import DeliveryPostponed, JobEvents
from bot.ops.images import fit
from bot.ops.media import MediaStore
from bot.storage.jobs import Job, JobResult, Jobs, JobState
from bot.storage.leases import Leases
from bot.storage.links import linked_ref
from bot.storage.store import DATABASE_ERRORS
from providers.base import TaskProvider
from providers.download import Downloader
from providers.errors import (
    BadResponse,
    DeadlineExceeded,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    RateLimited,
    ServerError,
)
from providers.models import InputImage, Phase, TaskStatus
from providers.orders import Order

log = logging.getLogger(__name__)

#: Wait before trying a delivery again after Telegram could not be reached.
DELIVERY_RETRY_DELAY = 15.0
#: On a graceful stop, deliveries under way get this long to finish instead of being cut.
DELIVERY_GRACE = 10.0
RESULT_DOWNLOAD_ATTEMPTS = 3
#: Garbled status answers in a row that end a job: one or two are taken for a passing glitch
#: (a proxy's error page), since the provider already has the task and will finish it.
MAX_BAD_ANSWERS = 3
#: Each unanswered poll waits this much longer than the one before: a task that is not done in
#: a few seconds is probably a long one, and a thousand pending jobs should not each ask every
#: second. Without callbacks the wait grows to NO_CALLBACK_MAX_POLLS poll intervals at most;
#: with them (they wake the job at once) to ``jobs.max_poll_interval``.
POLL_BACKOFF = 1.5
NO_CALLBACK_MAX_POLLS = 3
#: Notification channels (bot/storage/store.Store.notify): a job for the workers to take (new, or
#: cancelled while it waited), and a provider callback for the job's worker; the payload is the id.
JOBS_CHANNEL = "photobot_jobs"
WAKE_CHANNEL = "photobot_wake"
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


def _transient(err: ProviderError) -> bool:
    """Worth asking again later: the provider is unreachable, busy or failing."""
    return isinstance(err, (ProviderConnectionError, RateLimited, ServerError)) or (
        isinstance(err, ProviderStatusError) and err.status == 408
    )


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` pass, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


def process_name() -> str:
    """This process as a lease owner: its machine and pid (what an operator looks for), and a
    random part so that a pid reused after a restart is not taken for the old process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobRunner:
    def __init__(
        self,
        jobs: Jobs,
        leases: Leases,
        media: MediaStore,
        providers: Mapping[str, TaskProvider[Any]],
        orders: Mapping[str, type[Order]],
        downloader: Downloader,
        events: JobEvents,
        *,
        public_url: str = "",
        media_link: Callable[[str, float | None], str] | None = None,
        max_concurrent: int = 32,
        max_poll_interval: float = 15.0,
        measure: Callable[[Job, bytes], Awaitable[dict[str, Any] | None]] | None = None,
        observe: Callable[[str, ProviderError | None], Awaitable[None]] | None = None,
        lease: float = 15.0,
        max_held: int = 1000,
        owner: str | None = None,
        pause: Callable[[asyncio.Event, float], Awaitable[None]] = wait_or_timeout,
    ) -> None:
        #: This process in the jobs' ``owner`` column, how long its claims last, how many it holds.
        self.owner = owner or process_name()
        self.lease = lease
        self.max_held = max_held
        #: Told of every submit and status query: the provider and its error, if any (bot/ops/health.py).
        self.observe = observe
        #: Measures a result that came without a placement report (an ID photo from PicWish).
        self.measure = measure
        self.media_link = media_link
        self.jobs = jobs
        self.leases = leases
        self.media = media
        self.providers = providers
        #: Each service's order model: a job's stored options are read back into it for the provider.
        self.orders = orders
        self.downloader = downloader
        #: Told of each job's progress and outcome (bot/telegram/delivery.py in the bot).
        self.events = events
        self.public_url = public_url
        self.max_poll_interval = max_poll_interval
        #: How a job waits for its next poll: until a callback sets the event or the seconds pass
        #: (a parameter so that tests/jobs/ can record the waits the backoff asks for).
        self.pause = pause
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        #: Deliveries under way, by job (shielded from the driver's cancellation on stop).
        self._deliveries: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        #: Jobs this process has claimed and drives (its leases), each with when (monotonic) the
        #: claim or renewal that last extended its lease was sent.
        self._held: dict[str, float] = {}
        #: The driver's writes: compare-and-sets that also name this process as the lease holder.
        self.fenced = leases.leased(self.owner)
        self._keeper: asyncio.Task[None] | None = None
        #: Whether this process drives jobs (``resume`` was called: roles ``all`` and ``worker``).
        self._working = False
        #: Set by a new job's announcement when this process held too many to take it then.
        self._more = asyncio.Event()

    # --- control -------------------------------------------------------------

    async def resume(self) -> int:
        """Work on jobs: listen for new ones and for wake-ups, claim the unfinished ones (on a
        database this process has to itself, all of them: it restarted), and keep the leases;
        returns how many were claimed now."""
        db = self.jobs.db
        self._working = True
        await db.listen(JOBS_CHANNEL, self._announced)
        await db.listen(WAKE_CHANNEL, self.wake)
        claimed = await self._claim(take_over=not db.shared)
        if claimed:
            log.info("resumed %d open jobs", claimed)
        self._keeper = asyncio.create_task(self._keep_leases(), name="job-leases")
        return claimed

    async def announce(self, job_id: str) -> None:
        """A job for a worker to take: new, or cancelled while it waited (to deliver that)."""
        await self.jobs.db.notify(JOBS_CHANNEL, job_id)

    async def announce_wake(self, job_id: str) -> None:
        """A provider called back about the job: its worker asks the provider now."""
        await self.jobs.db.notify(WAKE_CHANNEL, job_id)

    def _announced(self, job_id: str) -> None:
        if not self._working:  # not a worker: one of the worker processes takes it
            return
        if len(self._tasks) < self.max_held:
            self.start(job_id)
        else:
            self._more.set()

    async def _claim(self, *, take_over: bool = False) -> int:
        """Claim unfinished jobs no one else holds, as many as there is room for, and drive them."""
        room = self.max_held - len(self._tasks)
        claimed = 0
        while room > 0 and not self._stopping:
            sent = time.monotonic()
            ids = await self.leases.claim(self.owner, self.lease, min(room, CLAIM_BATCH), take_over=take_over)
            for job_id in ids:
                self.start(job_id, claimed_at=sent)
            claimed += len(ids)
            room -= len(ids)
            if len(ids) < CLAIM_BATCH:
                break
        return claimed

    async def _keep_leases(self) -> None:
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), max(0.0, min(wait, until_give_up)))
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
            try:
                await self._claim()
                expiry = await self.leases.seconds_to_next_expiry(self.owner)
            except DATABASE_ERRORS as err:
                log.warning("could not look for jobs to take: %s", err or type(err).__name__)
                continue
            if expiry is not None and len(self._tasks) < self.max_held:
                wait = min(wait, expiry + LEASE_SLACK)

    def _lost(self, job_id: str, why: str) -> None:
        """Stop driving a job whose lease this process no longer holds (or soon may not)."""
        self._held.pop(job_id, None)
        for task in (self._tasks.get(job_id), self._deliveries.get(job_id)):
            if task is not None and not task.done():
                log.warning("job %s: no longer driven here: %s", job_id, why)
                task.cancel()

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
            self._wakeups.pop(job_id, None)

    def wake(self, job_id: str) -> None:
        """A provider callback arrived: look at the task now instead of at the next poll."""
        event = self._wakeups.get(job_id)
        if event is not None:
            event.set()

    def cancellable(self, job: Job) -> bool:
        """Whether cancelling can still save the provider's work: the job waits for its turn, or its
        provider drops accepted tasks and confirms it. Otherwise the task runs and is paid for
        (its credits released only if the provider fails it), so that Confirm, Cancel, Confirm... cannot
        spend the operator's paid quota for nothing."""
        if job.state == JobState.QUEUED:
            return True
        provider = self.providers.get(job.provider)
        return job.state == JobState.RUNNING and provider is not None and provider.cancellable

    async def cancel(self, job_id: str, user_id: int) -> bool:
        """Cancel the user's own job while that saves the provider's work, and release its credits."""
        job = await self.jobs.get(job_id)
        if job is None or job.user_id != user_id or not self.cancellable(job):
            return False
        if job.state == JobState.QUEUED:
            # The provider has not heard of it. Its driver waits for a slot (or its CAS to
            # submitting will fail): a new driver delivers the cancellation now.
            if not await self.jobs.settle(job, JobState.CANCELLED, from_states=(JobState.QUEUED,), error="cancelled"):
                return False
            waiting = self._tasks.pop(job_id, None)
            if waiting is not None:
                waiting.cancel()
                await self.fenced.hand_back(job_id)
                self._held.pop(job_id, None)
        elif not await self._drop_running(job):
            return False
        # Whichever worker holds it delivers the cancellation now; if none does, one takes it.
        await self.announce_wake(job_id)
        await self.announce(job_id)
        return True

    async def _drop_running(self, job: Job) -> bool:
        """Ask the provider to drop the task; release the credits only on its confirmation."""
        try:
            confirmed = job.provider_task_id is not None and await self._provider(job).cancel(job.provider_task_id)
        except ProviderError as err:
            log.info("job %s: the provider did not drop the task: %s", job.id, err)
            return False
        if not confirmed:
            return False
        if await self.jobs.settle(job, JobState.CANCELLED, from_states=(JobState.RUNNING,), error="cancelled"):
            return True
        log.warning("job %s: the provider dropped a task that had already ended", job.id)
        return False

    async def stop(self) -> None:
        """Stop following jobs; deliveries under way may finish (they are resumed otherwise).
        Then give the leases back, so that another worker takes the jobs over at once."""
        self._stopping = True
        self._working = False
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._deliveries:
            _done, late = await asyncio.wait(self._deliveries.values(), timeout=DELIVERY_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._held:
            try:
                await self.leases.hand_back_all(self.owner)
            except DATABASE_ERRORS as err:  # they are taken over when the leases run out
                log.warning("could not give back the job leases: %s", err)
            self._held.clear()

    async def idle(self) -> None:
        """Wait until no job is being driven (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # --- driving one job -------------------------------------------------------

    async def _drive(self, job_id: str, claimed_at: float | None) -> None:
        if claimed_at is None:
            claimed_at = time.monotonic()
            if not await self.leases.claim_one(job_id, self.owner, self.lease):
                return  # another worker drives it, or it needs nothing more
        self._held[job_id] = claimed_at
        await self._work(job_id)
        self._held.pop(job_id, None)
        await self.fenced.hand_back(job_id)

    async def _work(self, job_id: str) -> None:
        self._wakeups.setdefault(job_id, asyncio.Event())
        submitted = False
        while True:
            job = await self.jobs.get(job_id)
            if job is None:
                return
            if job.owner != self.owner:  # its lease ran out and another worker took it over
                log.warning("job %s: taken over by %s; no longer driven here", job.id, job.owner)
                return
            try:
                if job.state == JobState.QUEUED:
                    await self._submit(job)
                    submitted = True
                elif job.state in (JobState.SUBMITTING, JobState.RUNNING) and self._rerun_safe(job) and not submitted:
                    # Interrupted (found so here); a task this driver just sent is followed.
                    await self.fenced.transition(job.id, (JobState.SUBMITTING, JobState.RUNNING), JobState.QUEUED)
                elif job.state == JobState.SUBMITTING:
                    log.warning("job %s was interrupted while submitting; not resending it", job.id)
                    await self.fenced.settle(job, JobState.FAILED, error="interrupted")
                elif job.state == JobState.RUNNING:
                    await self._follow(job, just_submitted=submitted)
                else:
                    await self._deliver(job)
                    return
            except DeliveryPostponed as err:
                log.warning("delivery of job %s postponed: %s", job.id, err)
                await asyncio.sleep(DELIVERY_RETRY_DELAY)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s: unexpected error in state %s", job.id, job.state)
                if job.state in (JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING):
                    await self.fenced.settle(job, JobState.FAILED, error="internal_error")
                else:
                    await asyncio.sleep(DELIVERY_RETRY_DELAY)

    async def _deliver(self, job: Job) -> None:
        """Deliver in a task of its own, shielded so that stopping the driver does not cut it (a
        lost lease does: ``_lost``)."""
        task = asyncio.create_task(self.events.deliver(job, self.fenced), name=f"deliver-{job.id}")
        self._deliveries[job.id] = task
        task.add_done_callback(functools.partial(self._delivered, job.id))
        await asyncio.shield(task)

    def _delivered(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._deliveries.get(job_id) is task:
            del self._deliveries[job_id]

    def _rerun_safe(self, job: Job) -> bool:
        provider = self.providers.get(job.provider)
        return provider is not None and provider.rerun_safe

    def _provider(self, job: Job) -> TaskProvider[Any]:
        return self.providers[job.provider]

    def callback_url(self, job: Job) -> str | None:
        if not self.public_url:
            return None
        return f"{self.public_url}/callbacks/{job.provider}/{job.id}/{job.callback_secret}"

    async def _submit(self, job: Job) -> None:
        if job.provider not in self.providers:
            await self.fenced.settle(job, JobState.FAILED, error="provider_disabled")
            return
        provider = self._provider(job)
        # The job stays queued (and can be cancelled for free) until a slot is free to send it.
        async with self._slots:
            if not await self.fenced.transition(
                job.id, (JobState.QUEUED,), JobState.SUBMITTING, attempts=job.attempts + 1
            ):
                return  # cancelled meanwhile, or (fenced) no longer this process's to send
            try:
                image = await self._input(job, provider)
                order = self.orders[job.service].model_validate(self._resolve_links(job))
            except ValueError as err:  # no public URL to publish the input, or a row not of its model
                log.warning("job %s: cannot prepare its order: %s", job.id, err)
                await self.fenced.settle(job, JobState.FAILED, error="internal_error")
                return
            try:
                submission = await provider.submit(order, image, self.callback_url(job), reference=job.id)
            except ProviderError as err:
                log.warning("job %s: submit failed: %s", job.id, err)
                await self._observe(job, err)
                await self.fenced.settle(job, JobState.FAILED, error=err.code)
                return
        await self._observe(job, None)
        if not await self.fenced.transition(
            job.id, (JobState.SUBMITTING,), JobState.RUNNING, provider_task_id=submission.task_id
        ):
            # Only a worker that took the job over moves it on from submitting (it failed it as
            # interrupted): this process stalled past its lease while the provider took the task.
            log.error(
                "job %s: %s accepted task %s after this process lost the job's lease; it is not followed",
                job.id,
                job.provider,
                submission.task_id,
            )
            return
        status = submission.status
        if status is not None and await self._conclude(job, status):  # a synchronous provider's result
            return
        if status is not None and status.queue_position:  # where the task waits, shown at once
            await self.events.progress(job, status.progress, status.queue_position)
        elif not provider.cancellable:
            await self.events.accepted(job)

    async def _observe(self, job: Job, error: ProviderError | None) -> None:
        if self.observe is not None:
            await self.observe(job.provider, error)

    async def _input(self, job: Job, provider: TaskProvider[Any]) -> InputImage | None:
        if not job.input_ref:
            return None
        if provider.takes_url:
            return InputImage(url=self._link(job.input_ref, job))
        data = self.media.read(job.input_ref)
        if max_side := provider.input_limits.max_side:  # decoding a large photo would hold up the event loop
            data = await asyncio.to_thread(fit, data, max_side)
        return InputImage(data=data)

    def _link(self, ref: str, job: Job) -> str:
        """A signed link to one stored file that stops working when the job's deadline passes."""
        if self.media_link is None or not self.public_url:
            raise ValueError("server.public_url is needed to publish photos to this provider")
        return self.media_link(ref, job.deadline)

    def _resolve_links(self, job: Job) -> dict[str, Any]:
        """Options that stand for stored files (:func:`bot.storage.links.linked`) become signed /media/ links."""
        return {k: self._link(ref, job) if (ref := linked_ref(v)) else v for k, v in job.options.items()}

    async def _conclude(self, job: Job, status: TaskStatus) -> bool:
        """Finish the job if ``status`` is final; False while the task is still pending."""
        if status.phase is Phase.DONE:
            await self._collect(job, status)
            return True
        if status.phase is Phase.FAILED:
            await self.fenced.settle(
                job, JobState.FAILED, error=status.error.code if status.error else "processing_failed"
            )
            return True
        return False

    async def _follow(self, job: Job, *, just_submitted: bool = False) -> None:
        """Ask the provider until the task ends. A task found at start is asked about at once
        (it may have finished while the bot was down); a task just created, after a poll interval."""
        provider = self._provider(job) if job.provider in self.providers else None
        if provider is None or job.provider_task_id is None:
            await self.fenced.settle(job, JobState.FAILED, error="provider_disabled")
            return
        wake = self._wakeups.setdefault(job.id, asyncio.Event())
        shown: tuple[int, int | None] | None = (job.progress, None)
        trouble: ProviderError | None = None  # the last failed query, while they keep failing
        bad_answers = 0
        interval = provider.poll_interval
        if provider.calls_back and self.public_url:
            longest = max(provider.poll_interval, self.max_poll_interval)
        else:
            longest = provider.poll_interval * NO_CALLBACK_MAX_POLLS
        ask_now = not just_submitted
        while True:
            if not ask_now:
                await self._wait(job, wake, interval)
                interval = min(interval * POLL_BACKOFF, longest)
                current = await self.jobs.get(job.id)
                if current is None or current.state != JobState.RUNNING or current.owner != self.owner:
                    return
            ask_now = False
            wake.clear()
            try:
                async with self._slots:
                    status = await provider.query(job.provider_task_id)
            except ProviderError as err:
                await self._observe(job, err)
                bad_answers = bad_answers + 1 if isinstance(err, BadResponse) else 0
                if not (_transient(err) or 0 < bad_answers < MAX_BAD_ANSWERS):
                    log.warning("job %s: query failed: %s", job.id, err)
                    await self.fenced.settle(job, JobState.FAILED, error=err.code)
                    return
                log.info("job %s: provider not answering (%s); will ask again", job.id, err)
                if trouble is None:
                    await self.events.trouble(job)
                    shown = None
                trouble = err
            else:
                await self._observe(job, None)
                trouble, bad_answers = None, 0
                if await self._conclude(job, status):
                    return
                if (status.progress, status.queue_position) != shown:
                    shown = (status.progress, status.queue_position)
                    if not await self.fenced.update(job.id, progress=status.progress):
                        return  # no longer this process's job
                    await self.events.progress(job, status.progress, status.queue_position)
            # Checked after asking the provider, so a task that finished while the bot was
            # down is still delivered.
            if job.deadline is not None and time.time() > job.deadline:
                if not await self.fenced.holds(job.id):
                    return  # the deadline is the holder's to act on
                await self._past_deadline(job, provider, job.provider_task_id)
                await self.fenced.settle(job, JobState.FAILED, error=trouble.code if trouble else DeadlineExceeded.code)
                return

    async def _past_deadline(self, job: Job, provider: TaskProvider[Any], task_id: str) -> None:
        """The bot stops waiting for the task. A provider that drops accepted tasks on request
        (MagicTiger's deletetask) is asked to drop it first, as a user's Cancel does: released, the
        task must not run on to be charged for a result no one will fetch."""
        if not provider.cancellable:
            return
        try:
            dropped = await provider.cancel(task_id)
        except ProviderError as err:
            log.warning("job %s: past its deadline; the provider did not drop the task: %s", job.id, err)
            return
        if not dropped:
            log.warning("job %s: past its deadline; the provider did not confirm dropping the task", job.id)

    async def _wait(self, job: Job, wake: asyncio.Event, interval: float) -> None:
        """Until the next poll is due, a callback wakes the job, or its deadline comes."""
        until_deadline = interval if job.deadline is None else job.deadline - time.time()
        await self.pause(wake, max(0.0, min(interval, until_deadline)))

    async def _collect(self, job: Job, status: TaskStatus) -> None:
        """Store the result files, then capture the credits; delivery reads the files. Files that
        end up in no settled result (the download failed, the job was cancelled or taken over
        meanwhile, this driver was stopped) are deleted: each driver's files are its own."""
        files: list[str] = []
        extra_files: list[str] = []
        first = b""
        placement = next((image.placement for image in status.images if image.placement), None)
        try:
            for index, image in enumerate(status.images):
                data = image.data if image.data is not None else await self._download(image.url or "")
                ref = self.media.save_result(job.id, index, data)
                (extra_files if image.extra else files).append(ref)
                first = first or data
            if placement is None and self.measure is not None and first:
                placement = await self.measure(job, first)
        except ProviderError as err:
            log.warning("job %s: result download failed: %s", job.id, err)
            self._delete(files + extra_files)
            await self.fenced.settle(job, JobState.FAILED, error=err.code)
            return
        except asyncio.CancelledError:
            self._delete(files + extra_files)
            raise
        result = JobResult(
            files=files,
            extra_files=extra_files,
            image_ids=[image.image_id for image in status.images if not image.extra],
            videos=list(status.videos),
            placement=placement,
            kept_preview=status.kept_preview,
        )
        if not await self.fenced.settle(job, JobState.SUCCEEDED, result=result, progress=100):
            # Cancelled meanwhile, or no longer this process's job: its files are no one's.
            self._delete(files + extra_files)

    def _delete(self, refs: list[str]) -> None:
        for ref in refs:
            self.media.delete(ref)

    async def _download(self, url: str) -> bytes:
        for attempt in range(RESULT_DOWNLOAD_ATTEMPTS):
            try:
                return await self.downloader.fetch(url)
            except ProviderError:
                if attempt == RESULT_DOWNLOAD_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")
