"""What the repositories need of a database, whichever it is: SQLite (``database.path``, the
embedded default, bot/storage/db.py) or PostgreSQL (``database.url``, bot/storage/postgres.py).

SQL is written once, with ``?`` placeholders and what both understand (``ON CONFLICT``, partial
unique indexes, ``COALESCE``); each backend has its own migrations. A row is indexed by column
name in both. A transaction's ``work`` is a coroutine on a :class:`Tx`, and names the user whose
credits it reads or changes: transactions about the same user run one after another (on SQLite
every write transaction does). On PostgreSQL ``work`` may run more than once (a deadlock is
retried), so it must do nothing but its statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import asyncpg

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


class StoreFailed(Exception):
    """A read or write of a job's row failed (the database out of reach, full, or locked too long;
    its error is the cause), as the lease holder's reads and writes raise it
    (bot/storage/leases.LeasedJobs): told apart from an OSError or a TimeoutError of a photo, a
    provider or the disk, which DATABASE_ERRORS does not tell from the database's own."""


#: What either backend raises when the database cannot be reached or refuses a statement.
#: asyncpg's InternalClientError is neither of its others: it raises it for a query on a pooled
#: connection the server ended under it (a restart, pg_terminate_backend), and a job's driver took
#: it for the job's own error, failing and refunding a task the provider charged for.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    StoreFailed,
)

#: Told of each notification on a channel it listens to: the payload (a job id).
Listener = Callable[[str], None]


class Exclusive(Protocol):
    """Something only one process may do at a time (poll Telegram, sweep old photos): the holder
    keeps it until it stops or its database session is lost (``lost`` is then set)."""

    lost: asyncio.Event
    #: Seconds after :meth:`acquire` returns within which the process that held it before knows,
    #: if it lost it rather than let it go, that it did (its ``lost`` set): until then it may still
    #: be doing what only one process may do.
    overlap: float

    async def acquire(self, waiting: Callable[[], None] | None = None) -> None:
        """Wait until this process holds it; ``waiting`` is called if another holds it now."""
        ...

    async def release(self) -> None: ...


class Store(Protocol):
    #: Whether other processes may use the same database (PostgreSQL): jobs are then claimed
    #: against them, notifications reach them, and ``exclusive`` waits for them.
    shared: bool
    #: Appended to a SELECT that picks rows to claim: PostgreSQL's ``FOR UPDATE SKIP LOCKED``,
    #: so two workers claiming at once each get other rows instead of waiting on each other.
    skip_locked: str
    #: Appended to a SELECT of a row a statement depends on: PostgreSQL's ``FOR SHARE``, so that
    #: an UPDATE of that row by another process waits for the statement to commit, or the
    #: statement waits for the UPDATE and reads the row as it left it. SQLite writes one at a time.
    share_lock: str
    #: An SQL expression for the seconds since the epoch by the database's clock: leases mean the
    #: same in every process, whatever the clocks of their machines say.
    clock: str

    async def notify(self, channel: str, payload: str, *, timeout: float | None = None) -> None:
        """Tell every listener of ``channel``, in this process and (PostgreSQL) in others;
        ``timeout`` as for :meth:`write`."""
        ...

    async def listen(self, channel: str, listener: Listener) -> None:
        """Call ``listener`` with the payload of each notification on ``channel`` until closed."""
        ...

    def exclusive(self, name: str) -> Exclusive:
        """The right to do ``name`` alone among the processes on this database."""
        ...

    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, user: int, timeout: float | None = None) -> T:
        """``work(tx)`` in one write transaction, rolled back if it raises; its result. No other
        transaction about ``user`` runs meanwhile. ``timeout`` as for :meth:`fetchall`, for the
        connection and for each statement."""
        ...

    async def write(self, sql: str, params: Params = (), *, timeout: float | None = None) -> int:
        """One statement on its own; the changed row count. ``timeout`` as for :meth:`fetchall`."""
        ...

    async def fetchone(self, sql: str, params: Params = (), *, timeout: float | None = None) -> Row | None:
        """The first row of one statement on its own. ``timeout`` as for :meth:`fetchall`."""
        ...

    async def fetchall(self, sql: str, params: Params = (), *, timeout: float | None = None) -> list[Row]:
        """The rows of one statement on its own. ``timeout``: seconds it may wait for a pooled
        connection and then for its answer (PostgreSQL) before raising TimeoutError; SQLite runs
        it at once."""
        ...

    async def report(self, sql: str, params: Params = ()) -> list[Row]:
        """A statement that may scan whole tables, kept from holding up the bot's event loop."""
        ...

    async def close(self) -> None: ...
