"""PostgreSQL's connections of their own (a lock's, the notifications'), the process's reports and
the job lease keeper's looks for jobs when the server stops answering without closing anything (its
machine stalled or gone): each notices within its time limit instead of waiting for good. The
server is the tests' real PostgreSQL behind a relay on 127.0.0.1 that can fall silent
(tests/fakes/stalling.py); and every connection asks the kernel to give up on a server whose
machine vanished within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bot.domain.ordering import place_order
from bot.domain.session import PendingOrder
from bot.jobs.keeper import LeaseKeeper
from bot.jobs.runner import ANNOUNCE_TIMEOUT
from bot.main.app import running
from bot.ops.presence import Presences, keep_reporting
from bot.storage.jobs import Job, JobDraft
from bot.storage.postgres import CLOSE_TIMEOUT, HEARTBEAT, RECONNECT_WAIT, AdvisoryLock, PostgresStore
from bot.storage.repositories import Repositories
from providers.orders import IdPhotoOrder
from tests.conftest import portrait_jpeg, postgres_schema
from tests.fakes.stalling import StallingRelay


@asynccontextmanager
async def relayed() -> AsyncIterator[tuple[str, StallingRelay]]:
    """A schema of its own on the tests' PostgreSQL, and a relay to it."""
    url = await postgres_schema()
    await (await PostgresStore.open(url, max_size=1)).close()  # migrated, as a bot process would
    relay = StallingRelay(url)
    await relay.start()
    try:
        yield url, relay
    finally:
        await relay.stop()


class _Said(logging.Handler):
    """Sets ``said`` once a record containing ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.said = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.said.set()


async def test_a_lock_holder_whose_server_falls_silent_knows_it_lost_the_lock_within_two_heartbeats():
    """The holder of the updates right must stop handling updates once it may have lost it: a
    heartbeat that waited for its answer for good would keep a process handling updates beside
    the one that took the right over."""
    async with relayed() as (_url, relay):
        lock = AdvisoryLock(relay.url, "updates")
        await lock.acquire()
        try:
            relay.stall()
            await asyncio.wait_for(lock.lost.wait(), 2 * HEARTBEAT + 1)
            await relay.given_up(1, timeout=1)  # and it closed that connection
        finally:
            await lock.release()


async def test_releasing_a_lock_on_a_silent_server_takes_at_most_a_heartbeat():
    """A stopping process gives its lock back; a server that no longer answers must not keep it
    from stopping."""
    async with relayed() as (_url, relay):
        lock = AdvisoryLock(relay.url, "upkeep")
        await lock.acquire()
        relay.stall()
        await asyncio.wait_for(lock.release(), HEARTBEAT + 1)
        await relay.given_up(1, timeout=1)


async def test_notifications_come_again_after_the_listening_connection_fell_silent():
    """A worker hears of new jobs and provider callbacks on its listening connection: one that
    fell silent is replaced (here the server's replacement answers at the same address), so
    notifications reach it again within two heartbeats and a reconnection."""
    async with relayed() as (url, relay):
        store = await PostgresStore.open(relay.url, max_size=1)
        heard: asyncio.Queue[str] = asyncio.Queue()
        try:
            await store.listen("photobot_jobs", heard.put_nowait)
            relay.stall()
            await relay.given_up(1, timeout=2 * HEARTBEAT + 1)  # the silent connection was given up
            notifier = await asyncpg.connect(url)
            try:
                async with asyncio.timeout(RECONNECT_WAIT + 10):
                    while heard.empty():  # each NOTIFY reaches listeners connected when it is sent
                        await notifier.execute("SELECT pg_notify('photobot_jobs', 'job 7')")
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(_peek(heard), 0.5)
            finally:
                await notifier.close()
            assert heard.get_nowait() == "job 7"
        finally:
            await relay.stop()  # the silent pooled connection ends, so the pool can close
            await store.close()


async def _peek(queue: asyncio.Queue[str]) -> None:
    item = await queue.get()
    queue.put_nowait(item)


async def test_a_report_to_a_silent_database_is_given_up_and_the_process_still_stops():
    """Every process reports itself every 10 s; a database that takes the report and never answers
    costs that report (logged), and a stop then waits for the row's deletion only so long."""
    async with relayed() as (_url, relay):
        store = await PostgresStore.open(relay.url, max_size=1)
        said = _Said("could not report this process to the database")
        logging.getLogger("bot.ops.presence").addHandler(said)
        try:
            relay.stall()
            relay.stall_new = True
            reporting = asyncio.create_task(keep_reporting(Presences(store), "host:1:aa", "worker", None, timeout=1))
            await asyncio.wait_for(said.said.wait(), 3)
            reporting.cancel()
            await asyncio.wait_for(asyncio.gather(reporting, return_exceptions=True), 3)
        finally:
            logging.getLogger("bot.ops.presence").removeHandler(said)
            await relay.stop()
            await store.close()


async def test_a_stopping_process_cuts_the_connections_of_a_silent_database():
    """A stop closes the pool's connections; asyncpg waits for the server's goodbye on each, and a
    server that fell silent held the stopping process for good (Docker killed it after its grace)."""
    async with relayed() as (_url, relay):
        store = await PostgresStore.open(relay.url, max_size=1)
        await store.fetchone("SELECT 1")  # a connection in the pool
        relay.stall()
        await asyncio.wait_for(store.close(), CLOSE_TIMEOUT + 3)


@pytest.mark.parametrize("migrate", [True, False], ids=["bot: migrates", "worker: waits for the schema"])
async def test_a_start_given_up_on_a_silent_database_ends_within_its_time_limit(migrate):
    """``photobot check`` gives the database 15 s to open and migrate, a start as much as its
    supervisor allows. With the server silent in the middle of it, the cancelled start still waited
    for the migration lock's release (and the worker's for its connection's return to the pool),
    which a silent server never answers: the check hung instead of saying it cannot reach it."""
    async with relayed() as (_url, relay):
        relay.stall_on = b"MAX(version)"  # reading the schema's version, with the migration lock held
        start = asyncio.create_task(PostgresStore.open(relay.url, max_size=1, migrate=migrate))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(start), 1)
        start.cancel()
        done, _ = await asyncio.wait({start}, timeout=3)  # not wait_for: it would wait for the start too
        assert start in done


