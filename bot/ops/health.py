"""How each provider is doing, from the calls the job runner makes: for the operator's /stats and
/metrics, and for failover.

A provider is *down* when it refused the bot's credentials, ran out of paid credits, or has failed
(unreachable, timing out, server errors, throttling) for ``failing_for`` seconds without a single
success. While it is down, services it serves go to their next provider (ID photos to the local
engine, bot/services/registry.enabled). After ``retry_after`` seconds it is offered again for one
order: a success brings it back, a failure puts it down for another ``retry_after``. The admins
are told when a provider goes down and when it is back; a job a provider accepted stays with it.

With several processes (``shared``, bot/ops/provider_state.py) a provider going down or coming back
is recorded in the database: the workers that make the calls see it happen, the bot process that
places orders reads it every few seconds (``take_on``, bot/main/app.py), and the admins are told once,
by the process that recorded it. The counters (calls, errors, last success) are each process's;
each reports them with its presence (bot/ops/presence.py), and /stats adds them up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.ops.provider_state import ProviderStates, SharedState
from providers.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    QuotaExceeded,
    RateLimited,
    ServerError,
)

log = logging.getLogger(__name__)

Problem = Literal["credentials", "quota", "failing"]
#: Called when a provider goes down (with why) or comes back (None).
OnChange = Callable[[str, Problem | None], Awaitable[None]]


def problem_of(error: ProviderError) -> Problem | None:
    """What an error says about the provider itself (a photo it cannot use says nothing)."""
    # By code: each provider has its own classes for these (Hili's QuotaExhausted, say).
    if error.code == AuthenticationError.code:
        return "credentials"
    if error.code == QuotaExceeded.code:
        return "quota"
    if isinstance(error, (ProviderConnectionError, RateLimited, ServerError)) or (
        isinstance(error, ProviderStatusError) and error.status == 408
    ):
        return "failing"
    return None


@dataclass
class ProviderRecord:
    """One provider's counters since start, and its state."""

    calls: int = 0
    errors: int = 0
    #: Wall-clock time of the last call that worked, or None.
    last_success: float | None = None
    #: Why it is down, or None.
    problem: Problem | None = None
    #: Since when calls have kept failing (monotonic), while they do.
    failing_since: float | None = None
    #: When it may be offered again for one order (monotonic), while down.
    retry_at: float = 0.0
    errors_by_code: dict[str, int] = field(default_factory=dict)


class ProviderHealth:
    def __init__(
        self,
        *,
        failing_for: float,
        retry_after: float,
        on_change: OnChange | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared: ProviderStates | None = None,
    ) -> None:
        self.shared = shared
        self.failing_for = failing_for
        self.retry_after = retry_after
        self.on_change = on_change
        self._clock = clock
        self.records: dict[str, ProviderRecord] = {}

    def record_of(self, provider: str) -> ProviderRecord:
        return self.records.setdefault(provider, ProviderRecord())

    async def record(self, provider: str, error: ProviderError | None) -> None:
        """One call to ``provider``: it worked (``error`` None) or failed with ``error``."""
        record = self.record_of(provider)
        record.calls += 1
        now = self._clock()
        if error is not None:
            record.errors += 1
            record.errors_by_code[error.code] = record.errors_by_code.get(error.code, 0) + 1
        problem = problem_of(error) if error is not None else None
        if problem is None:
            # It answered: a photo it could not use is no fault of the provider.
            record.last_success = time.time()
            record.failing_since = None
            if record.problem is not None:
                record.problem = None
                log.warning("provider %s works again", provider)
                if await self._record_shared(provider, None, 0.0):
                    await self._changed(provider, None)
            return
        if problem == "failing":
            record.failing_since = record.failing_since if record.failing_since is not None else now
            if now - record.failing_since < self.failing_for and record.problem is None:
                return
        was = record.problem
        record.problem = problem
        record.retry_at = now + self.retry_after
        if was is None:
            log.error("provider %s is down (%s): its services go to the next provider", provider, problem)
            if await self._record_shared(provider, problem, record.retry_at):
                await self._changed(provider, problem)

    def _wall(self, monotonic: float) -> float:
        return time.time() + (monotonic - self._clock())

    async def _record_shared(self, provider: str, problem: Problem | None, retry_at: float) -> bool:
        """Record the change for every process; False when another had recorded it already."""
        if self.shared is None:
            return True
        return await self.shared.change(provider, problem, self._wall(retry_at))

    def take_on(self, states: Mapping[str, SharedState]) -> None:
        """Take on what other processes recorded (ProviderStates.read): which providers are
        down, and until when."""
        now = self._clock()
        for provider, state in states.items():
            record = self.record_of(provider)
            record.problem = state.problem  # type: ignore[assignment]  # written from a Problem
            record.retry_at = now + max(0.0, state.retry_at - time.time()) if state.problem else 0.0

    async def _changed(self, provider: str, problem: Problem | None) -> None:
        if self.on_change is not None:
            try:
                await self.on_change(provider, problem)
            except Exception:  # telling the admins must not break the job that noticed
                log.exception("could not report the state of provider %s", provider)

    def down(self) -> frozenset[str]:
        """Providers not to send new orders to now (those due for another try are offered)."""
        now = self._clock()
        return frozenset(name for name, r in self.records.items() if r.problem is not None and now < r.retry_at)

    async def offered_again(self, provider: str) -> None:
        """An order went to a down provider on trial: the next waits ``retry_after`` again."""
        record = self.record_of(provider)
        if record.problem is not None:
            record.retry_at = self._clock() + self.retry_after
            if self.shared is not None:
                await self.shared.postpone(provider, self._wall(record.retry_at))
