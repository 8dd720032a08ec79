"""Watching provider accounts that count their paid uses (Hili's ``/company/nums``).

Every ``check_interval`` seconds each such account is asked how many uses it has left. Below its
``alert_below`` the admins are told once (again only after it recovered); at 0 its provider is
taken out of service, so its services leave the menu (or fall back to the next provider) instead
of failing every order, until uses return. One process checks (bot/main/app.py's upkeep); with
several (``shared``) the counts go through the database, and every process takes them on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.ops.provider_state import ProviderStates, SharedState
from providers.base import TaskProvider
from providers.errors import ProviderError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsesRule:
    #: Seconds between two checks, and the count at which the admins are told.
    check_interval: float
    alert_below: int


class AccountWatch:
    def __init__(
        self,
        providers: Mapping[str, TaskProvider[Any]],
        rules: Mapping[str, UsesRule],
        alert: Callable[[str, int], Awaitable[None]],
        shared: ProviderStates | None = None,
    ) -> None:
        self.shared = shared
        self.providers = providers
        self.rules = {name: rule for name, rule in rules.items() if name in providers}
        self.alert = alert
        #: The last count each account reported.
        self.uses: dict[str, int] = {}
        #: What the admins were last told of each account: "low" or "none" (no uses left).
        self._told: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        #: Set after every check of any account (tests wait on it).
        self.checked = asyncio.Event()

    @property
    def exhausted(self) -> frozenset[str]:
        """Providers whose account has no uses left: out of service until uses return."""
        return frozenset(name for name, uses in self.uses.items() if uses <= 0)

    async def check(self, name: str) -> int | None:
        """Ask one account; alert or take it out of service as its count says."""
        try:
            return await self._check(name)
        finally:
            self.checked.set()

    async def _check(self, name: str) -> int | None:
        try:
            uses = await self.providers[name].uses_left()
        except ProviderError as err:  # unknown for now: the last count stands
            log.warning("could not read %s's remaining uses: %s", name, err)
            return None
        if uses is None:
            return None
        before, self.uses[name] = self.uses.get(name), uses
        if self.shared is not None:
            await self.shared.set_uses(name, uses)
        if uses <= 0 and (before is None or before > 0):
            log.error("%s has no paid uses left: its services are out of service until uses return", name)
        elif uses > 0 and before is not None and before <= 0:
            log.info("%s has %d paid uses again: back in service", name, uses)
        await self._tell(name, uses)
        return uses

    async def _tell(self, name: str, uses: int) -> None:
        """Told once when the count falls below the threshold, once more when it reaches 0."""
        told, rule = self._told.get(name), self.rules[name]
        if uses <= 0 and told != "none":
            self._told[name] = "none"
            await self.alert(name, uses)
        elif 0 < uses < rule.alert_below and told is None:
            self._told[name] = "low"
            await self.alert(name, uses)
        elif uses >= rule.alert_below:
            self._told.pop(name, None)
        elif uses > 0 and told == "none":
            self._told[name] = "low"

    def take_on(self, states: Mapping[str, SharedState]) -> None:
        """Take on the counts the checking process recorded (ProviderStates.read)."""
        for name, state in states.items():
            if name in self.rules and state.uses_left is not None:
                self.uses[name] = state.uses_left

    def start(self) -> None:
        for name, rule in self.rules.items():
            self._tasks.append(asyncio.create_task(self._run(name, rule), name=f"uses-{name}"))

    async def _run(self, name: str, rule: UsesRule) -> None:
        while True:
            try:
                await self.check(name)
            except Exception:  # a database that failed to record a count, say
                # One failed check costs one count; before, it ended the watch for good, silently.
                log.exception("could not check %s's remaining uses", name)
            await asyncio.sleep(rule.check_interval)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._tasks.clear()