class _Drivers:
    """Drives the jobs in ``jobs``, as the job runner would; ``stopped`` is set when the keeper
    tells it to stop driving one (``why``)."""

    def __init__(self) -> None:
        self.jobs: set[str] = set()
        self.stopped = asyncio.Event()
        self.why = ""

    def driving(self) -> int:
        return len(self.jobs)

    def start(self, job_id: str, *, claimed_at: float | None = None) -> None:
        self.jobs.add(job_id)

    def lost(self, job_id: str, why: str) -> None:
        self.jobs.discard(job_id)
        self.why = why
        self.stopped.set()


@pytest.mark.parametrize(
    "statement",
    [b"SKIP LOCKED", b"MIN(lease_until)"],  # the claim's text, and the next expiry's (the renewal's has neither)
    ids=["claim", "next-expiry"],
)
async def test_a_look_for_jobs_the_database_never_answers_still_stops_the_driver_before_its_lease_runs_out(
    statement: bytes,
):
    """The server falls silent as the keeper looks for jobs (claims them, or asks when another
    worker's lease runs out), after it renewed the lease of the job this worker drives: the look is
    given up within its limit (logged), and the driver is told to stop while the lease still runs,
    before another worker may take the job over. Before, the look waited for the server to
    acknowledge its cancellation, for good: no more renewals, and the job's driver went on after its
    lease ran out (a paid task sent twice)."""
    lease = 3.0
    async with relayed() as (url, relay):
        direct = await PostgresStore.open(url, max_size=1)
        store = await PostgresStore.open(relay.url, max_size=1)
        said = _Said("could not look for jobs to take")
        logging.getLogger("bot.jobs.keeper").addHandler(said)
        drivers = _Drivers()
        keeper = LeaseKeeper(
            Repositories.on(store, daily_free=0).leases, drivers, owner="w:1:aa", lease=lease, max_held=2
        )
        try:
            repos = Repositories.on(direct, daily_free=0)
            await repos.users.ensure(1, 1, "en")
            draft = JobDraft(1, 1, "fake", "fake", {}, None, price=0, deadline_seconds=600)
            job_id = (await repos.jobs.create(draft)).id
            assert await keeper.hold(job_id, None)
            drivers.start(job_id)
            relay.stall_on = statement
            keeper.start()
            await asyncio.wait_for(said.said.wait(), 2 * lease)
            await asyncio.wait_for(drivers.stopped.wait(), 2 * lease)
            # Told to stop while its lease still runs: no other worker could take the job over yet.
            row = await direct.fetchone(
                f"SELECT owner, lease_until - {direct.clock} AS left FROM jobs WHERE id = ?", (job_id,)
            )
            assert row is not None and row["owner"] == keeper.owner and row["left"] > 0, dict(row or {})
            assert drivers.why == "its lease could not be renewed in time"
        finally:
            logging.getLogger("bot.jobs.keeper").removeHandler(said)
            await keeper.stop()
            await relay.stop()
            await store.close()
            await direct.close()


