"""SQLite in WAL mode: aiosqlite for reads, one writer thread for whole transactions, migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """Reads go through one aiosqlite connection. Writes go through a second connection owned by
    one thread, a whole transaction per trip: under load a transaction that awaited the event
    loop between its statements held the write lock for milliseconds each time, and the lock,
    not the disk, limited the bot (see docs/benchmarks.md). In WAL mode readers see every
    committed write and never wait for the writer."""

    def __init__(self, conn: aiosqlite.Connection, writer: sqlite3.Connection) -> None:
        self.conn = conn
        self._writer = writer
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="db-writer")

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        migrated = cls(conn, cls._connect_writer(path))
        try:
            await migrated.migrate()
        except BaseException:
            await migrated.close()
            raise
        return migrated

    @staticmethod
    def _connect_writer(path: str | Path) -> sqlite3.Connection:
        writer = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        writer.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
            writer.execute(f"PRAGMA {pragma}")
        return writer

    async def migrate(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for version, script in _migrations():
                if version <= current:
                    continue
                log.info("applying database migration %04d", version)
                conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")

        await self._on_writer(run)

    async def _on_writer(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, work, self._writer)

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(conn)`` in one write transaction (rolled back if it raises); its result."""
        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._on_writer(run)

    async def write(self, sql: str, params: tuple | list = ()) -> int:
        """One statement on its own (atomic in autocommit mode); the changed row count."""
        return await self._on_writer(lambda conn: conn.execute(sql, params).rowcount)

    async def fetchone(self, sql: str, params: tuple = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: tuple = ()) -> list[aiosqlite.Row]:
        # One trip that runs, fetches and closes the statement: a cursor left open between trips
        # would keep the shared reader in an old snapshot, blind to the writer's commits.
        return list(await self.conn.execute_fetchall(sql, params))

    async def close(self) -> None:
        await self._on_writer(lambda conn: conn.close())
        self._writer_thread.shutdown(wait=True)
        await self.conn.close()
