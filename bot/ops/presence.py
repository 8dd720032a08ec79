"""Every process of a deployment, seen from the bot process's /metrics.

Workers have no HTTP port to scrape, and a worker that died leaves only its jobs' leases to run out.
So each process writes its row in ``processes`` every ``INTERVAL`` seconds (by the database's clock,
like the leases): its role, when it started, its local engine's figures, its provider counters (the
workers make the provider calls: /stats adds up every process's); and deletes it as it stops.
/metrics then shows each process as up (seen within ``UP_WITHIN`` seconds) or not, how long since it
was seen, when it started, the jobs it holds leases on, and its engine's queue and losses. A process gone without a
word (SIGKILL, a lost machine) shows as down for an hour (``FORGOTTEN_AFTER``), then its row goes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.ops.health import ProviderHealth
from bot.storage.jobs import UNFINISHED
from bot.storage.store import DATABASE_ERRORS, Row, Store
from providers.localengine.worker import ENDINGS, EngineWorker

log = logging.getLogger(__name__)

#: Seconds between two reports of a process.
INTERVAL = 10.0
#: A process seen within this many seconds is up (three reports missed: it is not).
UP_WITHIN = 3 * INTERVAL
#: A process not seen for this many seconds is forgotten (its row deleted): long enough for an
#: alert on a process that went silent to be seen, short enough that a crash loop does not pile up.
FORGOTTEN_AFTER = 3600.0
#: Seconds a report, or the row's deletion as the process stops, may wait for the database.
WRITE_TIMEOUT = 5.0
#: The column of each reason an engine process ended (worker.ENDINGS), in that order.
_COLUMN_OF = {"time_limit": "engine_time_limits", "crashed": "engine_crashes"}
_ENDING_COLUMNS = ", ".join(_COLUMN_OF[reason] for reason in ENDINGS)


@dataclass(frozen=True)
class EngineFigures:
    """A process's local engine: calls under way or waiting, calls since start, processes ended
    under a call since start (by why: time_limit, crashed)."""

    pending: int
    started: int
    endings: Mapping[str, int]


@dataclass(frozen=True)
class ProviderCounts:
    """A provider's calls and errors, and the wall-clock time of its last success (None: none)."""

    calls: int = 0
    errors: int = 0
    last_success: float | None = None


def provider_counts(health: ProviderHealth | None) -> dict[str, ProviderCounts]:
    """This process's counters since it started, by provider."""
    if health is None:
        return {}
    return {name: ProviderCounts(r.calls, r.errors, r.last_success) for name, r in health.records.items()}


def added_up(counted: Iterable[Mapping[str, ProviderCounts]]) -> dict[str, ProviderCounts]:
    """Several processes' counters as one, by provider: calls and errors summed, the latest success."""
    totals: dict[str, ProviderCounts] = {}
    for one in counted:
        for name, counts in one.items():
            total = totals.get(name, ProviderCounts())
            successes = [at for at in (total.last_success, counts.last_success) if at is not None]
            totals[name] = ProviderCounts(
                total.calls + counts.calls, total.errors + counts.errors, max(successes) if successes else None
            )
    return totals


@dataclass(frozen=True)
class Deployment:
    """Every process seen within ``FORGOTTEN_AFTER`` seconds, by name, and the unfinished jobs under
    a live lease of a process that has no row: alive (it renews its leases) but not reporting
    itself, as a process of an older photobot during an upgrade, or one whose reports fail. Those
    are shown beside no process, so counted apart."""

    processes: list[Presence]
    jobs_unreported: int


