"""The local engine in a separate process, shared by everything in this one.

The engine's libraries and models take about 300 MB and a photo keeps the CPU busy for a
fraction of a second. In a worker process that memory stays out of the bot's process (which
then holds a thousand pending jobs in well under 200 MB), the bot's event loop never waits
on the engine, and a crash in native code costs one photo, not the bot.

The processes live as long as the interpreter (``process.EngineProcess``: each answers calls over a
socket that the bot's event loop reads itself). The bot starts them with the engine (``warm``), and
each loads the models as it starts, so the first photo after a start is as quick as any; elsewhere
(a test suite that never checks a face) a process starts on first use.

Every call is bounded: at most ``queue_limit`` photos wait behind those being made (more is
"busy, try again", at once and for free), and a photo that takes longer than ``time_limit``
seconds ends its process (another starts at once), since a process busy in native code
cannot be interrupted any other way; the other processes go on with their photos.

Calls wait here, and a free process takes the most urgent first (``Urgency``): measuring a
provider's finished photo (an order's delivery waits on it), then a face check (a person waits at a
button), then making an ID photo (a second or so), then a free preview; in the order they came
within each, and a call that has waited its ``ALLOWANCE`` goes before those that came after it,
whatever their urgency. Free previews take at most ``PREVIEW_ROOM`` of the queue: bounded per
person only, many people's previews filled it, and paid photos and everyone's face checks were
told "very busy".
First come, first served, a face check waited behind every ID photo of an album
(docs/benchmarks.md). A process is free again when it has answered its call, not when the caller
stops waiting for it. One event loop at a time uses a worker.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from providers.errors import EngineBusy, EngineCrashed, EngineTimeout, ProviderDomainError
from providers.localengine.findings import FaceFindings
from providers.localengine.process import EngineProcess, ProcessEnded

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How often a worker looks whether the bot that started it is still there.
PARENT_CHECK_SECONDS = 1.0
#: Photos that may wait for the engine behind those being made.
DEFAULT_QUEUE_LIMIT = 20
#: Seconds one photo may take (a check or a finished ID photo take well under two).
DEFAULT_TIME_LIMIT = 60.0
#: An engine worker gives back what its last ID photo freed once this long passes without another:
#: kept for reuse (models.reuse_freed_memory), it held the worker at about 490-570 MB at rest
#: instead of 300 MB; given back after every photo, each took about 30 ms longer.
IDLE_TRIM_SECONDS = 2.0
#: Past this resident size after a photo, what it freed is given back at once instead: under steady
#: load the worker is never idle, and what glibc kept for reuse grew past 1 GB (a review: peak
#: 1,293 MB over 128 photos of up to 1799x1799 px, two in flight; bench/engine_memory.py).
TRIM_ABOVE_BYTES = 600 * 1024 * 1024
_idle_trim: threading.Timer | None = None


class Urgency(enum.Enum):
    """What a call to the engine is for: it sets how long the call may wait (``ALLOWANCE``), and
    so which waiting call a free worker process takes first."""

    RESULT = 0  # a provider's finished photo measured for its caption: a delivery waits on it
    CHECK = 1  # the face check before an order: a person waits at a button
    PHOTO = 2  # an ID photo made here: a second or so of the engine
    PREVIEW = 3  # a free preview of one: made after the paid ones


#: Why a process ends under a call: killed at its time limit, or crashed (EngineWorker.endings).
ENDINGS = ("time_limit", "crashed")

#: How long a call may wait, from when it came, before calls that came after it no longer go first
#: (seconds): the more urgent go first, and none waits without end while others keep coming.
ALLOWANCE: Mapping[Urgency, float] = {
    Urgency.RESULT: 0.0,
    Urgency.CHECK: 2.0,
    Urgency.PHOTO: 30.0,
    Urgency.PREVIEW: 120.0,
}
#: The share of ``queue_limit`` free previews may fill; the rest waits for paid photos, face checks
#: and measurements.
PREVIEW_ROOM = 0.5


@dataclass(frozen=True)
class EngineLimits:
    queue_limit: int = DEFAULT_QUEUE_LIMIT
    time_limit: float = DEFAULT_TIME_LIMIT


class FaceProblem(ProviderDomainError):
    """The photo has no usable face; ``code`` says why (no_face, several_faces, ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"local: {code}", provider="local")
        self.code = code


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the bot is gone, even if it was killed with SIGKILL
    (an orphaned worker would otherwise wait for work forever, holding its memory)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# Run in the worker process. They import the engine there, and hand back only bytes and
