"""Every process of a deployment, seen from the bot process's /metrics.

Workers have no HTTP port to scrape, and a worker that died leaves only its jobs' leases to run out.
So each process writes its row in ``processes`` every ``INTERVAL`` seconds (by the database's clock,
like the leases): its role, when it started, its local engine's figures; and deletes it as it stops.
/metrics then shows each process as up (seen within ``UP_WITHIN`` seconds) or not, how long since it
was seen, when it started, the jobs it holds leases on, and its engine's queue and losses. A process gone without a
word (SIGKILL, a lost machine) shows as down for a day (``FORGOTTEN_AFTER``), then its row goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.storage.jobs import UNFINISHED
from bot.storage.store import DATABASE_ERRORS, Store
from providers.localengine.worker import EngineWorker

log = logging.getLogger(__name__)

#: Seconds between two reports of a process.
INTERVAL = 10.0
#: A process seen within this many seconds is up (three reports missed: it is not).
UP_WITHIN = 3 * INTERVAL
#: A process not seen for this many seconds is forgotten (its row deleted).
FORGOTTEN_AFTER = 86400.0


@dataclass(frozen=True)
class EngineFigures:
    """A process's local engine: calls under way or waiting, calls since start, processes ended
    under a call since start (by why: time_limit, crashed)."""

    pending: int
    started: int
    endings: Mapping[str, int]


@dataclass(frozen=True)
class Presence:
    name: str
    role: str
    started_at: float
    seen_ago: float
    jobs_held: int
    engine: EngineFigures | None

    @property
    def up(self) -> bool:
        return self.seen_ago <= UP_WITHIN


def engine_figures(engine: EngineWorker | None) -> EngineFigures | None:
    if engine is None:
        return None
    return EngineFigures(engine.pending, engine.started, dict(engine.endings))


class Presences:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def report(self, name: str, role: str, started_at: float, engine: EngineFigures | None) -> None:
        """This process is here now, with these figures."""
        endings = engine.endings if engine is not None else {}
        await self.store.write(
            "INSERT INTO processes (name, role, started_at, seen_at, engine_pending, engine_started,"
            f" engine_time_limits, engine_crashes) VALUES (?, ?, ?, {self.store.clock}, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at, engine_pending ="
            " excluded.engine_pending, engine_started = excluded.engine_started, engine_time_limits ="
            " excluded.engine_time_limits, engine_crashes = excluded.engine_crashes",
            (
                name,
                role,
                started_at,
                engine.pending if engine is not None else None,
                engine.started if engine is not None else None,
                endings.get("time_limit"),
                endings.get("crashed"),
            ),
        )

    async def leave(self, name: str) -> None:
        """This process stops."""
        await self.store.write("DELETE FROM processes WHERE name = ?", (name,))

    async def read(self) -> list[Presence]:
        """Every process seen within ``FORGOTTEN_AFTER`` seconds, by name; older rows are deleted."""
        clock = self.store.clock
        await self.store.write(f"DELETE FROM processes WHERE seen_at < {clock} - ?", (FORGOTTEN_AFTER,))
        rows = await self.store.report(f"SELECT *, {clock} - seen_at AS seen_ago FROM processes ORDER BY name")
        held = await self.store.report(
            f"SELECT owner, COUNT(*) AS n FROM jobs WHERE ({UNFINISHED}) AND owner IS NOT NULL"
            f" AND lease_until >= {clock} GROUP BY owner"
        )
        jobs = {row["owner"]: int(row["n"]) for row in held}
        return [
            Presence(
                name=row["name"],
                role=row["role"],
                started_at=float(row["started_at"]),
                seen_ago=max(0.0, float(row["seen_ago"])),
                jobs_held=jobs.get(row["name"], 0),
                engine=None
                if row["engine_pending"] is None
                else EngineFigures(
                    int(row["engine_pending"]),
                    int(row["engine_started"]),
                    {"time_limit": int(row["engine_time_limits"]), "crashed": int(row["engine_crashes"])},
                ),
            )
            for row in rows
        ]


async def keep_reporting(
    presences: Presences, name: str, role: str, started_at: float, engine: EngineWorker | None
) -> None:
    """Report this process every ``INTERVAL`` seconds until cancelled, then delete its row. A
    database that does not answer costs one report, not the process."""
    try:
        while True:
            try:
                await presences.report(name, role, started_at, engine_figures(engine))
            except DATABASE_ERRORS as err:
                log.warning("could not report this process to the database: %s", err)
            await asyncio.sleep(INTERVAL)
    finally:
        try:
            await presences.leave(name)
        except DATABASE_ERRORS as err:
            log.warning("could not tell the database this process stops: %s", err)
