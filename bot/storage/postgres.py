"""PostgreSQL through asyncpg (``database.url: postgresql://...``), for a bot that outgrows one
process or must survive the loss of a machine.

The repositories' SQL is shared with SQLite (bot/storage/store.py): ``?`` placeholders become
``$1, $2, ...`` here. A write transaction first takes a transaction-scoped advisory lock on its
user, so two processes (or two coroutines on two pooled connections) cannot both spend the same
credits: the second waits, then reads what the first committed (READ COMMITTED). SERIALIZABLE
did the same without locks, but under load its false conflicts (predicate locks on shared index
pages) failed transactions faster than retries could save them (docs/benchmarks.md). Migrations are this backend's own
(``pg_migrations/``), numbered like SQLite's, and recorded in ``schema_version``; an advisory lock
keeps two processes from applying them at once. Only a process that handles Telegram's updates (and
``photobot check``) migrates: a worker waits for the schema its code needs, so that starting a newer
worker first never changes the tables under the bot process still running. Any process refuses a
schema newer than it knows (bot/storage/schema.py).

Processes on one database reach each other through it: ``notify``/``listen`` are PostgreSQL's
NOTIFY and LISTEN (a new job for the workers, a provider callback for the job's worker), and
``exclusive`` is a session advisory lock on a connection of its own, held until the process
stops or that connection is lost: the server lets go of it as soon as it notices the holder is
gone (at once for a process that died, within about ``KEEPALIVE_GIVE_UP`` seconds for a machine
that vanished), and the holder notices a lost connection by its heartbeat. Every connection of ours
notices a server whose machine vanished in about as long (:class:`_KeptAlive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from bot.storage.schema import pending
from bot.storage.store import Listener, Params, Row, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Times a transaction is run again after a deadlock, and the base of the wait.
SERIALIZATION_RETRIES = 8
RETRY_WAIT = 0.005
#: The advisory lock held while migrations run (any fixed number, the same in every process).
MIGRATION_LOCK = 0x70686F74  # "phot"
POOL_MIN = 1
#: Pooled connections per process by default (``database.pool_size``): with 10, the one-process
#: bot waited for connections at 10 orders/s (p50 added latency 1.3 s; 0.75 s with 20, 0.16-0.38 s
#: with 30; docs/benchmarks.md).
POOL_MAX = 30
#: Seconds a new connection may take, as ``photobot check`` waits: a host that drops packets is
#: reported at start (database.url) after this, not after asyncpg's 60.
CONNECT_TIMEOUT = 15.0
#: Keepalive probes, both ways, on the listening and lock connections (the process's, on every
#: connection): a peer whose machine vanished without closing the connection is given up after
#: about idle + interval x count seconds.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
KEEPALIVE = {
    "tcp_keepalives_idle": str(KEEPALIVE_IDLE),
    "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
    "tcp_keepalives_count": str(KEEPALIVE_COUNT),
}
KEEPALIVE_GIVE_UP = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT
#: Seconds a stopping process waits for the server to close the pool's connections before it cuts them.
CLOSE_TIMEOUT = 5.0
#: Seconds between a lock holder's checks that its connection still works (each may take as long).
HEARTBEAT = 3.0
#: Seconds after another process took a lock within which its former holder, if it lost the lock,
#: knows so: a connection the server ended (a restart, pg_terminate_backend) the holder hears of at
#: once, or its next heartbeat fails, within two HEARTBEATs; one that fell silent its heartbeat
#: gives up within two HEARTBEATs, sooner than the server lets go of its lock (KEEPALIVE_GIVE_UP).
#: A second more for a busy event loop. Only a holder whose whole machine stalled longer knows later.
LOCK_OVERLAP = 2 * HEARTBEAT + 1.0
#: Seconds to wait before connecting again after a listening or lock connection failed.
RECONNECT_WAIT = 2.0
#: Seconds between a process's looks at the schema while it waits for another to migrate it.
SCHEMA_WAIT = 2.0
#: What a connection of its own (listening, holding a lock) raises when it is lost or refused.
_LOST: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
#: The same, or no answer in time.
_LOST_OR_LATE: tuple[type[Exception], ...] = (TimeoutError, *_LOST)
_LOCK_KEY = "hashtext(current_schema() || ':' || $1)"
#: A user's lock for the length of one transaction (a 64-bit key: no two users share one).
_USER_LOCK_KEY = "hashtextextended(current_schema() || ':user:' || $1, 0)"


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


class _KeptAlive(asyncpg.Connection):
    """A connection that notices a server gone without a word (its machine lost, a network cut)
    within about KEEPALIVE_GIVE_UP seconds: keepalive probes while it waits (a standby blocked in
    pg_advisory_lock, the listening connection, an idle pooled one), and the same limit on data sent
    and not acknowledged (a statement under way). Without them the kernel's defaults held it: no
    probes at all, so a standby waited for the lock for good, and some 15 minutes of retransmissions
    for a statement (an asyncio timeout around it does not help: asyncpg waits for the server to
    acknowledge the statement's cancellation before it lets the connection go)."""

    def __init__(self, protocol: Any, transport: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(protocol, transport, *args, **kwargs)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            _keep_alive(sock)


def _keep_alive(sock: Any) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPALIVE", KEEPALIVE_IDLE),  # macOS's name for it
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ("TCP_USER_TIMEOUT", KEEPALIVE_GIVE_UP * 1000),  # Linux: milliseconds
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class PgTx:
    """The statements of one transaction, each given ``timeout`` (asyncpg's own: see
    :meth:`PostgresStore.fetchall`)."""

    def __init__(self, conn: asyncpg.Connection, timeout: float | None = None) -> None:
        self._conn = conn
        self._timeout = timeout

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _count(await self._conn.execute(dollar_placeholders(sql), *params, timeout=self._timeout))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._conn.fetchrow(dollar_placeholders(sql), *params, timeout=self._timeout)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.fetch(dollar_placeholders(sql), *params, timeout=self._timeout))

    async def number(self, sql: str, params: Params = ()) -> int:
        value = await self._conn.fetchval(dollar_placeholders(sql), *params, timeout=self._timeout)
        return int(value) if value is not None else 0


async def _in_transaction(
    conn: asyncpg.Connection, tx: PgTx, user: int, work: Callable[[Tx], Awaitable[T]], timeout: float | None
) -> T:
    """``work(tx)`` between a BEGIN and a COMMIT on ``conn``, holding ``user``'s lock; rolled back
    if it raises. A connection whose rollback fails too (the server silent) is closed, so that
    the pool does not lend it again mid-transaction."""
    await conn.execute("BEGIN", timeout=timeout)
    try:
        await tx.execute(f"SELECT pg_advisory_xact_lock({_USER_LOCK_KEY})", (str(user),))
        result = await work(tx)
        await conn.execute("COMMIT", timeout=timeout)
    except BaseException:
        try:
            await conn.execute("ROLLBACK", timeout=timeout)
        except BaseException:
            conn.terminate()
            raise
        raise
    return result


def _set(event: asyncio.Event, _conn: object) -> None:
    event.set()


async def _watch(conn: asyncpg.Connection, lost: asyncio.Event, what: str) -> None:
    """Until ``conn`` is lost: it closed (``lost`` set by its termination listener), or a query
    every HEARTBEAT seconds went unanswered (it is then closed and ``lost`` set here)."""
    while not lost.is_set():
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that comes in
        # the step its wait ends in, and a release or close waited for this loop for good.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HEARTBEAT):
                await lost.wait()
        if lost.is_set():
            return
        try:
            async with asyncio.timeout(HEARTBEAT):
                await conn.fetchval("SELECT 1")
        except _LOST_OR_LATE as err:
            log.error("lost the PostgreSQL connection that %s: %s", what, err)
            conn.terminate()
            lost.set()


class AdvisoryLock:
    """A session advisory lock named ``name`` (within the connection's schema, so that two bots
    on one server, or two tests, do not share it)."""

    overlap = LOCK_OVERLAP

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def acquire(self, waiting: Callable[[], None] | None = None) -> None:
        while True:
            try:
                conn = await asyncpg.connect(
                    self.url, server_settings=KEEPALIVE, connection_class=_KeptAlive, timeout=CONNECT_TIMEOUT
                )
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("cannot reach PostgreSQL to wait for %s: %s", self.name, err)
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            try:
                if not await conn.fetchval(f"SELECT pg_try_advisory_lock({_LOCK_KEY})", self.name):
                    if waiting is not None:
                        waiting()
                    await conn.execute(f"SELECT pg_advisory_lock({_LOCK_KEY})", self.name)
            except _LOST as err:
                conn.terminate()
                log.warning("lost PostgreSQL while waiting for %s: %s", self.name, err)
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            except BaseException:  # stopped while waiting: the lock must not be taken after all
                conn.terminate()
                raise
            break
        self._conn = conn
        self.lost.clear()
        conn.add_termination_listener(functools.partial(_set, self.lost))
        self._heartbeat = asyncio.create_task(_watch(conn, self.lost, f"holds {self.name}"), name=f"lock-{self.name}")

    async def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        if self._conn is not None:
            with contextlib.suppress(*_LOST_OR_LATE):
                await asyncio.wait_for(self._conn.close(), HEARTBEAT)
            self._conn.terminate()
            self._conn = None


class PostgresStore:
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"
    share_lock = " FOR SHARE"
    clock = "(EXTRACT(EPOCH FROM clock_timestamp())::float8)"

    def __init__(self, pool: asyncpg.Pool, url: str = "") -> None:
        self.pool = pool
        self.url = url
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)
        self._listening = asyncio.Event()
        self._listen_conn: asyncpg.Connection | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._listen_lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str, *, max_size: int = POOL_MAX, migrate: bool = True) -> PostgresStore:
        """Connect, and bring the schema up to date (``migrate``), or wait until another process
        has. Raises SchemaTooNew for a schema newer than this code knows. Query parameters of
        ``url`` other than libpq's are server settings (``?search_path=...`` puts the tables in
        that schema)."""
        pool = await asyncpg.create_pool(
            url, min_size=POOL_MIN, max_size=max_size, timeout=CONNECT_TIMEOUT, connection_class=_KeptAlive
        )
        try:
            await (_migrate(pool) if migrate else _wait_for_schema(pool))
        except BaseException:
            pool.terminate()  # not close(): that waits for a goodbye a silent server never sends
            raise
        return cls(pool, url)

    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, user: int, timeout: float | None = None) -> T:
        """``timeout`` bounds the wait for a connection and then each statement, the BEGIN and
        COMMIT too (asyncpg's ``conn.transaction()`` gives them none), as for :meth:`fetchall`."""
        for attempt in range(SERIALIZATION_RETRIES + 1):
            async with self.pool.acquire(timeout=timeout) as conn:
                try:
                    return await _in_transaction(conn, PgTx(conn, timeout), user, work, timeout)
                except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError):
                    if attempt == SERIALIZATION_RETRIES:
                        raise
            await asyncio.sleep(random.uniform(0, RETRY_WAIT * 2**attempt))
        raise AssertionError("unreachable")

    async def write(self, sql: str, params: Params = (), *, timeout: float | None = None) -> int:
        """``timeout`` as for :meth:`fetchall`."""
        async with self.pool.acquire(timeout=timeout) as conn:
            return _count(await conn.execute(dollar_placeholders(sql), *params, timeout=timeout))

    async def fetchone(self, sql: str, params: Params = (), *, timeout: float | None = None) -> Row | None:
        """``timeout`` as for :meth:`fetchall`."""
        async with self.pool.acquire(timeout=timeout) as conn:
            return await conn.fetchrow(dollar_placeholders(sql), *params, timeout=timeout)

    async def fetchall(self, sql: str, params: Params = (), *, timeout: float | None = None) -> list[Row]:
        """``timeout`` bounds the wait for a pooled connection (every one may be busy) and then the
        statement's, each on its own: a job lease renewal must fail in time, not wait its turn. It
        is asyncpg's own, not an asyncio timeout around the call: a statement cancelled from outside
        gives its connection back only once the server acknowledged the cancellation, which a server
        that stopped answering never does, and an acquire without a timeout waits for that for good."""
        async with self.pool.acquire(timeout=timeout) as conn:
            return list(await conn.fetch(dollar_placeholders(sql), *params, timeout=timeout))

    async def report(self, sql: str, params: Params = ()) -> list[Row]:
        """The server scans; the bot's loop only waits for the answer."""
        return await self.fetchall(sql, params)

    async def notify(self, channel: str, payload: str, *, timeout: float | None = None) -> None:
        """``timeout`` as for :meth:`fetchall`."""
        async with self.pool.acquire(timeout=timeout) as conn:
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload, timeout=timeout)

    async def listen(self, channel: str, listener: Listener) -> None:
        """Returns once the channel is listened to (or after RECONNECT_WAIT if the server cannot
        be reached: listening starts when it can)."""
        async with self._listen_lock:
            new = channel not in self._listeners
            self._listeners[channel].append(listener)
            if new and self._listen_conn is not None and not self._listen_conn.is_closed():
                await self._listen_conn.add_listener(channel, self._dispatch)
        if self._listen_task is None:
            self._listen_task = asyncio.create_task(self._keep_listening(), name="pg-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), RECONNECT_WAIT)

    def _dispatch(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        for listener in self._listeners.get(channel, ()):
            listener(str(payload))

    async def _keep_listening(self) -> None:
        """One connection that LISTENs to every channel asked for, connected again when lost
        (what was notified meanwhile is found by the workers' regular look at the jobs)."""
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(
                    self.url, server_settings=KEEPALIVE, connection_class=_KeptAlive, timeout=CONNECT_TIMEOUT
                )
                conn.add_termination_listener(functools.partial(_set, lost))
                async with self._listen_lock:
                    for channel in self._listeners:
                        await conn.add_listener(channel, self._dispatch)
                    self._listen_conn = conn
            except _LOST as err:
                log.warning("cannot LISTEN on PostgreSQL: %s", err)
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            self._listening.set()
            await _watch(conn, lost, "listens for notifications")
            self._listening.clear()
            log.warning("lost the PostgreSQL connection that listens for notifications; connecting again")
            await asyncio.sleep(RECONNECT_WAIT)

    def exclusive(self, name: str) -> AdvisoryLock:
        return AdvisoryLock(self.url, name)

    async def close(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
            await asyncio.gather(self._listen_task, return_exceptions=True)
        if self._listen_conn is not None:
            self._listen_conn.terminate()
        # asyncpg closes each connection by waiting for the server's goodbye: a server that fell
        # silent held a stopping process for good.
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.pool.close()
        except TimeoutError:
            log.warning("PostgreSQL did not answer as its connections were closed: cut after %.0f s", CLOSE_TIMEOUT)
            self.pool.terminate()


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.storage") / "pg_migrations"
    found = [
        (int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found)


async def _schema_version(conn: Any) -> int:
    """The newest migration applied to the database; 0 before the first."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)


async def _wait_for_schema(pool: asyncpg.Pool) -> None:
    """Until the database has the newest migration this code knows, saying once why it waits."""
    migrations = _migrations()
    waited = False
    while True:
        async with pool.acquire() as conn:
            with _cut_on_failure(conn):
                found = await _schema_version(conn)
        if not pending(migrations, found):  # raises SchemaTooNew for a newer one
            if waited:
                log.info("the database's schema is at version %d now: starting", found)
            return
        if not waited:
            log.warning(
                "the database's schema is at version %d and this process needs %d: waiting for a bot process"
                " of this release (photobot run --role bot, or photobot check) to migrate it",
                found,
                migrations[-1][0],
            )
            waited = True
        await asyncio.sleep(SCHEMA_WAIT)


async def _migrate(pool: asyncpg.Pool) -> None:
    conn: Any
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        # Failed, the session's end lets the lock go: waiting for an unlock held a failed or
        # timed-out start (photobot check's 15 s) for good where the server had fallen silent.
        with _cut_on_failure(conn):
            await _migrate_locked(conn)
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


@contextlib.contextmanager
def _cut_on_failure(conn: Any) -> Iterator[None]:
    """Close ``conn`` at once where the work in it fails or is cancelled (a time limit): asyncpg
    gives a connection back to its pool, or unlocks, only once the server has answered, and a
    server that fell silent never does."""
    try:
        yield
    except BaseException:
        conn.terminate()
        raise


async def _migrate_locked(conn: Any) -> None:
    """The migrations this database lacks, each in a transaction, under MIGRATION_LOCK."""
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
    for version, script in pending(_migrations(), current):
        log.info("applying PostgreSQL migration %04d", version)
        async with conn.transaction():
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
