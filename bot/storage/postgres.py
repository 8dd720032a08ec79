"""PostgreSQL through asyncpg (``database.url: postgresql://...``), for a bot that outgrows one
process or must survive the loss of a machine.

The repositories' SQL is shared with SQLite (bot/storage/store.py): ``?`` placeholders become
``$1, $2, ...`` here. Write transactions run SERIALIZABLE, so two processes (or two coroutines on
two pooled connections) cannot both spend the same credits: a transaction that loses is rolled
back and run again, a few times, from the start. Migrations are this backend's own
(``pg_migrations/``), numbered like SQLite's, and recorded in ``schema_version``; an advisory lock
keeps two processes from applying them at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from bot.storage.store import Params, Row, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Times a transaction is run again after losing to a concurrent one, and the base of the wait.
SERIALIZATION_RETRIES = 8
RETRY_WAIT = 0.005
#: The advisory lock held while migrations run (any fixed number, the same in every process).
MIGRATION_LOCK = 0x70686F74  # "phot"
POOL_MIN = 1
POOL_MAX = 10


def dollar_placeholders(sql: str) -> str:
    """``?`` outside string literals as ``$1, $2, ...``."""
    out: list[str] = []
    number = 0
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "?" and not quoted:
            number += 1
            out.append(f"${number}")
        else:
            out.append(char)
    return "".join(out)


def _count(status: str) -> int:
    """The row count in a command status ("UPDATE 1", "INSERT 0 1", "DELETE 3")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _count(await self._conn.execute(dollar_placeholders(sql), *params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._conn.fetchrow(dollar_placeholders(sql), *params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.fetch(dollar_placeholders(sql), *params))

    async def number(self, sql: str, params: Params = ()) -> int:
        value = await self._conn.fetchval(dollar_placeholders(sql), *params)
        return int(value) if value is not None else 0


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, max_size: int = POOL_MAX) -> PostgresStore:
        """Connect, and bring the schema up to date. Query parameters of ``url`` other than
        libpq's are server settings (``?search_path=...`` puts the tables in that schema)."""
        pool = await asyncpg.create_pool(url, min_size=POOL_MIN, max_size=max_size)
        try:
            await _migrate(pool)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        for attempt in range(SERIALIZATION_RETRIES + 1):
            async with self.pool.acquire() as conn:
                try:
                    async with conn.transaction(isolation="serializable"):
                        return await work(PgTx(conn))
                except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError):
                    if attempt == SERIALIZATION_RETRIES:
                        raise
            await asyncio.sleep(random.uniform(0, RETRY_WAIT * 2**attempt))
        raise AssertionError("unreachable")

    async def write(self, sql: str, params: Params = ()) -> int:
        async with self.pool.acquire() as conn:
            return _count(await conn.execute(dollar_placeholders(sql), *params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(dollar_placeholders(sql), *params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(dollar_placeholders(sql), *params))

    async def report(self, sql: str, params: Params = ()) -> list[Row]:
        """The server scans; the bot's loop only waits for the answer."""
        return await self.fetchall(sql, params)

    async def close(self) -> None:
        await self.pool.close()


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.storage") / "pg_migrations"
    found = [
        (int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found)


async def _migrate(pool: asyncpg.Pool) -> None:
    conn: Any
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
            for version, script in _migrations():
                if version <= current:
                    continue
                log.info("applying PostgreSQL migration %04d", version)
                async with conn.transaction():
                    await conn.execute(script)
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
