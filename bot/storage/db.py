"""SQLite in WAL mode: point reads and short write transactions on the event loop; whole-table
reports and WAL checkpoints on aiosqlite's thread; migrations.

Why on the loop: the bot's statements are single-row reads by key and transactions of a few
single-row writes, tens of microseconds each. Handing each to a thread cost more than running
it: under load every hop waited for the GIL, and at 20 orders per second (about 22 trips per
order) the hops were most of the bot's added latency (docs/benchmarks.md). Everything done on
the loop is also done whole within one loop step: a transaction's statements are awaited (the
shape an asynchronous database such as PostgreSQL needs) but return at once, so the write lock
is never held while the loop does other work.

What could stall the loop is kept off it: statements that scan whole tables run through
:meth:`Database.report` on aiosqlite's thread, and the WAL is checkpointed there too (the
loop's connection never checkpoints, so a commit never waits for an fsync).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.storage.schema import pending
from bot.storage.store import Listener, Params, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between WAL checkpoints while there are new writes.
CHECKPOINT_INTERVAL = 1.0
BUSY_TIMEOUT_MS = 5000


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteTx:
    """The statements of one transaction (``Database.transaction``): each returns at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """The changed row count."""
        return self._conn.execute(sql, params).rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    async def number(self, sql: str, params: Params = ()) -> int:
        """The whole number in the first column of the first row (a SUM or COUNT); 0 for none."""
        row = self._conn.execute(sql, params).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0


class AlwaysHeld:
    """One process has the database to itself: whatever only one may do, it may."""

    #: No other process held it before.
    overlap = 0.0

    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def acquire(self, waiting: Callable[[], None] | None = None) -> None:
        """Held at once."""

    async def release(self) -> None:
        """Nothing to give back."""


class Database:
    #: One process only: an SQLite file is never shared between bot and worker processes.
    shared = False
    skip_locked = ""
    share_lock = ""
    clock = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, conn: sqlite3.Connection, side: aiosqlite.Connection) -> None:
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)
        #: The event loop's connection: point reads and write transactions.
        self.conn = conn
        self._side = side
        self._checkpointer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        #: The last checkpoint's (busy, frames in the WAL, frames checkpointed); set each time.
        self.last_checkpoint: tuple[int, int, int] | None = None
        self.checkpointed = asyncio.Event()

    @classmethod
    async def open(cls, path: str | Path, *, checkpoint_interval: float = CHECKPOINT_INTERVAL) -> Database:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "wal_autocheckpoint=0",
        ):
            conn.execute(f"PRAGMA {pragma}")
        try:
            _migrate(conn)
            side = await aiosqlite.connect(str(path), isolation_level=None)
        except BaseException:
            conn.close()
            raise
        side.row_factory = aiosqlite.Row
        await side.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db = cls(conn, side)
        db._checkpointer = asyncio.create_task(db._checkpoint_while_open(checkpoint_interval), name="sqlite-checkpoint")
        return db

    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, user: int, timeout: float | None = None) -> T:
        """Run ``work(tx)`` in one write transaction (rolled back if it raises); its result.
        SQLite has one writer at a time: transactions about any ``user`` run one after another.
        ``work`` awaits only ``tx``'s statements, which run at once on this connection and never
        give the loop away: the transaction is done within one loop step, as a plain function's
        would be. The lock keeps a second transaction out should a ``work`` ever await anything
        else. ``timeout`` has nothing to wait for."""
        async with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = await work(SqliteTx(self.conn))
            except BaseException:
                self._rollback()
                raise
            return self._commit(result)

    def _commit(self, result: T) -> T:
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            # SQLite rolls some failed commits back by itself (a full disk in WAL mode) and leaves
            # others open (a deferred constraint, a busy lock): end it either way, or every later
            # BEGIN on this connection would fail and the bot stop writing for good.
            self._rollback()
            raise
        return result

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    async def write(self, sql: str, params: Params = (), *, timeout: float | None = None) -> int:
        """One statement on its own (atomic in autocommit mode); the changed row count. At once, on
        the loop's connection: ``timeout`` has nothing to wait for."""
        return self.conn.execute(sql, params).rowcount

    async def fetchone(self, sql: str, params: Params = (), *, timeout: float | None = None) -> sqlite3.Row | None:
        """At once, on the loop's connection: ``timeout`` has nothing to wait for."""
        return self.conn.execute(sql, params).fetchone()

    async def fetchall(self, sql: str, params: Params = (), *, timeout: float | None = None) -> list[sqlite3.Row]:
        """At once, on the loop's connection: ``timeout`` has nothing to wait for."""
        return self.conn.execute(sql, params).fetchall()

    async def notify(self, channel: str, payload: str, *, timeout: float | None = None) -> None:
        for listener in self._listeners[channel]:
            listener(payload)

    async def listen(self, channel: str, listener: Listener) -> None:
        self._listeners[channel].append(listener)

    def exclusive(self, name: str) -> AlwaysHeld:
        return AlwaysHeld()

    async def report(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """A statement that may scan whole tables, run off the event loop (it sees every commit
        made before it starts)."""
        return list(await self._side.execute_fetchall(sql, params))

    async def _checkpoint_while_open(self, interval: float) -> None:
        written = -1  # the first round checkpoints whatever opening (migrations, say) wrote
        while True:
            await asyncio.sleep(interval)
            if self.conn.total_changes != written:
                written = self.conn.total_changes
                try:
                    rows = await self._side.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as err:
                    log.warning("WAL checkpoint failed: %s", err)
                    continue
                busy, frames, checkpointed = next(iter(rows))
                self.last_checkpoint = (int(busy), int(frames), int(checkpointed))
                self.checkpointed.set()

    async def close(self) -> None:
        self._listeners.clear()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        await self._side.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._side.close()
        self.conn.close()


def _migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, script in pending(_migrations(), current):
        log.info("applying database migration %04d", version)
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