def _sockets_to(port: int) -> list[socket.socket]:
    """This process's TCP sockets connected to 127.0.0.1:``port`` (copies: closing one leaves the
    connection open)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:  # not a socket, or already closed
            continue
        try:
            if sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM and sock.getpeername()[1] == port:
                found.append(sock)
                continue
        except OSError:  # not connected
            pass
        sock.close()
    return found


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux's TCP_USER_TIMEOUT")
async def test_every_connection_gives_up_on_a_vanished_server_within_seconds():
    """A server whose machine vanishes sends nothing, not even a reset: the kernel's defaults sent no
    keepalive probes (a standby blocked in pg_advisory_lock waited for good, and it never took the
    updates over) and retransmitted a statement for some 15 minutes. A peer that stops acknowledging
    cannot be made on 127.0.0.1, so this reads what every connection asked of the kernel: probes
    after 5 s idle, every 2 s, 3 of them, and 11 s at most for data to go unacknowledged."""
    async with relayed() as (_url, relay):
        store = await PostgresStore.open(relay.url, max_size=2)
        lock = AdvisoryLock(relay.url, "updates")
        try:
            await store.listen("photobot_jobs", lambda payload: None)
            await lock.acquire()
            sockets = _sockets_to(relay.port)
            try:
                assert len(sockets) == 3  # the pool's, the listening one, the lock's
                for sock in sockets:
                    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 5
                    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 2
                    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
                    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 11_000
            finally:
                for sock in sockets:
                    sock.close()
        finally:
            await lock.release()
            await store.close()


async def test_an_order_whose_announcement_the_database_never_answers_is_placed_and_taken_up(make_settings, picwish):
    """The database stores and holds a Confirm's job, then falls silent on the connection that
    announces it to the workers. Before, the announcement waited for the server until the kernel
    gave up on it, and then failed the Confirm after its job was stored: the person was told
    something went wrong, and the job was made and charged all the same. Now the announcement is
    given up within ANNOUNCE_TIMEOUT (and as long again for asyncpg's wait for the cancellation;
    logged), the order is placed, and a worker takes the job up
    at its next look for jobs."""
    order = IdPhotoOrder(spec_id=3108, bg_color="FFFFFF", px_width=602, px_height=602, dpi=300)
    async with relayed() as (_url, relay):
        said = _Said("could not announce it")
        logging.getLogger("bot.jobs.runner").addHandler(said)
        try:
            async with running(make_settings(database__url=relay.url, jobs__lease_seconds=3)) as services:
                await services.users.ensure(77, 77, "en")
                ref = services.media.save_input(portrait_jpeg())
                relay.stall_one = b"pg_notify"
                placing = place_order(
                    services, PendingOrder("idphoto", order, ref), user_id=77, chat_id=77, status_message_id=None
                )
                job = await asyncio.wait_for(placing, 2 * ANNOUNCE_TIMEOUT + 3)
                assert isinstance(job, Job) and job.provider == "picwish"
                assert said.said.is_set()
                await asyncio.wait_for(picwish.task_created.wait(), 30)  # taken up without its announcement
        finally:
            logging.getLogger("bot.jobs.runner").removeHandler(said)
