"""The state machine that drives one job, from the state it is stored in to delivered:

    queued --> submitting --> running --> succeeded / failed / cancelled --> delivered
                   |
                   +-- found on start: the provider may or may not have the task, and it is
                       never sent twice, so the job fails and its credits are released.

Submitting waits for one of ``max_concurrent`` slots (the job stays queued, and can be cancelled
for free); a running task is asked about with a growing wait (``POLL_BACKOFF``) that a provider's
callback cuts short, through answers it cannot read (``MAX_BAD_ANSWERS``) and outages, until the
job's deadline; a finished task's files are stored and the credits captured or released in one
compare-and-set with the state; delivery is the ``JobEvents``' (bot/jobs/events.py). Cancelling
is allowed only while it saves the provider's work (:meth:`JobDriver.cancellable`).

Every write goes through the lease holder's ``LeasedJobs`` (``fenced``), so a driver whose lease was
taken over changes nothing; only a user's own Cancel writes unfenced (the provider has not heard of
the job, or confirmed dropping it). Each result file gets a name of its own (bot/ops/media.py), and a
driver whose settlement was refused deletes its files: two workers never write the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from bot.jobs.events import DeliveryPostponed, JobEvents
from bot.jobs.settings import RunnerSettings
from bot.ops.images import fit
from bot.ops.media import MediaStore
from bot.storage.jobs import Job, JobResult, Jobs, JobState
from bot.storage.leases import LeasedJobs
from bot.storage.links import linked_ref
from bot.storage.store import DATABASE_ERRORS, StoreFailed
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
from providers.models import InputImage, Phase, Submission, TaskStatus
from providers.orders import Order

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Wait before trying a delivery again after Telegram could not be reached.
DELIVERY_RETRY_DELAY = 15.0
RESULT_DOWNLOAD_ATTEMPTS = 3
#: What a result's ``measure`` raises where it could not measure it now (the local engine busy,
#: slow or crashed; the file unreadable; the database it reads).
NOT_MEASURED: tuple[type[BaseException], ...] = (ProviderError, *DATABASE_ERRORS)
#: Garbled status answers in a row that end a job: one or two are taken for a passing glitch
#: (a proxy's error page), since the provider already has the task and will finish it.
MAX_BAD_ANSWERS = 3
#: Each unanswered poll waits this much longer than the one before: a task that is not done in
#: a few seconds is probably a long one, and a thousand pending jobs should not each ask every
#: second. Without callbacks the wait grows to NO_CALLBACK_MAX_POLLS poll intervals at most;
#: with them (they wake the job at once) to ``jobs.max_poll_interval``.
POLL_BACKOFF = 1.5
NO_CALLBACK_MAX_POLLS = 3
#: Seconds before the write that stores a task the provider accepted is tried again, doubling up
#: to TASK_ID_RETRY_LONGEST: it is tried until it is made or refused, up to the job's deadline.
TASK_ID_RETRY = 0.25
TASK_ID_RETRY_LONGEST = 1.0


def _transient(err: ProviderError) -> bool:
    """Worth asking again later: the provider is unreachable, busy or failing."""
    return isinstance(err, (ProviderConnectionError, RateLimited, ServerError)) or (
        isinstance(err, ProviderStatusError) and err.status == 408
    )


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` pass, whichever comes first. Not asyncio.wait_for: on
    Python 3.11 it drops a cancellation that comes in the step the event is set in (a driver
    stopped, or whose lease was lost, as a callback woke it went on driving the job)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


@dataclass(frozen=True)
class DriverDeps:
    """What a job's driver works with besides the database."""

    #: The clients, by provider name.
    providers: Mapping[str, TaskProvider[Any]]
    #: Each service's order model: a job's stored options are read back into it for the provider.
    orders: Mapping[str, type[Order]]
    media: MediaStore
    downloader: Downloader
    #: Told of each job's progress and outcome (bot/telegram/delivery.py in the bot).
    events: JobEvents
    #: A signed link to a stored file, valid until the given time (providers that fetch photos).
    media_link: Callable[[str, float | None], str] | None = None
    #: Measures a result that came without a placement report (an ID photo from PicWish): None
    #: where there is nothing to measure; raises (ProviderError, OSError, a database error) where
    #: it could not measure it now, and the result is then kept as ``unmeasured``.
    measure: Callable[[Job, Path], Awaitable[dict[str, Any] | None]] | None = None
    #: Told of every submit and status query: the provider and its error, if any (bot/ops/health.py).
    observe: Callable[[str, ProviderError | None], Awaitable[None]] | None = None
    #: How a job waits for its next poll: until a callback sets the event or the seconds pass
    #: (a parameter so that tests/jobs/ can record the waits the backoff asks for).
    pause: Callable[[asyncio.Event, float], Awaitable[None]] = wait_or_timeout


