"""Load benchmark: simulated users order ID photos from the bot, which runs as its own process.

The bot (``python -m bot run``) talks to the test suite's fake Bot API (real long polling) and
fake PicWish (real uploads, callbacks and polling) in this process. Every user goes through
the whole conversation: photo, service, category, spec, colour, options, Confirm.

1. Steady load: ``--rate`` orders per second for ``--seconds``, spread over ``--users`` people,
   while PicWish takes ``--latency`` seconds per photo. Reports orders completed per second,
   the latency the bot adds as p50 / p99, and the bot's peak RSS. Added latency is Confirm
   pressed until the bot's create request reaches PicWish, plus PicWish's task finished until
   the bot's sendDocument request reaches Telegram: the fakes stamp a request when their
   handler starts, before reading its body, so the time the receiver takes to read a 100 kB
   upload (the fakes share the bot's two cores) counts as transfer, not as the bot's. The
   same sum up to the fakes having read the uploads is reported next to it.
2. Pending: ``--pending`` people order while PicWish holds every task. Reports the bot's RSS
   with all of them pending and its answer time to /balance meanwhile. Then the bot is
   stopped and started again: the time until it is polling Telegram and until it has asked
   PicWish about every pending task. Then PicWish finishes them all: the time until every
   person has their document, and a check that each got exactly one and the ledger balances.

    python bench/load.py [--rate 20 --seconds 30 --users 200 --latency 2 --pending 1000 --photo portrait]

With ``--database-url postgresql://...`` the bot keeps its data in PostgreSQL (a new schema per
run), and with ``--workers N`` it runs as one ``--role bot`` process and N ``--role worker``
processes on it (steady load only). CPU per order is the CPU time of every bot, worker and
face-check process over the steady part, divided by the orders delivered.

Prints Markdown (for docs/benchmarks.md). Not a test: nothing is asserted, problems are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.storage.ledger import Ledger
from bot.storage.opening import open_store
from bot.storage.store import Store
from tests.bot.process import BotProcess
from tests.conftest import astronaut, new_schema, portrait_jpeg
from tests.fakes.picwish import FakePicwish
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram, FakeUser, SentMessage

WAIT = 120.0


# --- the bot's process -----------------------------------------------------------------


class Bot(BotProcess):
    """The bot's process as the restart tests run it, timed, and its memory as the kernel reports it."""

    def __init__(self, config: Path, log: Path, role: str = "all") -> None:
        super().__init__(config, log, role)
        self.peak_rss = 0.0
        self._sampler: asyncio.Task[None] | None = None

    async def start(self, telegram: FakeTelegram) -> float:
        """Start it; the seconds until it polls Telegram."""
        started = time.monotonic()
        await super().start(telegram)
        self.peak_rss = 0.0
        self._sampler = asyncio.create_task(self._sample())
        return time.monotonic() - started

    def _status_mb(self, pid: int, key: str) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def rss(self) -> float:
        assert self.proc is not None
        return self._status_mb(self.proc.pid, "VmRSS")

    def worker_rss(self) -> float:
        """The local engine's worker processes (face checks), children of the bot."""
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return 0.0
        return sum(self._status_mb(int(pid), "VmRSS") for pid in children)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the process itself, and by its face-check workers."""
        assert self.proc is not None
        children: list[int] = []
        with contextlib.suppress(OSError):
            listed = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            children = [int(pid) for pid in listed.split()]
        return _cpu([self.proc.pid]), _cpu(children)

    async def _sample(self) -> None:
        while True:
            self.peak_rss = max(self.peak_rss, self.rss())
            await asyncio.sleep(0.1)

    async def stop(self) -> float:
        """SIGTERM and wait; the seconds it took to stop."""
        if self._sampler is not None:
            self._sampler.cancel()
        started = time.monotonic()
        await super().stop()
        return time.monotonic() - started


def _cpu(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every PostgreSQL server process on this machine."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """CPU seconds busy and in all, over every core, since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), sum(fields) / os.sysconf("SC_CLK_TCK")


# --- users -------------------------------------------------------------------------------


@dataclass
class Inbox:
    messages: list[SentMessage] = field(default_factory=list)
    seen_at: dict[int, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, found: Callable[[], Any], timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := found()):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - time.monotonic()))
        return value

    def first(self, start: int, test: Callable[[SentMessage], bool]) -> SentMessage | None:
        return next((m for m in self.messages[start:] if test(m)), None)