# strings, so the bot's process never imports numpy, OpenCV or the models.


def _read(image: bytes | Path) -> bytes:
    """The photo's bytes: a stored file is read here, in the worker, so that the bot's process
    neither reads nor pickles it (about 1.5 ms of its CPU an order, docs/benchmarks.md)."""
    return image if isinstance(image, bytes) else image.read_bytes()


def _start(parent: int, cutout: bool) -> None:
    """Worker initializer: watch the parent, keep freed memory for reuse (models.reuse_freed_memory),
    load the face models (every task needs them), and, where this process makes ID photos
    (``cutout``), load the cut-out models beside the first tasks (a face check need not wait for
    180 MB of them; a bot that only checks faces never loads them)."""
    _exit_with_parent(parent)
    from providers.localengine import models

    models.reuse_freed_memory()
    models.warm_faces()
    if cutout:
        # Not a daemon: onnxruntime aborts a process that ends while it builds a session.
        threading.Thread(target=models.warm_cutout, name="warm-cutout").start()


def _inspect(image: bytes | Path) -> FaceFindings:
    from providers.localengine.faces import inspect_face

    return inspect_face(_read(image))


def _trim_when_idle(schedule: bool) -> None:
    """Cancel the pending return of freed memory (a photo starts) and, with ``schedule`` (one ended),
    schedule it anew."""
    global _idle_trim
    from providers.localengine import models

    if _idle_trim is not None:
        _idle_trim.cancel()
        _idle_trim = None
    if schedule:
        _idle_trim = threading.Timer(IDLE_TRIM_SECONDS, models.release_freed_memory)
        _idle_trim.daemon = True
        _idle_trim.start()