def _due_from_now(job: Job) -> Job:
    """``job`` as it is sent: its deadline as far from now as it was from its placing. The time it
    waited in the queue (a restart, an outage, every slot busy) is not the provider's: counted from
    the placing, a job that waited long was failed and given back at its first poll while the
    provider went on with the task and charged for it (玩星 counts its timeout from the submission;
    the input's signed link lasts until the deadline). The span is the one placed
    (``Job.deadline_span``): a job sent again (a rerun-safe provider's, after a restart) does not
    carry its first sending's time into it."""
    if job.deadline is None:
        return job
    span = job.deadline_span if job.deadline_span is not None else job.deadline - job.created_at
    return replace(job, deadline=time.time() + span)


class JobDriver:
    def __init__(self, jobs: Jobs, fenced: LeasedJobs, deps: DriverDeps, settings: RunnerSettings) -> None:
        self.jobs = jobs
        #: The driver's writes: compare-and-sets that also name this process as the lease holder.
        self.fenced = fenced
        self.owner = fenced.owner
        self.providers = deps.providers
        self.orders = deps.orders
        self.media = deps.media
        self.downloader = deps.downloader
        self.events = deps.events
        self.media_link = deps.media_link
        self.measure = deps.measure
        self.observe = deps.observe
        self.pause = deps.pause
        self.public_url = settings.public_url
        self.max_poll_interval = settings.max_poll_interval
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self._wakeups: dict[str, asyncio.Event] = {}
        #: Submissions and deliveries under way, by job: shielded from the driver's cancellation,
        #: so that a process stopping lets them finish (JobRunner.stop); a lost lease cuts them.
        self.finishing: dict[str, asyncio.Task[Any]] = {}
        #: Writes of a task a provider accepted, by job: a lost lease does not cut them (each is a
        #: compare-and-set that another worker's takeover refuses), and a stop lets them finish.
        self.storing: dict[str, asyncio.Task[bool]] = {}

    def wake(self, job_id: str) -> None:
        """A provider callback arrived: look at the task now instead of at the next poll."""
        event = self._wakeups.get(job_id)
        if event is not None:
            event.set()

    def forget(self, job_id: str) -> None:
        """The job is no longer driven here."""
        self._wakeups.pop(job_id, None)

    # --- the cancel policy ------------------------------------------------------

    def cancellable(self, job: Job) -> bool:
        """Whether cancelling can still save the provider's work: the job waits for its turn, or its
        provider drops accepted tasks and confirms it. Otherwise the task runs and is paid for
        (its credits released only if the provider fails it), so that Confirm, Cancel, Confirm... cannot
        spend the operator's paid quota for nothing."""
        if job.state == JobState.QUEUED:
            return True
        provider = self.providers.get(job.provider)
        return job.state == JobState.RUNNING and provider is not None and provider.cancellable

    async def cancel(self, job: Job) -> bool:
        """Cancel a job :meth:`cancellable` said may be, and release its credits: at once while it
        is queued (the provider has not heard of it), else once the provider confirms dropping
        the task. Unfenced: the user's Cancel, whoever holds the lease."""
        if job.state == JobState.QUEUED:
            return await self.jobs.settle(job, JobState.CANCELLED, from_states=(JobState.QUEUED,), error="cancelled")
        return await self._drop_running(job)

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

    # --- driving one job ---------------------------------------------------------

    async def drive(self, job_id: str) -> None:
        """Take the job from the state it is stored in to delivered, while this process holds its
        lease (its driver task is cancelled when the lease is lost)."""
        self._wakeups.setdefault(job_id, asyncio.Event())
        submitted = False
        while True:
            storing = self.storing.get(job_id)
            if storing is not None:  # a driver cut before this one still stores the task it sent
                with contextlib.suppress(Exception):
                    await asyncio.shield(storing)
            job = await self.fenced.job(job_id)
            if job is None:
                return
            if job.owner != self.owner:  # its lease ran out and another worker took it over
                log.warning("job %s: taken over by %s; no longer driven here", job.id, job.owner)
                return
            try:
                if job.state == JobState.QUEUED:
                    if not await self._submit(job) and await self._still_queued(job.id):
                        log.warning("job %s: its lease ran out before it was sent; left for the next look", job.id)
                        return
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
            except StoreFailed:
                # Not the job's fault, and the provider may have its task: the job is left as stored,
                # for this process or another to drive again (JobRunner hands its lease back). An
                # OSError of the photo, the engine or the disk is the job's, as any other error.
                raise
            except Exception:
                log.exception("job %s: unexpected error in state %s", job.id, job.state)
                if job.state in (JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING):
                    await self.fenced.settle(job, JobState.FAILED, error="internal_error")
                else:
                    await asyncio.sleep(DELIVERY_RETRY_DELAY)

    async def _deliver(self, job: Job) -> None:
        """Deliver, finishing however the driver is stopped (:meth:`_finishing`)."""
        await self._finishing(job.id, self.events.deliver(job, self.fenced), "deliver")

    async def _finishing(self, job_id: str, work: Awaitable[T], name: str) -> T:
        """``work`` in a task of its own, shielded so that stopping the driver does not cut it: a
        delivery half sent, a submission the provider may be taking (a stop that cut it would
        leave the job submitting, for the next worker to fail as interrupted while the provider
        charged for the task). A lost lease cuts it (``JobRunner.lost``)."""
        task = asyncio.ensure_future(work)
        task.set_name(f"{name}-{job_id}")
        self.finishing[job_id] = task
        task.add_done_callback(functools.partial(self._finished, job_id))
        return await asyncio.shield(task)

    def _finished(self, job_id: str, task: asyncio.Task[Any]) -> None:
        if self.finishing.get(job_id) is task:
            del self.finishing[job_id]

    def _rerun_safe(self, job: Job) -> bool:
        provider = self.providers.get(job.provider)
        return provider is not None and provider.rerun_safe

    def _provider(self, job: Job) -> TaskProvider[Any]:
        return self.providers[job.provider]

    def callback_url(self, job: Job) -> str | None:
        if not self.public_url:
            return None
        return f"{self.public_url}/callbacks/{job.provider}/{job.id}/{job.callback_secret}"

    async def _still_queued(self, job_id: str) -> bool:
        current = await self.fenced.job(job_id)
        return current is not None and current.state == JobState.QUEUED

    async def _submit(self, job: Job) -> bool:
        """Send the job to its provider, or settle it as failed; False where it was not this
        process's to send (cancelled meanwhile, taken over, or its lease ran out)."""
        if job.provider not in self.providers:
            await self.fenced.settle(job, JobState.FAILED, error="provider_disabled")
            return True
        provider = self._provider(job)
        # The job stays queued (and can be cancelled for free) until a slot is free and its order
        # is ready to send: the fenced move to submitting is the last step before the provider
        # hears of it. Made before the photo was read and fitted (in a thread, which may wait its
        # turn), a worker stalled past its lease in between sent the task after another had taken
        # the job over and failed it as interrupted: the provider charged for a task no one followed.
        async with self._slots:
            job = _due_from_now(job)
            ready = await self._prepare(job, provider)
            if ready is None:
                return True
            if not await self.fenced.transition(
                job.id,
                (JobState.QUEUED,),
                JobState.SUBMITTING,
                live=True,
                attempts=job.attempts + 1,
                deadline=job.deadline,
            ):
                return False
            submission = await self._finishing(job.id, self._send(job, provider, *ready), "submit")
        if submission is None:
            return True
        status = submission.status
        if status is not None and await self._conclude(job, status):  # a synchronous provider's result
            return True
        if status is not None and status.queue_position:  # where the task waits, shown at once
            await self._tell(self.events.progress(job, status.progress, status.queue_position))
        elif not provider.cancellable:
            await self._tell(self.events.accepted(job))
        return True

    async def _prepare(self, job: Job, provider: TaskProvider[Any]) -> tuple[Order, InputImage | None] | None:
        """The queued job's order and photo as its provider takes them; None where the job was
        failed instead."""
        try:
            image = await self._input(job, provider)
            return self.orders[job.service].model_validate(self._resolve_links(job)), image
        # No public URL to publish the input, a row not of its model, or its stored photo gone or
        # unreadable: the provider has not heard of the job.
        except (ValueError, OSError) as err:
            log.warning("job %s: cannot prepare its order: %s", job.id, err)
            await self.fenced.settle(job, JobState.FAILED, error="internal_error")
            return None

    async def _send(
        self, job: Job, provider: TaskProvider[Any], order: Order, image: InputImage | None
    ) -> Submission | None:
        """Send the submitting job to its provider and store the task it accepted: the submission,
        or None where the job was failed instead, or was no longer this process's."""
        try:
            submission = await provider.submit(order, image, self.callback_url(job), reference=job.id)
        except ProviderError as err:
            log.warning("job %s: submit failed: %s", job.id, err)
            await self._observe(job, err)
            await self.fenced.settle(job, JobState.FAILED, error=err.code)
            return None
        storing = asyncio.ensure_future(self._store_task(job, submission.task_id))
        self.storing[job.id] = storing
        storing.add_done_callback(functools.partial(self._stored, job.id))
        moved = await asyncio.shield(storing)
        await self._observe(job, None)
        if not moved:
            # Only a worker that took the job over moves it on from submitting (it failed it as
            # interrupted): this process stalled past its lease while the provider took the task.
            log.error(
                "job %s: %s accepted task %s after this process lost the job's lease; it is not followed",
                job.id,
                job.provider,
                submission.task_id,
            )
            return None
        return submission

    def _stored(self, job_id: str, task: asyncio.Task[bool]) -> None:
        if self.storing.get(job_id) is task:
            del self.storing[job_id]

    async def _store_task(self, job: Job, task_id: str) -> bool:
        """Move the job on to running with the task the provider accepted; False where it was no
        longer this process's (see ``fenced``). Done first after the submission, before anything
        else that writes. Without the task's id a later look could only fail the job as
        interrupted, and the provider charges for the task all the same: so the write is tried
        again through database errors until the job's deadline, and goes on after the driver is
        cut for a lease it could not renew (``storing``): the database out of reach for longer
        than that (a failover) is the likeliest reason, and once it is back the write is made,
        or refused if another worker took the job over meanwhile. Before, it was given up after
        four tries (about three seconds), or cut with the driver."""
        wait = TASK_ID_RETRY
        for attempt in itertools.count():
            try:
                if await self.fenced.transition(
                    job.id, (JobState.SUBMITTING,), JobState.RUNNING, provider_task_id=task_id
                ):
                    return True
                # A try whose answer was lost may have made the change: then it is this one's.
                stored = await self.fenced.job(job.id) if attempt else None
                return stored is not None and (stored.state, stored.provider_task_id, stored.owner) == (
                    JobState.RUNNING,
                    task_id,
                    self.owner,
                )
            except StoreFailed as err:
                if job.deadline is not None and time.time() + wait > job.deadline:
                    log.error(
                        "job %s: %s accepted task %s; it could not be stored: %s", job.id, job.provider, task_id, err
                    )
                    raise
                log.warning("job %s: storing task %s failed (%s); trying again", job.id, task_id, err)
                await asyncio.sleep(wait)
                wait = min(wait * 2, TASK_ID_RETRY_LONGEST)
        raise AssertionError("unreachable")

    @staticmethod
    async def _tell(news: Awaitable[None]) -> None:
        """Show the user how their job stands (its status message): a database that fails the
        lookups this takes (the user's language) fails nothing of the job's; the next news shows."""
        try:
            await news
        except DATABASE_ERRORS as err:
            log.warning("a job's status could not be shown: %s", err)

    async def _observe(self, job: Job, error: ProviderError | None) -> None:
        """Tell ``observe`` of a provider call; a database that fails to keep that record fails
        nothing of the job's."""
        if self.observe is None:
            return
        try:
            await self.observe(job.provider, error)
        except DATABASE_ERRORS as err:
            log.warning("job %s: the provider's health could not be recorded: %s", job.id, err)

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
                current = await self.fenced.job(job.id)
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
                    await self._tell(self.events.trouble(job))
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
                    await self._tell(self.events.progress(job, status.progress, status.queue_position))
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
        if not (provider.cancellable or provider.drops_tasks):
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
        first = ""
        placement = next((image.placement for image in status.images if image.placement), None)
        unmeasured = False
        try:
            for index, image in enumerate(status.images):
                data = image.data if image.data is not None else await self._download(image.url or "")
                ref = self.media.save_result(job.id, index, data)
                (extra_files if image.extra else files).append(ref)
                first = first or ref
            if placement is None and self.measure is not None and first:
                placement, unmeasured = await self._measured(job, self.media.path(first))
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
            unmeasured=unmeasured,
            kept_preview=status.kept_preview,
        )
        if not await self.fenced.settle(job, JobState.SUCCEEDED, result=result, progress=100):
            # Cancelled meanwhile, or no longer this process's job: its files are no one's.
            self._delete(files + extra_files)

    async def _measured(self, job: Job, photo: Path) -> tuple[dict[str, Any] | None, bool]:
        """What ``measure`` reports of the result, for its caption, and whether it could not measure
        it now (the local engine busy, slow or crashed, the file unreadable, the database it reads
        for a bought preview out of reach): the photo then goes without its measurements, and its
        caption says so (before, it said nothing: a PicWish preview came without its checklist)."""
        assert self.measure is not None
        try:
            return await self.measure(job, photo), False
        except NOT_MEASURED as err:
            log.warning("job %s: its result could not be measured: %s", job.id, err)
            return None, True

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
