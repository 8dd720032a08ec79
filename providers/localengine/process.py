"""One process of the local engine, and the calls it answers over a socket.

A call is a function and its arguments, pickled and framed (an 8-byte length, then the pickle) down
a Unix socket pair; the process answers each with one frame: the function's value, or the exception
it raised. In the bot's process the event loop itself sends and reads (``loop.sock_sendall``,
``loop.sock_recv``), so a call costs no thread. ``concurrent.futures.ProcessPoolExecutor``, used
before, moved every call through two threads of its own (a queue feeder, a result reader), each
waiting for the GIL from a busy event loop, about 0.3 ms of the bot's CPU a call more
(docs/benchmarks.md); and it could stop a call running too long only by ending every process.

A process answers one call at a time, in the order they come; the caller (``worker.EngineWorker``)
sends the next only once the last is answered.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import pickle
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any

#: The frame's header: the pickle's length.
_HEADER = struct.Struct("!Q")
#: How much one read from the socket takes at most.
_READ = 1 << 16
#: How long :meth:`EngineProcess.reap` waits for a process to end (it blocks the event loop, only
#: after a process was killed or crashed).
REAP_SECONDS = 0.1
#: The modules besides the standard library's that an exception coming back may name (its class, or
#: anything it holds): Pillow's and photobot's own that import no numpy. Rebuilding an exception
#: imports every module it names into the bot's process, and numpy's or onnxruntime's would load there
#: what the engine's processes exist to keep out of it (about 30 MB for numpy alone); an exception
#: naming another comes back as text.
_REBUILT_FROM = frozenset(
    {
        "providers.errors",
        "providers.localengine.findings",
        "providers.localengine.process",
        "providers.localengine.worker",
    }
)


class ProcessEnded(Exception):
    """The engine process ended (killed, or crashed in native code) before it answered."""


def _frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _receive(sock: socket.socket) -> bytes | None:
    """The next frame's pickle, read blocking (in the engine's process); None at the end of the stream."""
    head = _exactly(sock, _HEADER.size)
    if head is None:
        return None
    body = _exactly(sock, _HEADER.unpack(head)[0])
    if body is None:
        raise EOFError("the socket closed inside a frame")
    return body


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            return None
        got += count
    return bytes(buffer)


class _BotSideUnpickler(pickle.Unpickler):
    """Rebuilds what the bot's process may rebuild: classes of the standard library's modules and of
    ``_REBUILT_FROM``'s, and of Pillow's."""

    def find_class(self, module: str, name: str) -> Any:
        top = module.partition(".")[0]
        if top in sys.stdlib_module_names or top == "PIL" or module in _REBUILT_FROM:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not rebuilt in the bot's process")


def _as_rebuilt(err: BaseException) -> bytes | None:
    """``err`` framed, where the bot's process can rebuild it without importing a module it does not
    load (see ``_REBUILT_FROM``); None where not (or where it cannot be pickled at all)."""
    if not isinstance(err, Exception):  # SystemExit, KeyboardInterrupt: not the bot's to raise
        return None
    try:
        framed = _frame((False, err))
        _BotSideUnpickler(io.BytesIO(framed[_HEADER.size :])).load()
    except Exception:  # noqa: BLE001 - whatever fails to pickle or rebuild is sent as its text
        return None
    return framed


def _answer(request: bytes) -> bytes:
    """The framed answer to one call (a pickled function and its arguments): ``(True, value)``, or
    ``(False, exception)`` with the traceback of the engine's process as a note, whatever failed (the
    request's unpickling too: the process answers on). An exception that cannot be pickled, or whose
    rebuilding would import another library into the bot's process (``_REBUILT_FROM``), comes back
    as a RuntimeError with its text."""
    try:
        function, args = pickle.loads(request)
        return _frame((True, function(*args)))
    except BaseException as err:  # noqa: BLE001 - every failure is the caller's to see
        err.add_note("".join(traceback.format_exception(err)))
        framed = _as_rebuilt(err)
        return framed or _frame((False, RuntimeError(f"{type(err).__name__}: {err}\n{err.__notes__[-1]}")))


def _serve(sock: socket.socket, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    """The engine process: run ``initializer``, then answer calls until the bot's end of the socket
    closes. Ctrl-C in the bot's terminal reaches every process of its group: the bot, not the
    engine, decides when the engine stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    initializer(*initargs)
    with sock:
        while (request := _receive(sock)) is not None:
            sock.sendall(_answer(request))


class EngineProcess:
    """A spawned engine process (spawn: a fork of the bot would copy its event loop, sockets and
    threads), a daemon: the interpreter ends it on exit."""

    def __init__(self, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
        ours, theirs = socket.socketpair()
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=_serve, args=(theirs, initializer, initargs), name="photobot-engine", daemon=True
        )
        try:
            self._process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        #: Whether :meth:`kill` ended it: an answer that came all the same is not to be trusted to
        #: the next call, the process being gone.
        self.killed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` run in the process; raises what it raised, or ProcessEnded. Not to be
        cancelled half-way: the answer would be left in the socket (the caller waits for it without
        cancelling it, and ends the process where it was cancelled all the same)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendall(self._sock, _frame((function, args)))
            answer = bytearray()
            size = None
            while size is None or len(answer) < _HEADER.size + size:
                more = await loop.sock_recv(self._sock, _READ)
                if not more:
                    raise ProcessEnded("the engine process ended before it answered")
                answer += more
                if size is None and len(answer) >= _HEADER.size:
                    size = _HEADER.unpack_from(answer)[0]
        except (BrokenPipeError, ConnectionResetError) as err:
            raise ProcessEnded("the engine process ended") from err
        ok, value = pickle.loads(memoryview(answer)[_HEADER.size :])
        if not ok:
            raise value
        return value

    def kill(self) -> None:
        """End the process now: a call in it raises ProcessEnded (:meth:`reap` then closes the socket)."""
        self.killed = True
        self._process.kill()

    def close(self) -> None:
        """End the process, wait for it, and close the socket (no call may be waiting on it)."""
        self.kill()
        self._process.join()
        self._sock.close()

    def reap(self) -> None:
        """Close the socket, and collect the exit of the process once it has ended, waiting at most
        ``REAP_SECONDS`` (a process just killed takes a few milliseconds to end; one still there is
        collected by multiprocessing as it starts the next)."""
        self._process.join(timeout=REAP_SECONDS)
        self._sock.close()