def _resident_bytes() -> int:
    """This process's resident memory (Linux's /proc/self/statm; 0 where there is none)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _id_photo(image: bytes, options: Mapping[str, Any], preview: bool) -> tuple[bytes, dict[str, Any]] | str:
    """:func:`_make_id_photo`, then what it freed given back to the system: at once past
    ``TRIM_ABOVE_BYTES``, else once the worker is idle."""
    from providers.localengine import models

    _trim_when_idle(False)
    try:
        return _make_id_photo(image, options, preview)
    finally:
        if _resident_bytes() > TRIM_ABOVE_BYTES:
            models.release_freed_memory()
        else:
            _trim_when_idle(True)


def _make_id_photo(image: bytes, options: Mapping[str, Any], preview: bool) -> tuple[bytes, dict[str, Any]] | str:
    """The photo and its placement report; for a ``preview``, made however doubtful its cut-out,
    with its checklist in the report (``options["mm"]``: the print's size)."""
    from providers.localengine.faces import FaceCheckError
    from providers.localengine.measure import report_of
    from providers.localengine.pipeline import make_id_photo, render_id_photo

    make = render_id_photo if preview else make_id_photo
    try:
        photo = make(
            image,
            size=(int(options["px_width"]), int(options["px_height"])),
            dpi=int(options["dpi"]),
            bg_color=str(options["bg_color"]),
            bg_color2=options.get("bg_color2"),
            rule=str(options["rule"]),
        )
    except FaceCheckError as err:
        return err.code
    if not preview:
        return photo.data, photo.report()
    mm = (float(options["mm"][0]), float(options["mm"][1]))
    report = report_of(
        photo.data,
        str(options["bg_color"]),
        photo.rule,
        mm,
        shares=photo.shares,
        cut_out=photo.cut_out,
        hands=photo.hands,
    )
    return photo.data, report


def _report(
    image: bytes | Path, bg_color: str, rule: str, mm: tuple[float, float], checklist: bool
) -> dict[str, Any] | None:
    from providers.localengine.measure import placement_of, report_of

    data = _read(image)
    return report_of(data, bg_color, rule, mm) if checklist else placement_of(data, bg_color, rule)


class _Slot:
    """One of the worker's processes: None until started, and after :meth:`EngineWorker.close`;
    ``busy`` while it answers a call."""

    def __init__(self) -> None:
        self.process: EngineProcess | None = None
        self.busy = False


class EngineWorker:
    def __init__(self, processes: int, allowance: Mapping[Urgency, float] = ALLOWANCE) -> None:
        self.processes = processes
        self.allowance = allowance
        self._slots = [_Slot() for _ in range(processes)]
        self._lock = threading.Lock()
        #: Photos being made or waiting (in this event loop's process).
        self.pending = 0
        #: Photos handed to the engine since start (every face check and ID photo counts one).
        self.started = 0
        #: Whether its processes load the cut-out models as they start (see :meth:`warm`).
        self.warm_cutout = False
        #: Processes free for a call; calls waiting for one, by when their allowance runs out, then in
        #: the order they came; the loop they wait in.
        self._free: list[_Slot] = list(self._slots)
        self._waiting: list[tuple[float, int, asyncio.Future[_Slot]]] = []
        self._arrivals = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Told how long each call waited for a process (its urgency, seconds): the bot's metrics.
        self.waited: Callable[[Urgency, float], None] | None = None
        #: Processes ended under a call since start, by why (``ENDINGS``).
        self.endings = dict.fromkeys(ENDINGS, 0)
        #: Whether a process that ends is replaced at once: from the first call or :meth:`warm` until
        #: :meth:`close`.
        self._replace = False

    def _started(self, slot: _Slot) -> EngineProcess:
        """The slot's process, started now if it has none."""
        with self._lock:
            self._replace = True
            if slot.process is None:
                slot.process = EngineProcess(_start, (os.getpid(), self.warm_cutout))
            return slot.process

    def warm(self, *, cutout: bool) -> None:
        """Start the worker processes now, without waiting for them: each loads the face models as
        it starts, while the bot connects, instead of during its first photo, and the cut-out
        models too with ``cutout`` (where the local engine makes ID photos)."""
        self.warm_cutout = self.warm_cutout or cutout
        for slot in self._slots:
            self._started(slot)

    def pids(self) -> list[int]:
        """The process ids of the worker's processes running now."""
        return [slot.process.pid for slot in self._slots if slot.process is not None and slot.process.pid]

    def close(self) -> None:
        """End the worker's processes and wait for them (a test's or a benchmark's end; the bot's
        interpreter ends them on exit). A process answering a call is killed, and that call ends it
        (its socket is still awaited there). A later call starts new ones."""
        with self._lock:
            self._replace = False
            for slot in self._slots:
                if slot.process is not None and slot.busy:
                    slot.process.kill()
                elif slot.process is not None:
                    slot.process.close()
                    slot.process = None

    def _ended(self, slot: _Slot, process: EngineProcess, *, replace: bool) -> None:
        """The slot's ``process`` is gone (killed, crashed, or its answer lost). With ``replace`` (a
        call's process, not one whose event loop is being torn down) another starts now and loads
        the models while no call waits for it: started by the next call instead, that call waited
        the second or so a start takes, a person at a button after a crash. A start that fails
        leaves the slot empty, for the next call to try again."""
        with self._lock:
            if slot.process is not process:  # ended and replaced already
                return
            slot.process = None
            process.kill()
            process.reap()
            if replace and self._replace:
                try:
                    slot.process = EngineProcess(_start, (os.getpid(), self.warm_cutout))
                except Exception:
                    log.exception("could not start a local engine process; the next photo tries again")

    def _on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop (a test's) uses the worker: nothing of the last one waits any more, and a
        process still answering one of its calls would answer no one, so it is ended."""
        if loop is self._loop:
            return
        self._loop, self._waiting, self._free = loop, [], list(self._slots)
        for slot in self._slots:
            if slot.busy and slot.process is not None:
                slot.busy = False
                self._ended(slot, slot.process, replace=False)

    async def _turn(self, urgency: Urgency) -> tuple[asyncio.AbstractEventLoop, _Slot]:
        """Wait until a worker process is free for this call: behind calls whose allowance
        (``allowance``) runs out before its own, from when each came. The caller then holds the
        process until :meth:`_hand_on` is called for it; the running loop is returned with it."""
        loop = asyncio.get_running_loop()
        self._on_loop(loop)
        asked = loop.time()
        if self._free and not self._waiting:
            slot = self._free.pop()
        else:
            turn: asyncio.Future[_Slot] = loop.create_future()
            heapq.heappush(self._waiting, (asked + self.allowance[urgency], next(self._arrivals), turn))
            try:
                slot = await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed the process just as it was cancelled
                    self._hand_on(loop, turn.result())
                raise
        if self.waited is not None:
            try:
                self.waited(urgency, loop.time() - asked)
            except Exception:  # a metric must not cost the call its process
                log.exception("the local engine's wait could not be recorded")
        return loop, slot

    def _hand_on(self, loop: asyncio.AbstractEventLoop, slot: _Slot) -> None:
        """A call is done with its process: the next waiting call takes it, or it is free. (A call
        of an event loop gone since is nothing to this one.)"""
        if loop is not self._loop:
            return
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():  # not cancelled while it waited
                turn.set_result(slot)
                return
        self._free.append(slot)

    def _answered(
        self, loop: asyncio.AbstractEventLoop, slot: _Slot, process: EngineProcess, call: asyncio.Task[Any]
    ) -> None:
        """The process is done with a call (answered, failed, or ended): only then is it free, however
        long ago its caller stopped waiting for it (a cancelled job; a time-out). A call cancelled
        half-way (its event loop closing) left its answer in the socket, and one killed at its time
        limit may have answered just before: either way that process is ended."""
        slot.busy = False
        try:
            if call.cancelled() or isinstance(call.exception(), ProcessEnded) or process.killed:
                self._ended(slot, process, replace=not call.cancelled())
        finally:
            self._hand_on(loop, slot)

    async def _run(self, function: Callable[..., T], *args: Any, limits: EngineLimits, urgency: Urgency) -> T:
        room = int(limits.queue_limit * PREVIEW_ROOM) if urgency is Urgency.PREVIEW else limits.queue_limit
        if self.pending >= self.processes + room:
            raise EngineBusy("local engine: queue full", provider="local")
        self.pending += 1
        self.started += 1
        try:
            loop, slot = await self._turn(urgency)
            try:
                process = self._started(slot)
            except BaseException:
                self._hand_on(loop, slot)
                raise
            slot.busy = True
            call = loop.create_task(process.call(function, *args))
            call.add_done_callback(partial(self._answered, loop, slot, process))
            # Waited for without cancelling it: a call ends with its answer (see _answered).
            await asyncio.wait((call,), timeout=limits.time_limit)
            if not call.done():  # else it answered, if only as its time ran out (the loop busy)
                log.error("a photo took the local engine more than %gs; its process was ended", limits.time_limit)
                process.kill()
                self.endings["time_limit"] += 1
                raise EngineTimeout("local engine: time limit", provider="local")
            try:
                result: T = call.result()  # its value, or what it raised (its own TimeoutError too)
                return result
            except ProcessEnded as err:
                log.error("the local engine's worker process died; a new one takes the next photo")
                self.endings["crashed"] += 1
                raise EngineCrashed("local engine worker died", provider="local") from err
        finally:
            self.pending -= 1

    async def inspect(self, image: bytes | Path, limits: EngineLimits = EngineLimits()) -> FaceFindings:
        """What the face check finds in the photo, or in the stored file at that path (see
        FaceFindings)."""
        return await self._run(_inspect, image, limits=limits, urgency=Urgency.CHECK)

    async def report(
        self,
        image: bytes | Path,
        bg_color: str,
        rule: str,
        mm: tuple[float, float],
        limits: EngineLimits = EngineLimits(),
        *,
        checklist: bool,
    ) -> dict[str, Any] | None:
        """Where the head is in a finished ID photo (or the stored file at that path) of ``mm``
        (width, height), with its checklist where one is shown (measure.report_of), else alone
        (measure.placement_of)."""
        return await self._run(_report, image, bg_color, rule, mm, checklist, limits=limits, urgency=Urgency.RESULT)

    async def make_id_photo(
        self,
        image: bytes,
        options: Mapping[str, Any],
        limits: EngineLimits = EngineLimits(),
        *,
        preview: bool = False,
        free: bool = False,
    ) -> tuple[bytes, dict[str, Any]]:
        """The finished ID photo for the job's options (``rule`` names its placement rule), and the
        placement report (rule and measured shares); raises FaceProblem. A ``preview`` is made
        whatever its cut-out (the person sees it before paying), and its report holds the
        checklist (``options["mm"]``: the size of the print in millimetres). A ``free`` one (a free
        preview) waits behind paid photos, and is busy once the queue is ``PREVIEW_ROOM`` full."""
        urgency = Urgency.PREVIEW if free else Urgency.PHOTO
        result = await self._run(_id_photo, image, dict(options), preview, limits=limits, urgency=urgency)
        if isinstance(result, str):
            raise FaceProblem(result)
        return result


_shared: EngineWorker | None = None
_shared_lock = threading.Lock()


def shared_worker(processes: int = 1) -> EngineWorker:
    """The process-wide engine worker (its number of processes is fixed by the first caller)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = EngineWorker(processes)
        return _shared