class People:
    """Users of the fake Bot API; each waits only on its own chat."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram
        self.inboxes: dict[int, Inbox] = {}
        telegram.observers.append(self._saw)

    def _saw(self, message: SentMessage) -> None:
        inbox = self.inboxes.setdefault(message.chat_id, Inbox())
        if message.message_id not in inbox.seen_at:
            inbox.seen_at[message.message_id] = time.monotonic()
            inbox.messages.append(message)
        inbox.changed.set()

    def user(self, user_id: int) -> tuple[FakeUser, Inbox]:
        return self.telegram.user(user_id=user_id), self.inboxes.setdefault(user_id, Inbox())


async def _press_and_see(user: FakeUser, inbox: Inbox, message: SentMessage, label: str, expect: str) -> None:
    await user.press(message, label)
    await inbox.wait(lambda: expect in message.text)


@dataclass(frozen=True)
class Timing:
    """One order's clock: when Confirm was pressed, when the document's request reached the fake
    Bot API, and when the fake had read it (its upload parsed)."""

    confirm_at: float
    document_arrived_at: float
    document_read_at: float


async def order(
    user: FakeUser,
    inbox: Inbox,
    photo: bytes,
    confirmed: Callable[[], None] | None = None,
    *,
    timeout: float = 600.0,
) -> Timing:
    """One ID photo order from photo to document; TimeoutError when a step or the document takes
    longer than ``timeout``."""
    start = len(inbox.messages)
    await user.send_photo(photo)
    menu = await inbox.wait(lambda: inbox.first(start, lambda m: "What would you like" in m.text), timeout)
    await _press_and_see(user, inbox, menu, "ID photo", "Choose a category")
    await _press_and_see(user, inbox, menu, "Visa", "Choose a spec")
    while not any("· USA Visa" in b["text"] for b in menu.buttons()):
        edits = menu.edits
        await user.press(menu, "▶")
        await inbox.wait(lambda edits=edits: menu.edits > edits)
    await _press_and_see(user, inbox, menu, "· USA Visa", "background colour")
    await _press_and_see(user, inbox, menu, "White", "Options")
    await _press_and_see(user, inbox, menu, "Continue", "Please check your order")
    confirm_at = time.monotonic()
    await user.press(menu, "Confirm")
    if confirmed is not None:
        await inbox.wait(lambda: any(t in menu.text for t in ("Working on it", "on its way", "Waiting", "Done")))
        confirmed()
    document = await inbox.wait(lambda: inbox.first(start, lambda m: m.kind == "document"), timeout=timeout)
    return Timing(confirm_at, document.arrived_at, inbox.seen_at[document.message_id])


# --- the runs ------------------------------------------------------------------------------


def telegram_config(telegram: FakeTelegram) -> dict[str, Any]:
    """The bot's telegram section for the fake Bot API, unpaced (the benchmarks measure the bot)."""
    return {
        "token": telegram.token,
        "base_url": telegram.base_url,
        "base_file_url": telegram.base_file_url,
        "poll_timeout": 10,
        "max_messages_per_second": 0,
    }


