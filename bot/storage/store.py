"""What the repositories need of a database, whichever it is: SQLite (``database.path``, the
embedded default, bot/storage/db.py) or PostgreSQL (``database.url``, bot/storage/postgres.py).

SQL is written once, with ``?`` placeholders and what both understand (``ON CONFLICT``, partial
unique indexes, ``COALESCE``); each backend has its own migrations. A row is indexed by column
name in both. A transaction's ``work`` is a coroutine on a :class:`Tx`; on PostgreSQL it may run
more than once (a serialization failure is retried), so it must do nothing but its statements.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
#: A row of either backend (sqlite3.Row, asyncpg.Record): ``row["column"]`` and ``row[0]``.
Row = Any
Params = Sequence[Any]


class Tx(Protocol):
    """The statements of one transaction."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the changed row count."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def number(self, sql: str, params: Params = ()) -> int:
        """The whole number in the first column of the first row (a SUM or COUNT); 0 for none."""
        ...


class Store(Protocol):
    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """``work(tx)`` in one write transaction, rolled back if it raises; its result."""
        ...

    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement on its own; the changed row count."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def report(self, sql: str, params: Params = ()) -> list[Row]:
        """A statement that may scan whole tables, kept from holding up the bot's event loop."""
        ...

    async def close(self) -> None: ...


async def open_store(path: str, url: str = "") -> Store:
    """PostgreSQL when ``url`` is set (``database.url``), else SQLite at ``path``."""
    if url:
        from bot.storage.postgres import PostgresStore

        return await PostgresStore.open(url)
    from bot.storage.db import Database

    return await Database.open(path)