@dataclass(frozen=True)
class Presence:
    name: str
    role: str
    started_at: float
    seen_ago: float
    jobs_held: int
    engine: EngineFigures | None
    providers: Mapping[str, ProviderCounts]

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

    async def report(
        self,
        name: str,
        role: str,
        engine: EngineFigures | None,
        providers: Mapping[str, ProviderCounts] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """This process is here now, with these figures (its start: its first report, by the
        database's clock); rows not seen for ``FORGOTTEN_AFTER`` seconds go. ``timeout``: seconds
        each statement may wait for a connection and for its answer (Store.fetchall)."""
        clock = self.store.clock
        endings = engine.endings if engine is not None else {}
        counted = {key: [c.calls, c.errors, c.last_success] for key, c in (providers or {}).items()}
        await self.store.write(
            "INSERT INTO processes (name, role, started_at, seen_at, engine_pending, engine_started,"
            f" {_ENDING_COLUMNS}, providers) VALUES (?, ?, {clock}, {clock}, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at, engine_pending ="
            " excluded.engine_pending, engine_started = excluded.engine_started, engine_time_limits ="
            " excluded.engine_time_limits, engine_crashes = excluded.engine_crashes, providers = excluded.providers",
            (
                name,
                role,
                engine.pending if engine is not None else None,
                engine.started if engine is not None else None,
                *(endings.get(reason) for reason in ENDINGS),
                json.dumps(counted),
            ),
            timeout=timeout,
        )
        await self.store.write(
            f"DELETE FROM processes WHERE seen_at < {clock} - ?", (FORGOTTEN_AFTER,), timeout=timeout
        )

    async def leave(self, name: str, *, timeout: float | None = None) -> None:
        """This process stops."""
        await self.store.write("DELETE FROM processes WHERE name = ?", (name,), timeout=timeout)

    async def read(self) -> Deployment:
        """The deployment's processes and the jobs held by none of them, from one read of the leases."""
        clock = self.store.clock
        rows = await self.store.report(
            f"SELECT *, {clock} - seen_at AS seen_ago FROM processes WHERE seen_at >= {clock} - ? ORDER BY name",
            (FORGOTTEN_AFTER,),
        )
        held = await self.store.report(
            f"SELECT owner, COUNT(*) AS n FROM jobs WHERE ({UNFINISHED}) AND owner IS NOT NULL"
            f" AND lease_until >= {clock} GROUP BY owner"
        )
        jobs = {row["owner"]: int(row["n"]) for row in held}
        processes = [
            Presence(
                name=row["name"],
                role=row["role"],
                started_at=float(row["started_at"]),
                seen_ago=max(0.0, float(row["seen_ago"])),
                jobs_held=jobs.pop(row["name"], 0),
                engine=_engine_of(row),
                providers=_providers_of(row),
            )
            for row in rows
        ]
        return Deployment(processes, sum(jobs.values()))


def _providers_of(row: Row) -> dict[str, ProviderCounts]:
    """The row's provider counters (none from a process of before they were reported)."""
    counted = json.loads(row["providers"]) if row["providers"] else {}
    return {name: ProviderCounts(int(calls), int(errors), last) for name, (calls, errors, last) in counted.items()}


def _engine_of(row: Row) -> EngineFigures | None:
    columns = ("engine_pending", "engine_started", *_COLUMN_OF.values())
    if any(row[column] is None for column in columns):  # no engine in that process
        return None
    endings = {reason: int(row[column]) for reason, column in _COLUMN_OF.items()}
    return EngineFigures(int(row["engine_pending"]), int(row["engine_started"]), endings)


async def keep_reporting(
    presences: Presences,
    name: str,
    role: str,
    engine: EngineWorker | None,
    health: ProviderHealth | None = None,
    *,
    timeout: float = WRITE_TIMEOUT,
) -> None:
    """Report this process every ``INTERVAL`` seconds until cancelled, then delete its row. A
    database that does not answer within ``timeout`` costs one report (or the row's deletion,
    which a stopping process does not wait for longer), not the process. Each statement is given
    ``timeout`` as well: cancelled from outside only, one sent to a server that stopped answering
    kept its pooled connection, and the report, waiting for good."""
    try:
        while True:
            try:
                async with asyncio.timeout(timeout):
                    figures = engine_figures(engine), provider_counts(health)
                    await presences.report(name, role, *figures, timeout=timeout)
            except DATABASE_ERRORS as err:
                log.warning("could not report this process to the database: %s", err or type(err).__name__)
            await asyncio.sleep(INTERVAL)
    finally:
        try:
            await asyncio.wait_for(presences.leave(name, timeout=timeout), timeout)
        except DATABASE_ERRORS as err:
            log.warning("could not tell the database this process stops: %s", err or type(err).__name__)