def write_config(
    directory: Path, telegram: FakeTelegram, picwish: FakePicwish, port: int, database_url: str = ""
) -> Path:
    config: dict[str, Any] = {
        "telegram": telegram_config(telegram),
        "server": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        "database": {"path": str(directory / "photobot.sqlite3")},
        "credits": {"daily_free": 1000},
        "network": {"allow_private_addresses": True},
        "jobs": {"max_per_user": 1000},
        "limits": {"requests_per_minute": 10000},
        "providers": {
            "picwish": {"api_key": picwish.api_key, "base_url": picwish.base_url, "deadline": 3600},
            "local": {"enabled": False},
        },
    }
    if database_url:
        config["database"]["url"] = database_url
        config["database"]["media_dir"] = str(directory / "media")
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile; NaN of nothing (a saturated run that delivered none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _open(config: Path) -> Store:
    settings = load_settings(config)
    return await open_store(settings.database.path, settings.database.url)


async def jobs_by_user(config: Path) -> dict[int, list[str]]:
    db = await _open(config)
    try:
        rows = await db.fetchall("SELECT id, user_id FROM jobs ORDER BY created_at, id")
    finally:
        await db.close()
    by_user: dict[int, list[str]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(row["id"])
    return by_user


async def open_jobs(config: Path) -> int:
    """Jobs not finished yet: the bot's queue when the load generator stopped waiting."""
    db = await _open(config)
    try:
        row = await db.fetchone("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'submitting', 'running')")
    finally:
        await db.close()
    return int(row["n"]) if row is not None else 0


async def ledger_report(config: Path) -> tuple[list[str], dict[str, int]]:
    settings = load_settings(config)
    db = await _open(config)
    try:
        problems = await Ledger(db, settings.credits.daily_free).problems()
        rows = await db.fetchall("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
    finally:
        await db.close()
    return problems, {row["state"]: row["n"] for row in rows}


def task_for_job(picwish: FakePicwish) -> dict[str, Any]:
    """PicWish tasks by our job id (the job id is in each task's callback URL)."""
    return {task.fields["callback_url"].split("/")[-2]: task for task in picwish.tasks.values()}


async def steady(
    args: argparse.Namespace,
    telegram: FakeTelegram,
    picwish: FakePicwish,
    bot: Bot,
    people: People,
    photo: bytes,
    config: Path,
    processes: list[Bot],
) -> dict[str, Any]:
    # One order first, so the face-check worker is up before the clock starts.
    await order(*people.user(1), photo)
    cpu_before = [process.cpu_seconds() for process in processes]
    postgres_before, busy_before = postgres_cpu_seconds(), machine_busy()
    total = round(args.rate * args.seconds)
    calls_before, queries_before = len(telegram.calls), picwish.queries
    began = time.monotonic() + 0.5
    timings: dict[int, list[Timing]] = {}
    lags: list[float] = []
    #: Users with an order that got no document within ``--order-timeout``: the bot saturated.
    late: Counter[int] = Counter()

    async def person(user_id: int, slots: list[float]) -> None:
        user, inbox = people.user(user_id)
        for slot in slots:
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            lags.append(time.monotonic() - slot)
            try:
                timings.setdefault(user_id, []).append(await order(user, inbox, photo, timeout=args.order_timeout))
            except TimeoutError:
                late[user_id] += 1
                return  # this person's chat is behind: the rest of their orders are not offered

    slots: dict[int, list[float]] = {}
    for k in range(total):
        slots.setdefault(100 + k % args.users, []).append(began + k / args.rate)
    await asyncio.gather(*(person(uid, s) for uid, s in slots.items()))
    finished = time.monotonic()
    unfinished = await open_jobs(config)
    cpu_after = [process.cpu_seconds() for process in processes]
    own = [after[0] - before[0] for before, after in zip(cpu_before, cpu_after, strict=True)]
    engine = sum(after[1] - before[1] for before, after in zip(cpu_before, cpu_after, strict=True))
    postgres_cpu = postgres_cpu_seconds() - postgres_before
    busy_after = machine_busy()
    busy = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
    calls = Counter(method for method, _ in telegram.calls[calls_before:] if method != "getUpdates")

    tasks = task_for_job(picwish)
    jobs = await jobs_by_user(config)
    added, to_provider, from_provider, read = [], [], [], []
    for user_id, orders in timings.items():
        if late[user_id]:  # an order of theirs is missing: their jobs and timings do not pair up
            continue
        for timing, job_id in zip(orders, jobs.get(user_id, []), strict=True):
            task = tasks[job_id]
            assert task.finished_at is not None
            before = task.arrived_at - timing.confirm_at
            after = timing.document_arrived_at - task.finished_at
            to_provider.append(before)
            from_provider.append(after)
            added.append(before + after)
            read.append(task.created_at - timing.confirm_at + timing.document_read_at - task.finished_at)
    documents = sorted(timing.document_read_at for orders in timings.values() for timing in orders)
    # Costs per order are per order delivered: all of them unless the bot saturated, when the
    # orders never offered would otherwise make each look cheaper than it was.
    delivered = len(documents) or 1
    return {
        "orders": total,
        "delivered": len(documents),
        "late": sum(late.values()),
        "not_offered": total - len(documents) - sum(late.values()),
        "unfinished_at_end": unfinished,
        # Documents per second from the first order's slot to the last document (the provider's own
        # latency counts against it); whether the bot kept up is judged by the throughput below.
        "delivered_rate": len(documents) / (documents[-1] - began) if documents else 0.0,
        "seconds": finished - began,
        "throughput": (len(documents) - 1) / (documents[-1] - documents[0]) if len(documents) > 1 else 0.0,
        "paired": len(added),
        "added_p50": percentile(added, 0.5),
        "added_p99": percentile(added, 0.99),
        "added_max": max(added, default=float("nan")),
        "read_p50": percentile(read, 0.5),
        "read_p99": percentile(read, 0.99),
        "submit_p50": percentile(to_provider, 0.5),
        "submit_p99": percentile(to_provider, 0.99),
        "deliver_p50": percentile(from_provider, 0.5),
        "deliver_p99": percentile(from_provider, 0.99),
        "start_lag_p99": percentile(lags, 0.99),
        "calls": {method: n / delivered for method, n in calls.most_common()},
        "queries": (picwish.queries - queries_before) / delivered,
        "peak_rss": bot.peak_rss,
        "worker_rss": bot.worker_rss(),
        "cpu_per_order": (sum(own) + engine) / delivered,
        "cpu_by_process": [seconds / delivered for seconds in own],
        "engine_cpu_per_order": engine / delivered,
        "core_share": [seconds / (finished - began) for seconds in own],
        "postgres_cpu_per_order": postgres_cpu / delivered,
        "machine_busy": busy,
        "workers_peak_rss": [process.peak_rss for process in processes[1:]],
    }


async def pending(
    args: argparse.Namespace,
    telegram: FakeTelegram,
    picwish: FakePicwish,
    bot: Bot,
    people: People,
    photo: bytes,
    config: Path,
    processes: list[Bot],
) -> dict[str, Any]:
    picwish.hold_new_tasks = True
    count = args.pending
    first_user = 100_000
    placed = asyncio.Event()
    confirmed = 0

    def one_confirmed() -> None:
        nonlocal confirmed
        confirmed += 1
        if confirmed == count:
            placed.set()

    results: dict[int, Timing] = {}

    async def person(index: int) -> None:
        await asyncio.sleep(index / args.pending_rate)
        user, inbox = people.user(first_user + index)
        results[user.id] = await order(user, inbox, photo, confirmed=one_confirmed)

    ordering_started = time.monotonic()
    orders = asyncio.gather(*(person(i) for i in range(count)))
    await asyncio.wait_for(placed.wait(), 600)
    await picwish.wait_for(lambda: sum(1 for task in picwish.tasks.values() if task.held) >= count, WAIT)
    placing = time.monotonic() - ordering_started

    # Steady state with everything pending: memory, polling load, and how fast the bot answers.
    await asyncio.sleep(5)
    queries_before, window_start = picwish.queries, time.monotonic()
    balance_times = []
    for index in range(20):
        user, inbox = people.user(first_user + index)
        start = len(inbox.messages)
        sent = time.monotonic()
        await user.send_text("/balance")
        await inbox.wait(lambda inbox=inbox, start=start: inbox.first(start, lambda m: "You have" in m.text))
        balance_times.append(time.monotonic() - sent)
    await asyncio.sleep(max(0.0, 5 - (time.monotonic() - window_start)))
    query_rate = (picwish.queries - queries_before) / (time.monotonic() - window_start)
    rss_pending, peak_before_restart = bot.rss(), bot.peak_rss

    stop_seconds = await bot.stop()
    restarted = time.monotonic()
    ready_seconds = await bot.start(telegram)
    held = [task for task in picwish.tasks.values() if task.held]
    await picwish.wait_for(lambda: all((t.queried_at or 0) > restarted for t in held), 600)
    resumed_seconds = time.monotonic() - restarted
    rss_resumed = bot.rss()

    released = time.monotonic()
    picwish.hold_new_tasks = False
    picwish.release()
    await asyncio.wait_for(orders, 900)
    drain_seconds = time.monotonic() - released
    documents = {uid: len([m for m in people.inboxes[uid].messages if m.kind == "document"]) for uid in results}
    return {
        "pending": count,
        "placing": placing,
        "rss_pending": rss_pending,
        "peak_before_restart": peak_before_restart,
        "query_rate": query_rate,
        "balance_p50": percentile(balance_times, 0.5),
        "balance_max": max(balance_times),
        "stop_seconds": stop_seconds,
        "ready_seconds": ready_seconds,
        "resumed_seconds": resumed_seconds,
        "rss_resumed": rss_resumed,
        "drain_seconds": drain_seconds,
        "peak_after_restart": bot.peak_rss,
        "worker_rss": bot.worker_rss(),
        "not_exactly_once": sorted(uid for uid, n in documents.items() if n != 1),
    }


def phone_portrait() -> bytes:
    """The astronaut's head and shoulders filling a 960x1280 frame (her face about a third of its
    longer side), as Telegram sends a phone's portrait (1280 pixels on the longer side, quality
    87): 100 of the real-photo benchmark's 128 photos show the face at least a quarter of the
    longer side, where the check before charging takes its quick route (faces.PORTRAIT_FACE).
    ``--photo small`` sends her small in an 800x1000 frame instead (a sixth), as before stop 36."""
    head = astronaut().crop((120, 10, 370, 330)).resize((1000, 1280), Image.Resampling.LANCZOS).crop((20, 0, 980, 1280))
    out = io.BytesIO()
    head.save(out, "JPEG", quality=87)
    return out.getvalue()


async def main(args: argparse.Namespace) -> None:
    telegram, picwish = FakeTelegram(), FakePicwish(step_seconds=args.latency / 4)
    await telegram.start()
    await picwish.start()
    people = People(telegram)
    photo = phone_portrait() if args.photo == "portrait" else portrait_jpeg()
    with (
        contextlib.nullcontext(args.workdir)
        if args.workdir
        else tempfile.TemporaryDirectory(prefix="photobot-load-") as tmp
    ):
        results: dict[str, Any] = {}
        for part in ("steady", "pending"):
            if (part == "steady" and args.skip_steady) or (part == "pending" and (not args.pending or args.workers)):
                continue
            directory = Path(tmp) / part
            directory.mkdir(parents=True)
            url = await new_schema(args.database_url, "load") if args.database_url else ""
            config = write_config(directory, telegram, picwish, free_port(), url)
            processes = [Bot(config, directory / "bot.log", "bot" if args.workers else "all")]
            processes += [Bot(config, directory / f"worker{n}.log", "worker") for n in range(1, args.workers + 1)]
            bot = processes[0]
            try:
                for process in processes:
                    await process.start(telegram)
                run = steady if part == "steady" else pending
                results[part] = await run(args, telegram, picwish, bot, people, photo, config, processes)
            finally:
                for process in processes:
                    if process.proc is not None and process.proc.returncode is None:
                        await process.stop()
            results[part]["ledger"], results[part]["states"] = await ledger_report(config)
        report(args, results)
    await picwish.stop()
    await telegram.stop()


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, CPython {platform.python_version()}")
    database = "PostgreSQL" if args.database_url else "SQLite"
    layout = f"one bot process and {args.workers} worker(s)" if args.workers else "one process (--role all)"
    print(f"Database: {database}; {layout}\n")
    if "steady" in results:
        r = results["steady"]
        print(
            f"### Steady load: {args.rate} orders/s for {args.seconds} s, {args.users} users, "
            f"PicWish {args.latency} s per photo\n"
        )
        # Kept up: documents came as fast as orders were offered (first to last document; from the
        # first order's slot the provider's own latency, 2 s of a 20 s run, made 20/s read as 18.2).
        saturated = r["late"] or r["throughput"] < 0.9 * args.rate
        print("| figure | value |\n|---|---|")
        print(f"| saturated | {'**yes**' if saturated else 'no'} |")
        print(
            f"| orders offered / delivered (all in {r['seconds']:.1f} s) / no document within "
            f"{args.order_timeout:g} s / not offered after that | {r['orders']} / {r['delivered']} / {r['late']} / "
            f"{r['not_offered']} |"
        )
        print(f"| jobs still queued or running when the generator stopped | {r['unfinished_at_end']} |")
        print(f"| documents per second, first order to last document | {r['delivered_rate']:.1f} |")
        print(f"| documents delivered per second, first to last | {r['throughput']:.1f} |")
        print(f"| orders in the latency figures (every order of their user delivered) | {r['paired']} |")
        print(f"| added latency p50 / p99 (max) | {ms(r['added_p50'])} / {ms(r['added_p99'])} ({ms(r['added_max'])}) |")
        print(f"| of which Confirm → PicWish task, p50 / p99 | {ms(r['submit_p50'])} / {ms(r['submit_p99'])} |")
        print(f"| of which task finished → document, p50 / p99 | {ms(r['deliver_p50'])} / {ms(r['deliver_p99'])} |")
        print(
            f"| the same, until the fakes had read the uploads, p50 / p99 | {ms(r['read_p50'])} / {ms(r['read_p99'])} |"
        )
        print(f"| order start lag p99 (the load generator keeping up) | {ms(r['start_lag_p99'])} |")
        per_order = ", ".join(f"{method} {n:.1f}" for method, n in r["calls"].items())
        print(f"| Bot API calls per delivered order | {sum(r['calls'].values()):.1f}: {per_order} |")
        print(f"| PicWish status queries per delivered order | {r['queries']:.1f} |")
        print(f"| bot peak RSS | {r['peak_rss']:.0f} MB (face-check worker: {r['worker_rss']:.0f} MB) |")
        if r["workers_peak_rss"]:
            print(f"| worker processes' peak RSS | {', '.join(f'{mb:.0f} MB' for mb in r['workers_peak_rss'])} |")
        print(f"| CPU per delivered order, every bot, worker and face-check process | {ms(r['cpu_per_order'])} |")
        shares = ", ".join(
            f"{ms(seconds)} ({share:.0%} of a core)"
            for seconds, share in zip(r["cpu_by_process"], r["core_share"], strict=True)
        )
        print(f"| of which each process itself (bot first, then workers) | {shares} |")
        print(f"| of which the face-check workers | {ms(r['engine_cpu_per_order'])} |")
        if args.database_url:
            print(f"| CPU per delivered order, the PostgreSQL server | {ms(r['postgres_cpu_per_order'])} |")
        print(f"| machine busy (all cores, load generator and fakes included) | {r['machine_busy']:.0%} |")
        print(f"| ledger problems / job states | {len(r['ledger'])} / {r['states']} |\n")
    if "pending" in results:
        r = results["pending"]
        print(f"### {r['pending']} orders pending at once, then a restart\n")
        print("| figure | value |\n|---|---|")
        print(f"| placing {r['pending']} orders (whole conversations) | {r['placing']:.1f} s |")
        print(
            f"| bot RSS with {r['pending']} pending (peak so far) | {r['rss_pending']:.0f} MB "
            f"({r['peak_before_restart']:.0f} MB) |"
        )
        print(f"| PicWish status queries meanwhile | {r['query_rate']:.0f}/s |")
        print(f"| /balance answer time meanwhile, p50 / max | {ms(r['balance_p50'])} / {ms(r['balance_max'])} |")
        print(f"| graceful stop | {r['stop_seconds']:.1f} s |")
        print(f"| restart: polling Telegram again | {r['ready_seconds']:.1f} s |")
        print(f"| restart: every pending task asked about | {r['resumed_seconds']:.1f} s |")
        print(f"| bot RSS after resuming | {r['rss_resumed']:.0f} MB |")
        print(f"| all {r['pending']} delivered after PicWish finished them | {r['drain_seconds']:.1f} s |")
        print(f"| bot peak RSS after the restart (incl. delivering all) | {r['peak_after_restart']:.0f} MB |")
        print(f"| users without exactly one document | {len(r['not_exactly_once'])} |")
        print(f"| ledger problems / job states | {len(r['ledger'])} / {r['states']} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second in the steady part")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds PicWish takes per photo")
    parser.add_argument(
        "--order-timeout",
        type=float,
        default=60.0,
        help="seconds an order may take before the bot counts as saturated (its user stops ordering)",
    )
    parser.add_argument(
        "--photo",
        choices=("portrait", "small"),
        default="portrait",
        help="the photo every user sends: head and shoulders (the default), or small in the frame",
    )
    parser.add_argument("--pending", type=int, default=1000, help="orders pending at once (0: skip)")
    parser.add_argument("--pending-rate", type=float, default=25.0, help="orders per second while placing them")
    parser.add_argument("--skip-steady", action="store_true")
    parser.add_argument("--workdir", help="keep the bot's databases and logs in this (new) folder")
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of SQLite (a new schema per run)")
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes beside one bot process (needs PostgreSQL)"
    )
    asyncio.run(main(parser.parse_args()))
