"""Each provider's state in the database, for bot and worker processes to agree on it: the
workers see a provider fail (bot/ops/health.py) and the upkeep process reads its paid uses
(bot/ops/accounts.py), while the bot process decides where new orders go. A provider going down or
coming back is recorded with a compare-and-set, so that the admins are told once, by whichever
process saw it first. Each process reads the table every ``SYNC_INTERVAL`` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.storage.store import Store

#: Seconds between two reads of every provider's state.
SYNC_INTERVAL = 2.0


@dataclass(frozen=True)
class SharedState:
    #: Why it is down ("credentials", "quota", "failing"), or None.
    problem: str | None
    #: When it may be offered one order again (seconds since the epoch), while down.
    retry_at: float
    #: Paid uses its account had left at the last check, or None if never checked.
    uses_left: int | None


class ProviderStates:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _ensure(self, provider: str) -> None:
        await self.store.write(
            "INSERT INTO provider_state (provider, updated_at) VALUES (?, ?) ON CONFLICT (provider) DO NOTHING",
            (provider, time.time()),
        )

    async def change(self, provider: str, problem: str | None, retry_at: float) -> bool:
        """Record that ``provider`` went down (``problem``) or came back (None); True when this
        call changed it, False when another process had recorded it already."""
        await self._ensure(provider)
        return (
            await self.store.write(
                "UPDATE provider_state SET problem = ?, retry_at = ?, updated_at = ?"
                " WHERE provider = ? AND COALESCE(problem, '') <> COALESCE(?, '')",
                (problem, retry_at, time.time(), provider, problem),
            )
            == 1
        )

    async def postpone(self, provider: str, retry_at: float) -> None:
        """A down provider got its trial order: the next waits until ``retry_at``."""
        await self.store.write(
            "UPDATE provider_state SET retry_at = ?, updated_at = ? WHERE provider = ? AND problem IS NOT NULL",
            (retry_at, time.time(), provider),
        )

    async def set_uses(self, provider: str, uses: int) -> None:
        await self._ensure(provider)
        await self.store.write(
            "UPDATE provider_state SET uses_left = ?, updated_at = ? WHERE provider = ?", (uses, time.time(), provider)
        )

    async def first_to_tell(self, provider: str, problem: str, now: float, repeat_after: float) -> bool:
        """Claim telling the admins of ``problem`` at ``provider`` (seconds since the epoch
        ``now``): True unless a process (this one, another, or one before a restart) told it
        less than ``repeat_after`` seconds ago."""
        return (
            await self.store.write(
                "INSERT INTO operator_alerts (provider, problem, told_at) VALUES (?, ?, ?)"
                " ON CONFLICT (provider, problem) DO UPDATE SET told_at = excluded.told_at"
                " WHERE operator_alerts.told_at <= ?",
                (provider, problem, now, now - repeat_after),
            )
            == 1
        )

    async def read(self) -> dict[str, SharedState]:
        rows = await self.store.fetchall("SELECT provider, problem, retry_at, uses_left FROM provider_state")
        return {row["provider"]: SharedState(row["problem"], float(row["retry_at"]), row["uses_left"]) for row in rows}
