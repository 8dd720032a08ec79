"""Per-user request limit (a sliding one-minute window of messages and button presses), per-user
turns (one at a time of a kind of work) and the process-wide budget of memory for decoding images."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

WINDOW = 60.0


class RequestLimiter:
    """Allows ``allowed`` requests per user in any ``window`` seconds (60: a minute); tells
    the user once per window."""

    def __init__(self, allowed: int, clock: Callable[[], float] = time.monotonic, window: float = WINDOW) -> None:
        self.allowed = allowed
        self.window = window
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}
        #: The album each user last sent, whose other messages pass as part of it.
        self._albums: dict[int, str] = {}
        self._pruned = 0.0

    def allow(self, user_id: int, album: str | None = None) -> bool:
        """Whether the user may send this request now. The messages of an album (its
        ``media_group_id``: Telegram sends one per photo) count as one request, the first."""
        if album is not None and self._albums.get(user_id) == album:
            return True
        now = self._clock()
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.allowed:
            return False
        times.append(now)
        if album is not None:
            self._albums[user_id] = album
        if now - self._pruned >= self.window:  # once a window, forget users who have been quiet all of it
            self._pruned = now
            for quiet in [u for u, t in self._seen.items() if not t or now - t[-1] >= self.window]:
                self._seen.pop(quiet, None)
                self._warned.pop(quiet, None)
                self._albums.pop(quiet, None)
        return True

    def __len__(self) -> int:
        """Users remembered (those active within about two windows)."""
        return len(self._seen)

    def should_warn(self, user_id: int) -> bool:
        """True once per window for a user who is over the limit."""
        now = self._clock()
        if now - self._warned.get(user_id, -self.window) < self.window:
            return False
        self._warned[user_id] = now
        return True


class Turns:
    """One at a time per user: a user's second :meth:`turn` waits until the first ends. A user's
    lock lives only while someone holds or waits for it, so memory follows the users active now."""

    def __init__(self) -> None:
        #: Per user, the lock and how many hold or wait for it.
        self._turns: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        lock, waiting = self._turns.get(user_id, (asyncio.Lock(), 0))
        self._turns[user_id] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._turns[user_id]
            if waiting == 1:
                del self._turns[user_id]
            else:
                self._turns[user_id] = (lock, waiting - 1)


class DecodeBudget:
    """Bytes of decoded pixels the whole process may hold at once, and one decode per user. A
    decode waits until its user has none under way and its cost fits beside the others; one
    costlier than the whole budget waits until it runs alone. So a few huge uploads run one
    after another instead of together, photos of ordinary size (a few MB each) pass side by
    side, and one user sending many at once takes one share."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._decoding: set[int] = set()
        self._changed = asyncio.Condition()
        #: The upload of each user being taken in (see :meth:`turn`).
        self._turns = Turns()

    @contextlib.asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        """One upload of a user taken in at a time, its download included: the others wait before
        theirs. A user sending albums and files at once had every one downloaded (up to 20 MB
        each) while they waited for their decode, 26 at once in a review's run (about 500 MB)."""
        async with self._turns.turn(user_id):
            yield

    def _fits(self, user_id: int, cost: int) -> bool:
        return user_id not in self._decoding and (self.used == 0 or self.used + cost <= self.total)

    @contextlib.asynccontextmanager
    async def reserve(self, user_id: int, cost: int) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: self._fits(user_id, cost))
            self.used += cost
            self._decoding.add(user_id)
        try:
            yield
        finally:
            async with self._changed:
                self.used -= cost
                self._decoding.discard(user_id)
                self._changed.notify_all()
