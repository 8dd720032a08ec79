"""Scripted faults for any fake server: the next requests to a named route fail, or are slow.

Every fake names its routes ("create", "query", "result", ...). A test queues faults for a
route; each request to it takes the next one, before the fake's own handler runs:

- ``Fault.error(500)``: that HTTP status with a JSON body, the handler never runs
  (``Fault.error(503, delay=70)``: answered that many seconds later);
- ``Fault.malformed()``: HTTP 200 whose body is not JSON;
- ``Fault.dropped()``: the connection is cut with no answer;
- ``Fault.slow(seconds)``: the answer is held that long, then the handler runs. Held past
  the client's timeout, this is a timeout, and the request still takes effect, as it would
  at a real provider that got the request but answered too late.

A fake whose rules are about time (a token valid two minutes) runs on a clock the test moves
(tests.fakes.clock.ManualClock); its faults then take their delays on that clock, at once,
instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.clock import ManualClock

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 200
    delay: float = 0.0

    @classmethod
    def error(cls, status: int, delay: float = 0.0) -> Fault:
        return cls("error", status=status, delay=delay)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def dropped(cls) -> Fault:
        return cls("dropped")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("slow", delay=seconds)


class Faults:
    """The queued faults of one fake server, and a record of those it applied."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        #: The fake's clock, when the test moves it: delays are taken on it instead of slept.
        self.clock = clock
        self.queued: dict[str, list[Fault]] = {}
        self.permanent: dict[str, Fault] = {}
        self.applied: list[tuple[str, Fault]] = []

    def add(self, route: str, fault: Fault, times: int = 1) -> None:
        self.queued.setdefault(route, []).extend([fault] * times)

    def always(self, route: str, fault: Fault) -> None:
        """Every request to ``route`` fails this way from now on."""
        self.permanent[route] = fault

    def clear(self) -> None:
        self.queued.clear()
        self.permanent.clear()

    def count(self, route: str) -> int:
        return sum(1 for name, _ in self.applied if name == route)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name or ""
        queue = self.queued.get(route)
        fault = queue.pop(0) if queue else self.permanent.get(route)
        if fault is None:
            return await handler(request)
        self.applied.append((route, fault))
        if fault.delay:
            await self._wait(fault.delay)
        if fault.kind == "slow":
            return await handler(request)
        if fault.kind == "error":
            return web.json_response({"error": "injected fault", "status": fault.status}, status=fault.status)
        if fault.kind == "malformed":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError("connection dropped by the fake")

    async def _wait(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)
