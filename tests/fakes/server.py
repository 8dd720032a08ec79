"""Runs an aiohttp application on 127.0.0.1 with an OS-chosen port, in the test's event loop,
over plain http or, given a certificate (tests.fakes.tls), over https."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from aiohttp import web

from tests.fakes.clock import ManualClock
from tests.fakes.faults import Faults

#: Where free_port picks from: below the kernel's range for the ports it hands out itself
#: (/proc/sys/net/ipv4/ip_local_port_range, 32768 and up by default), a thousand for each pytest-xdist
#: worker.
PICKED_PORTS = 20000
PORTS_PER_WORKER = 1000


def free_port() -> int:
    """A free port for a server a test configures before it starts (the bot's own web server). A
    port the kernel hands out (binding port 0) could go, between this pick and the bind, to a fake's
    server or an outgoing connection, which take ports from the kernel's range: it happened in CI
    ("address already in use"). So it is picked below that range, in this xdist worker's own
    thousand, and tried as the server will bind it (SO_REUSEADDR, as asyncio does)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    start = PICKED_PORTS + worker * PORTS_PER_WORKER
    for port in random.sample(range(start, start + PORTS_PER_WORKER), PORTS_PER_WORKER):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + PORTS_PER_WORKER - 1}")


class LoopbackServer:
    def __init__(self, app: web.Application, clock: ManualClock | None = None) -> None:
        self.app = app
        #: Faults scripted for the app's named routes (see tests.fakes.faults), their delays taken
        #: on ``clock`` when the test moves the fake's time by hand.
        self.faults = Faults(clock)
        app.middlewares.insert(0, self._record)  # outermost: a request a fault answers is recorded too
        app.middlewares.append(self.faults.middleware)
        self._runner: web.AppRunner | None = None
        self.port = 0
        #: Set by serve_tls: the server's certificate, and it answers https only.
        self.tls: ssl.SSLContext | None = None
        #: Every request the app answered: its route's name and its scheme ("http" or "https").
        self.served: list[tuple[str, str]] = []

    def serve_tls(self, context: ssl.SSLContext) -> None:
        """Answer https with ``context``'s certificate instead of http (before ``start``)."""
        self.tls = context

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        self.served.append((request.match_info.route.name or "", request.scheme))
        return await handler(request)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, ssl_context=self.tls)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class FakeService:
    """What every fake provider shares: a loopback server, background tasks it runs (state
    changes, callbacks), an HTTP client for those callbacks, and waiting on its changes."""

    def __init__(self, app: web.Application) -> None:
        self.server = LoopbackServer(app)
        self._background: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._http = httpx.AsyncClient(timeout=5)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._http.aclose()
        await self.server.stop()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy after some change in the fake; return its value."""

        async def loop() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(loop(), timeout)

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()
