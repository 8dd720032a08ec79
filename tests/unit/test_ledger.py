from __future__ import annotations

import asyncio
import sqlite3
import time

import asyncpg
import pytest

from bot.storage.db import Database
from bot.storage.jobs import (
    ACTIVE_STATES,
    AlreadyPlaced,
    Job,
    JobDraft,
    JobResult,
    JobState,
    TooManyJobs,
    TooManyPreviews,
    purchase_key,
)
from bot.storage.ledger import SETTLED_BY, Credits, InsufficientCredits, OwesCredits
from bot.storage.repositories import Repositories

#: What a refused write raises on SQLite and on PostgreSQL (a constraint, the ledger's trigger).
INTEGRITY = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


@pytest.fixture
def repos(store):
    """The repositories on each backend (tests/conftest.py's ``store``)."""
    return Repositories.on(store, daily_free=20)


def test_the_ledger_knows_how_every_job_state_leaves_its_hold():
    """bot/storage/ledger.py checks the books without importing the jobs' module (which imports
    it): each job state is either active (its hold unsettled) or settled as SETTLED_BY says, which
    is what Jobs.settle writes (a capture only for a success)."""
    assert set(SETTLED_BY) | set(ACTIVE_STATES) == set(JobState)
    assert not set(SETTLED_BY) & set(ACTIVE_STATES)
    assert {state for state, kind in SETTLED_BY.items() if kind == "capture"} == {JobState.SUCCEEDED}


def _draft(price: int, user_id: int = 1) -> JobDraft:
    return JobDraft(
        user_id=user_id,
        chat_id=user_id,
        service="idphoto",
        provider="picwish",
        options={"spec_id": 3108},
        input_ref=None,
        price=price,
        deadline_seconds=60,
    )


async def test_wal_mode_and_migration_version(tmp_path):
    db = await Database.open(tmp_path / "db.sqlite3")
    try:
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA user_version"))[0] == 22
    finally:
        await db.close()


async def test_postgres_migrations_are_recorded_and_run_once():
    """Processes that start together migrate once: the advisory lock serialises them, and the
    second finds the version recorded."""
    from bot.storage.postgres import PostgresStore
    from tests.conftest import postgres_schema

    url = await postgres_schema()
    first, second = await asyncio.gather(PostgresStore.open(url), PostgresStore.open(url))
    try:
        versions = await first.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [row["version"] for row in versions] == list(range(1, 20))
    finally:
        await first.close()
        await second.close()


async def test_reports_see_every_commit_and_closing_leaves_no_wal(tmp_path):
    """Commits on the loop's connection are visible to the report connection at once; the loop's
    connection never checkpoints by itself, and closing checkpoints the WAL away."""
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    repos = Repositories.on(db, daily_free=20)
    assert (await db.fetchone("PRAGMA wal_autocheckpoint"))[0] == 0
    for user_id in range(1, 51):
        await repos.users.ensure(user_id, user_id, "en")
        await repos.jobs.create(_draft(5, user_id))
    rows = await db.report("SELECT COUNT(*) AS n FROM jobs")
    assert rows[0]["n"] == 50 and len(await repos.jobs.unfinished()) == 50
    assert (tmp_path / "db.sqlite3-wal").stat().st_size > 0
    await db.close()
    wal = tmp_path / "db.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0


async def test_the_wal_is_checkpointed_while_the_bot_writes(tmp_path):
    db = await Database.open(tmp_path / "db.sqlite3", checkpoint_interval=0.05)
    try:
        await Repositories.on(db, daily_free=20).users.ensure(1, 1, "en")
        await asyncio.wait_for(db.checkpointed.wait(), 10)
        assert db.last_checkpoint is not None
        busy, frames, done = db.last_checkpoint
        assert busy == 0 and frames > 0 and done == frames
    finally:
        await db.close()


async def test_daily_grant_tops_up_once_per_day(repos):
    await repos.users.ensure(1, 1, "en")
    assert await repos.ledger.balance(1) == 20
    await repos.users.ensure(1, 1, "en")
    assert await repos.ledger.balance(1) == 20
    rows = await repos.db.fetchall("SELECT kind, amount FROM ledger WHERE user_id = 1")
    assert [tuple(r) for r in rows] == [("daily_grant", 20)]


async def test_credits_on_hold_count_towards_the_daily_top_up(store):
    """A job holds 6 of 20 free credits across midnight and then fails: the user ends the new day
    with 20, not 26 (today's top-up counted the held credits as the user's)."""
    day = ["2026-11-28"]
    repos = Repositories.on(store, daily_free=20, today=lambda: day[0])
    await repos.users.ensure(1, 1, "en")  # 28 Nov: 20 free
    job = await repos.jobs.create(_draft(6))  # 6 on hold
    day[0] = "2026-11-29"
    assert await repos.ledger.balance(1) == 14  # the held 6 count: no top-up
    assert await repos.jobs.settle(job, "failed", error="internal_error")  # the 6 come back
    assert await repos.ledger.balance(1) == 20
    grants = await store.fetchall("SELECT day, amount FROM ledger WHERE kind = 'daily_grant' ORDER BY day")
    assert [tuple(g) for g in grants] == [("2026-11-28", 20), ("2026-11-29", 0)]
    assert await repos.ledger.problems() == []


async def test_concurrent_orders_cannot_spend_the_same_credits(repos):
    """Five orders of 6 at once against 20 credits: three are held, two refused, whatever runs
    them side by side (on PostgreSQL, pooled connections under SERIALIZABLE)."""
    await repos.users.ensure(1, 1, "en")
    outcomes = await asyncio.gather(*(repos.jobs.create(_draft(6)) for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(o, Job) for o in outcomes) == 3
    assert sum(isinstance(o, InsufficientCredits) for o in outcomes) == 2
    assert await repos.ledger.balance(1) == 2 and await repos.ledger.problems() == []


async def test_a_payment_adds_its_credits_once_and_a_refund_takes_them_back_once(repos):
    from bot.storage.payments import Payments

    payments = Payments(repos.db)
    await repos.users.ensure(1, 1, "en")
    invoice = await payments.issue(1, "small", 30, 50)
    sold = {"small": (30, 50)}
    assert await payments.checkout_problem(invoice.payload, 1, "XTR", 50, sold) is None
    assert await payments.checkout_problem(invoice.payload, 2, "XTR", 50, sold) == "not_yours"
    assert await payments.checkout_problem(invoice.payload, 1, "XTR", 49, sold) == "wrong_price"
    assert await payments.checkout_problem("guessed", 1, "XTR", 50, sold) == "unknown"
    for changed in ({"small": (20, 50)}, {"small": (30, 60)}, {}):  # the pack corrected, or no longer sold
        assert await payments.checkout_problem(invoice.payload, 1, "XTR", 50, changed) == "withdrawn"
    first, again = [await payments.receive("charge-1", 1, invoice.payload, "XTR", 50) for _ in range(2)]
    assert (first.added, first.balance, again.added) == (30, 50, 0)
    assert (await payments.begin_refund("no-such-charge", spend_confirmed=False)).outcome == "unknown"
    assert await payments.take_back("no-such-charge", "test") is None
    plan = await payments.take_back("charge-1", "test")
    assert plan is not None and plan.bought_after == 0
    assert await payments.take_back("charge-1", "test") is None
    assert (await payments.begin_refund("charge-1", spend_confirmed=False)).outcome == "refunded"
    credits = await repos.ledger.credits(1)
    assert (credits.total, credits.bought) == (20, 0) and await repos.ledger.problems() == []


async def _bought_pack(payments, user_id: int, charge_id: str) -> None:
    invoice = await payments.issue(user_id, "small", 30, 50)
    assert (await payments.receive(charge_id, user_id, invoice.payload, "XTR", 50)).added == 30


async def test_a_refund_is_decided_on_the_credits_in_its_own_transaction(store):
    """An admin's refund is decided, and the pack's credits set aside, in one transaction with the
    buyer's orders: an order placed while Telegram is asked cannot spend them, and a refund
    decided after a spend asks first. (Before, the decision was a read of its own, and an order
    landing between it and the refund left bought credits at -N with no question and no alert.)"""
    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=0), Payments(store)
    await repos.users.ensure(1, 1, "en")
    await _bought_pack(payments, 1, "charge-1")
    started = await payments.begin_refund("charge-1", spend_confirmed=False)
    assert started.outcome == "reserved" and started.plan is not None and started.plan.bought_after == 0
    with pytest.raises(InsufficientCredits):  # while Telegram is asked: the 30 are set aside
        await repos.jobs.create(_draft(6))
    assert (await payments.begin_refund("charge-1", spend_confirmed=False)).outcome == "under_way"
    plan = await payments.take_back("charge-1", "by /refund")
    assert plan is not None and plan.bought_after == 0
    assert await repos.ledger.credits(1) == Credits(0, 0)

    # Spent first: the refund asks and sets nothing aside; confirmed, the buyer owes at once;
    # refused by Telegram, the credits are the buyer's again.
    await _bought_pack(payments, 1, "charge-2")
    await repos.jobs.create(_draft(6))
    started = await payments.begin_refund("charge-2", spend_confirmed=False)
    assert started.outcome == "ask" and started.plan is not None and started.plan.bought_after == -6
    await repos.jobs.create(_draft(6))  # nothing was set aside
    started = await payments.begin_refund("charge-2", spend_confirmed=True)
    assert started.outcome == "reserved" and started.plan is not None and started.plan.bought_after == -12
    with pytest.raises(OwesCredits):
        await repos.jobs.create(_draft(1))
    await payments.cancel_refund("charge-2")
    await repos.jobs.create(_draft(6))
    assert await repos.ledger.credits(1) == Credits(12, 12) and await repos.ledger.problems() == []


async def test_a_payment_that_matched_no_invoice_is_refunded_without_credits_or_questions(store):
    """A payment recorded without credits (its invoice gone, another's, another price) is refunded
    without a question even when its buyer owes (it takes nothing back), and the books balance."""
    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=0), Payments(store)
    await repos.users.ensure(1, 1, "en")
    await _bought_pack(payments, 1, "charge-1")
    await repos.jobs.create(_draft(6))
    assert (await payments.begin_refund("charge-1", spend_confirmed=True)).outcome == "reserved"
    assert await payments.take_back("charge-1", "by /refund") is not None  # the buyer owes 6
    await payments.unmatched("charge-2", 1, "a-payload-never-issued", "XTR", 50)
    await payments.unmatched("charge-2", 1, "a-payload-never-issued", "XTR", 50)  # once
    started = await payments.begin_refund("charge-2", spend_confirmed=False)
    assert started.outcome == "reserved" and started.plan is not None and started.plan.payment.credits == 0
    plan = await payments.take_back("charge-2", "by /refund")
    assert plan is not None and plan.bought_after == -6
    assert (await repos.ledger.credits(1)).bought == -6
    assert await repos.ledger.problems() == []


async def test_an_order_cancelled_or_failed_in_every_part_can_be_confirmed_again(store):
    """A Confirm finds an order placed before and places nothing, unless every part of it was
    cancelled or failed (and given back): then its keys are released and the order is placed anew,
    once, at its price (before, a preview whose purchase was cancelled could never be bought). One
    part still done or under way keeps the order placed."""
    repos = Repositories.on(store, daily_free=30)
    await repos.users.ensure(1, 1, "en")
    keyed = [JobDraft(**{**_draft(price).__dict__, "order_key": "pvjob"}) for price in (6, 3)]
    first, extra = await repos.jobs.create_many(keyed)
    assert await repos.jobs.settle(first, "cancelled", error="cancelled")
    assert await repos.jobs.settle(extra, "failed", error="invalid_image")
    again, again_extra = await repos.jobs.create_many(keyed)
    keys = {row["id"]: row["order_key"] for row in await repos.db.fetchall("SELECT id, order_key FROM jobs")}
    assert keys == {first.id: None, extra.id: None, again.id: "pvjob", again_extra.id: "pvjob+1"}
    with pytest.raises(AlreadyPlaced) as placed:  # placed now: a second Confirm places nothing
        await repos.jobs.create_many(keyed)
    assert placed.value.job_id == again.id
    assert await repos.jobs.settle(again, "failed", error="invalid_image")
    assert await repos.jobs.settle(again_extra, "succeeded", result=JobResult(files=[]))
    with pytest.raises(AlreadyPlaced):  # one size was made: the order stands
        await repos.jobs.create_many(keyed)
    assert await repos.ledger.balance(1) == 30 - 3
    assert await repos.ledger.problems() == []


async def test_a_failed_order_confirmed_again_from_its_own_summary_stands_as_it_ended(store):
    """The same Confirm handled a second time (a bot process took over from one that died before
    marking it handled) finds its order failed and given back: this press's order (its first
    part's status message is this summary) stands as it ended, nothing is held again. Before, its
    keys were released and it was placed and charged again, unasked. From another message (a
    preview's purchase has none) the keys are released as before."""
    repos = Repositories.on(store, daily_free=30)
    await repos.users.ensure(1, 1, "en")
    summary = JobDraft(**{**_draft(6).__dict__, "order_key": "a1b2", "status_message_id": 40})
    (first,) = await repos.jobs.create_many([summary])
    assert await repos.jobs.settle(first, "failed", error="invalid_image")
    with pytest.raises(AlreadyPlaced) as placed:
        await repos.jobs.create_many([summary])
    assert placed.value.job_id == first.id
    assert await repos.ledger.balance(1) == 30
    elsewhere = JobDraft(**{**summary.__dict__, "status_message_id": None})
    (again,) = await repos.jobs.create_many([elsewhere])
    assert again.id != first.id and await repos.ledger.balance(1) == 24
    assert await repos.ledger.problems() == []


async def test_refunds_and_orders_at_once_never_spend_refunded_credits_unasked(store):
    """Twenty buyers each order and are refunded at the same moment (on PostgreSQL on pooled
    connections): either the order is refused and the refund goes ahead, or the order is placed
    and the refund asks first; never both placed and refunded unasked."""
    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=0), Payments(store)
    buyers = range(101, 121)
    for user_id in buyers:
        await repos.users.ensure(user_id, user_id, "en")
        await _bought_pack(payments, user_id, f"charge-{user_id}")

    async def both(user_id: int) -> tuple[str, bool]:
        order, started = await asyncio.gather(
            repos.jobs.create(_draft(30, user_id)),
            payments.begin_refund(f"charge-{user_id}", spend_confirmed=False),
            return_exceptions=True,
        )
        assert not isinstance(started, BaseException)
        if started.outcome == "reserved":
            assert await payments.take_back(f"charge-{user_id}", "test") is not None
        return started.outcome, isinstance(order, Job)

    outcomes = await asyncio.gather(*(both(user_id) for user_id in buyers))
    assert set(outcomes) <= {("reserved", False), ("ask", True)}
    for user_id in buyers:
        assert (await repos.ledger.credits(user_id)).bought == 0
    assert await repos.ledger.problems() == []


async def test_hold_capture_release_balance(repos):
    await repos.users.ensure(1, 1, "en")
    ok = await repos.jobs.create(_draft(6))
    failed = await repos.jobs.create(_draft(8))
    assert await repos.ledger.balance(1) == 6
    await repos.jobs.transition(ok.id, ("queued",), "running")
    assert await repos.jobs.settle(ok, "succeeded", result=JobResult(files=[]))
    assert await repos.jobs.settle(failed, "failed", error="invalid_image")
    assert not await repos.jobs.settle(failed, "cancelled")  # settled once only
    assert await repos.ledger.balance(1) == 14
    assert await repos.ledger.problems() == []


async def test_insufficient_credits_creates_nothing(repos):
    await repos.users.ensure(1, 1, "en")
    with pytest.raises(InsufficientCredits) as info:
        await repos.jobs.create(_draft(21))
    assert (info.value.balance, info.value.price) == (20, 21)
    assert await repos.db.fetchall("SELECT * FROM jobs") == []
    assert await repos.ledger.balance(1) == 20


async def test_an_order_of_several_jobs_is_held_at_once_and_each_job_settled_on_its_own(repos):
    """More sizes of an ID photo: one job per size, created and held together; the one that fails
    gives back exactly its own part, and the order counts once against the unfinished-orders limit."""
    await repos.users.ensure(1, 1, "en")
    await repos.ledger.admin_grant(1, 5, "bought elsewhere")  # 25 credits: the holds take the free ones first
    with pytest.raises(InsufficientCredits) as info:
        await repos.jobs.create_many([_draft(6), _draft(10), _draft(10)])
    assert (info.value.balance, info.value.price) == (25, 26)
    assert await repos.db.fetchall("SELECT * FROM jobs") == []  # all or none
    keyed = [JobDraft(**{**_draft(price).__dict__, "order_key": "n1"}) for price in (6, 3, 3)]
    first, second, third = await repos.jobs.create_many(keyed, max_active=2)
    assert [job.order_group for job in (first, second, third)] == [first.id] * 3
    assert [job.id for job in await repos.jobs.of_order(first.id)] == [first.id, second.id, third.id]
    assert await repos.ledger.balance(1) == 25 - 12
    # A second Confirm finds the first job and places nothing; the order is one of two allowed.
    with pytest.raises(AlreadyPlaced) as placed:
        await repos.jobs.create_many(keyed, max_active=2)
    assert placed.value.job_id == first.id
    alone = await repos.jobs.create(_draft(1), max_active=2)
    assert alone.order_group is None
    with pytest.raises(TooManyJobs) as many:
        await repos.jobs.create(_draft(1), max_active=2)
    assert many.value.active == 2
    assert await repos.jobs.settle(first, "succeeded", result=JobResult(files=[]))
    assert await repos.jobs.settle(second, "failed", error="invalid_image")
    assert await repos.jobs.settle(third, "succeeded", result=JobResult(files=[]))
    assert await repos.ledger.balance(1) == 25 - 9 - 1
    assert await repos.ledger.problems() == []


async def test_an_order_of_several_jobs_spends_free_credits_first_part_by_part(store):
    """The holds of an order of several take the free credits first, in the order of its parts:
    each hold names the bought credits it took, and a part that fails gives back exactly those."""
    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=20), Payments(store)
    await repos.users.ensure(1, 1, "en")
    await _bought_pack(payments, 1, "charge-1")  # 20 free, 30 bought
    jobs = await repos.jobs.create_many([_draft(15), _draft(10), _draft(10)])
    holds = await store.fetchall("SELECT job_id, paid FROM ledger WHERE kind = 'hold'")
    assert sorted((row["job_id"], row["paid"]) for row in holds) == sorted(
        zip([job.id for job in jobs], [0, 5, 10], strict=True)
    )
    assert await repos.jobs.settle(jobs[2], JobState.FAILED, error="invalid_image")
    credits = await repos.ledger.credits(1)
    assert (credits.total, credits.bought) == (50 - 25, 30 - 5)
    assert await repos.ledger.problems() == []


async def test_free_previews_are_counted_per_user_and_provider_over_the_last_hour(repos):
    def preview(user_id: int = 1, provider: str = "local", **options: object) -> JobDraft:
        options = {"spec_id": 3108, "preview": True, **options}
        return JobDraft(user_id, user_id, "idphoto", provider, options, None, 0, 60)

    for user_id in (1, 2):
        await repos.users.ensure(user_id, user_id, "en")
    for _ in range(2):
        await repos.jobs.create(preview(), previews_per_hour=2)
    # Two at once on the same hour's last slot: the user's transaction lets one through.
    other = await asyncio.gather(
        *(repos.jobs.create(preview(user_id=2), previews_per_hour=1) for _ in range(2)), return_exceptions=True
    )
    assert sorted(type(result).__name__ for result in other) == ["Job", "TooManyPreviews"]
    with pytest.raises(TooManyPreviews) as over:
        await repos.jobs.create(preview(), previews_per_hour=2)
    assert over.value.made == 2 and 3590 < over.value.wait <= 3600
    # Not previews, another provider's previews, or previews an hour old do not count.
    await repos.jobs.create(preview(preview=False), previews_per_hour=2)
    await repos.jobs.create(preview(provider="picwish"), previews_per_hour=2)
    await repos.db.write("UPDATE jobs SET created_at = created_at - 3601 WHERE user_id = 1")
    await repos.jobs.create(preview(), previews_per_hour=2)
    assert await repos.ledger.problems() == []


async def test_a_free_preview_the_engine_was_too_busy_to_start_does_not_count(repos):
    """A preview failed as "very busy" (the engine's queue full: nothing was made) cost the engine
    nothing, yet it counted toward the hour's bound: under load, a person pressing Try again used
    up their free previews without seeing one. Other failures (the engine worked on the photo)
    still count, also across /forget."""
    from bot.storage.jobs import keep_previews

    draft = JobDraft(1, 1, "idphoto", "local", {"spec_id": 3108, "preview": True}, None, 0, 60)
    await repos.users.ensure(1, 1, "en")
    busy = await repos.jobs.create(draft, previews_per_hour=2)
    assert await repos.jobs.settle(busy, JobState.FAILED, error="engine_busy")
    refused = await repos.jobs.create(draft, previews_per_hour=2)
    assert await repos.jobs.settle(refused, JobState.FAILED, error="no_face")
    await repos.jobs.create(draft, previews_per_hour=2)
    with pytest.raises(TooManyPreviews) as over:
        await repos.jobs.create(draft, previews_per_hour=2)
    assert over.value.made == 2
    await repos.db.transaction(lambda tx: keep_previews(tx, 1, "print", time.time()), user=1)  # /forget
    assert (await repos.db.fetchone("SELECT COUNT(*) AS n FROM forgotten_previews"))["n"] == 2


async def test_recent_jobs_are_the_users_own_newest_first_a_page_at_a_time(repos):
    for user_id in (1, 2):
        await repos.users.ensure(user_id, user_id, "en")
    mine = [await repos.jobs.create(_draft(1)) for _ in range(5)]
    await repos.jobs.create(_draft(1, user_id=2))
    # Two orders in the same instant keep one order, by id.
    await repos.db.write("UPDATE jobs SET created_at = 100 WHERE id IN (?, ?)", (mine[3].id, mine[4].id))
    for age, job in enumerate(mine[:3]):
        await repos.db.write("UPDATE jobs SET created_at = ? WHERE id = ?", (200 - age, job.id))
    newest = [mine[0].id, mine[1].id, mine[2].id, *sorted((mine[3].id, mine[4].id), reverse=True)]
    first, second = await repos.jobs.recent(1, 3), await repos.jobs.recent(1, 3, offset=3)
    assert [job.id for job in first + second] == newest
    assert {job.user_id for job in first + second} == {1}
    assert await repos.jobs.recent(1, 3, offset=5) == []


async def test_past_orders_are_orders_each_with_its_jobs_first_first_paged_by_orders(repos):
    """/orders: the jobs one Confirm placed (one ``order_group``) are one order, its first job
    first and its extras as placed (``+10`` after ``+9``); a job of no group is an order of its
    own; newest first, ``limit`` and ``offset`` count orders, not jobs."""
    await repos.users.ensure(1, 1, "en")
    await repos.ledger.admin_grant(1, 100, "bought elsewhere")
    alone = await repos.jobs.create(_draft(1))
    keyed = [JobDraft(**{**_draft(1).__dict__, "order_key": "n1"}) for _ in range(12)]
    album = await repos.jobs.create_many(keyed)
    sizes = await repos.jobs.create_many([_draft(2), _draft(1)])
    await repos.users.ensure(2, 2, "en")
    other = await repos.jobs.create(_draft(1, user_id=2))
    for age, order in enumerate([sizes, album, [alone]]):
        for job in order:
            await repos.db.write("UPDATE jobs SET created_at = ? WHERE id = ?", (1000 - age, job.id))
    listed = [[job.id for job in order] for order in await repos.jobs.past_orders(1, 10)]
    assert listed == [[job.id for job in order] for order in (sizes, album, [alone])]
    assert [[job.id for job in order] for order in await repos.jobs.past_orders(1, 1, offset=1)] == [
        [job.id for job in album]
    ]
    assert [[job.id for job in order] for order in await repos.jobs.past_orders(1, 5, offset=2)] == [[alone.id]]
    assert await repos.jobs.past_orders(1, 5, offset=3) == []
    assert [[job.id for job in order] for order in await repos.jobs.past_orders(2, 5)] == [[other.id]]


async def test_past_orders_list_a_bought_preview_as_its_purchase_unless_that_failed(repos):
    """/orders: a free preview whose purchase (its order key ``purchase_key``) stands is not listed
    of its own, the purchase is; one whose purchase failed or was cancelled is still a preview."""
    from dataclasses import replace

    await repos.users.ensure(1, 1, "en")
    previews = [await repos.jobs.create(_draft(0)) for _ in range(4)]
    bought = [
        await repos.jobs.create(replace(_draft(2), order_key=purchase_key(preview.id))) for preview in previews[:3]
    ]
    await repos.jobs.settle(bought[0], JobState.SUCCEEDED)
    await repos.jobs.settle(bought[1], JobState.FAILED, error="failed")
    await repos.jobs.settle(bought[2], JobState.CANCELLED)
    other = await repos.jobs.create(replace(_draft(2), order_key="abc123"))  # an ordinary order
    for age, job in enumerate([other, *reversed(bought), *reversed(previews)]):
        await repos.db.write("UPDATE jobs SET created_at = ? WHERE id = ?", (1000 - age, job.id))
    listed = [[job.id for job in order] for order in await repos.jobs.past_orders(1, 10)]
    assert listed == [[job.id] for job in [other, *reversed(bought), *reversed(previews[1:])]]
    assert [[job.id for job in order] for order in await repos.jobs.past_orders(1, 3, offset=3)] == [
        [bought[0].id],
        [previews[3].id],
        [previews[2].id],
    ]
    assert len(await repos.jobs.recent(1, 10)) == 8  # every job, as before


async def test_ledger_is_append_only(repos):
    await repos.users.ensure(1, 1, "en")
    with pytest.raises(INTEGRITY, match="append-only"):
        await repos.db.transaction(lambda tx: tx.execute("UPDATE ledger SET amount = 999"), user=1)
    with pytest.raises(INTEGRITY, match="append-only"):
        await repos.db.transaction(lambda tx: tx.execute("DELETE FROM ledger"), user=1)
    # /forget's pseudonymisation (a positive id to a negative one, nothing else) is the one update
    # allowed; moving credits to another real user, or changing an amount along with it, is not.
    await repos.users.ensure(2, 2, "en")
    with pytest.raises(INTEGRITY, match="append-only"):
        await repos.db.transaction(lambda tx: tx.execute("UPDATE ledger SET user_id = 2 WHERE user_id = 1"), user=1)
    with pytest.raises(INTEGRITY, match="append-only"):
        await repos.db.transaction(
            lambda tx: tx.execute("UPDATE ledger SET user_id = -5, amount = 999 WHERE user_id = 1"), user=1
        )


async def test_forget_moves_rows_to_a_pseudonym_and_the_ledger_balances(repos):
    from bot.storage.jobs import ActiveJobs

    await repos.users.ensure(1, 1, "en")
    done = await repos.jobs.create(_draft(6))
    await repos.jobs.settle(done, "succeeded", result=JobResult(files=["results/x_0.jpg"]))
    running = await repos.jobs.create(_draft(3))
    with pytest.raises(ActiveJobs):
        await repos.users.forget(1)
    await repos.jobs.settle(running, "failed", error="x")
    with pytest.raises(ActiveJobs):  # made and paid for, its files not yet sent
        await repos.users.forget(1)
    await repos.jobs.end_delivery(done.id)
    assert await repos.users.forget(1) == ["results/x_0.jpg"]
    for table in ("users", "jobs", "ledger"):
        assert await repos.db.fetchall(f"SELECT * FROM {table} WHERE user_id = 1") == []
    (pseudonym,) = await repos.db.fetchall("SELECT user_id FROM users")
    assert pseudonym["user_id"] < 0
    assert await repos.ledger.problems() == []
    await repos.users.ensure(1, 1, "en")  # back the same day: no second top-up
    assert await repos.ledger.balance(1) == 0
    tomorrow = Repositories.on(repos.db, daily_free=20, today=lambda: "2999-01-01")
    assert await tomorrow.ledger.balance(1) == 20


async def test_forget_keeps_a_refund_debt_with_the_person_and_deletes_invoices_and_steps(store):
    """A buyer who spent a pack that was then refunded owes its credits; /forget moves their rows
    to a pseudonym but the debt stays with their Telegram id (before, it went with the rows and
    they could order again). Their invoices, kept session and conversation steps are deleted; the
    payment stays, for refunds."""
    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=0), Payments(store)
    await repos.users.ensure(1, 1, "en")
    await _bought_pack(payments, 1, "charge-1")
    await payments.issue(1, "small", 30, 50)  # pressed again, not paid
    job = await repos.jobs.create(_draft(6))
    await repos.jobs.settle(job, "succeeded", result=JobResult(files=[]), delivery="done")
    assert await payments.take_back("charge-1", "by Telegram") is not None
    assert await repos.ledger.credits(1) == Credits(-6, -6)
    await store.write("INSERT INTO sessions (user_id, data, updated_at) VALUES (1, '{}', 0)")
    await store.write("INSERT INTO conversations (name, chat_key, state) VALUES ('idphoto', '[1, 1]', '1')")
    await store.write("INSERT INTO conversations (name, chat_key, state) VALUES ('idphoto', '[2, 2]', '1')")

    await repos.users.forget(1)
    assert await store.fetchall("SELECT * FROM invoices") == []
    assert await store.fetchall("SELECT * FROM sessions") == []
    assert [row["chat_key"] for row in await store.fetchall("SELECT chat_key FROM conversations")] == ["[2, 2]"]
    assert await payments.payment("charge-1") is not None
    row = await store.fetchone("SELECT chat_id, language, first_seen FROM users WHERE user_id = 1")
    assert (row["chat_id"], row["language"], row["first_seen"]) == (1, "", 0)  # only the id, for the debt
    kinds = await store.fetchall("SELECT kind FROM ledger WHERE user_id = 1")
    assert [row["kind"] for row in kinds] == ["debt"]
    assert await repos.ledger.problems() == []

    await repos.users.ensure(1, 1, "en")  # back: still owing
    assert await repos.ledger.credits(1) == Credits(-6, -6)
    with pytest.raises(OwesCredits):
        await repos.jobs.create(_draft(1))
    await repos.users.forget(1)  # and again: still owing
    await repos.users.ensure(1, 1, "en")
    await _bought_pack(payments, 1, "charge-2")  # a new pack pays the debt
    assert await repos.ledger.credits(1) == Credits(24, 24)
    await repos.jobs.create(_draft(6))
    assert await repos.ledger.problems() == []


async def test_unpaid_invoices_are_purged_after_their_lifetime(store):
    """Every pack button press makes an invoice: unpaid ones go a day (here: ``before``) after
    they were made and last checked out; paid ones stay."""
    import time

    from bot.storage.payments import Payments

    repos, payments = Repositories.on(store, daily_free=0), Payments(store)
    await repos.users.ensure(1, 1, "en")
    unpaid = await payments.issue(1, "small", 30, 50)
    checked_out = await payments.issue(1, "small", 30, 50)
    await _bought_pack(payments, 1, "charge-1")
    await store.write("UPDATE invoices SET created_at = created_at - 86400")
    assert await payments.checked_out(checked_out.payload)  # Telegram was told yes just now
    assert await payments.purge_invoices(time.time() - 3600) == 1
    assert not await payments.checked_out(unpaid.payload)  # swept since it was read: the answer is no
    assert await payments.invoice(unpaid.payload) is None
    assert await payments.invoice(checked_out.payload) is not None
    assert await payments.checkout_problem(unpaid.payload, 1, "XTR", 50, {"small": (30, 50)}) == "unknown"
    assert await payments.purge_invoices(time.time() + 1) == 1  # the checked out one, a day on
    paid = await store.fetchall("SELECT payload FROM invoices")
    assert len(paid) == 1 and await payments.payment("charge-1") is not None
    assert await repos.ledger.problems() == []


async def test_a_hold_cannot_be_settled_twice_even_by_hand(repos):
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(_draft(6))
    await repos.jobs.settle(job, "failed", error="x")
    with pytest.raises(INTEGRITY):
        await repos.db.transaction(
            lambda tx: tx.execute(
                "INSERT INTO ledger (user_id, kind, amount, job_id, created_at) VALUES (1, 'capture', 6, ?, 0)",
                (job.id,),
            ),
            user=1,
        )


async def test_delivery_is_claimed_once(repos):
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(_draft(6))
    assert not await repos.jobs.begin_delivery(job.id)  # not finished yet
    await repos.jobs.settle(job, "failed", error="x")
    assert await repos.jobs.begin_delivery(job.id)
    assert not await repos.jobs.begin_delivery(job.id)


async def test_admin_grant_and_language(repos):
    await repos.users.ensure(1, 1, "en")
    assert await repos.ledger.admin_grant(1, 50, "test") == 70
    await repos.users.set_language(1, "zh-Hans")
    user = await repos.users.ensure(1, 1, "en")  # Telegram's language no longer overrides the choice
    assert user.language == "zh-Hans"


async def test_a_version_3_ledger_keeps_every_row_and_balance_after_the_payments_migration(tmp_path):
    """Migration 0004 copies the ledger into a table with the payment kinds: rows, ids and balances
    stay as they were, every old row counts as free credits, and the ledger stays append-only."""
    from importlib import resources

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    folder = resources.files("bot.storage") / "migrations"
    for name in ("0001_initial.sql", "0002_jobs_by_input.sql", "0003_forget.sql"):
        conn.executescript((folder / name).read_text(encoding="utf-8"))
    conn.executescript(
        """
        PRAGMA user_version = 3;
        INSERT INTO users VALUES (1, 1, 'en', 0, 0);
        INSERT INTO jobs (id, user_id, chat_id, service, provider, options, price, state, created_at, updated_at,
                          callback_secret) VALUES ('j1', 1, 1, 'idphoto', 'picwish', '{}', 6, 'succeeded', 0, 0, 's');
        INSERT INTO ledger (user_id, kind, amount, day, created_at) VALUES (1, 'daily_grant', 20, '2026-11-29', 1);
        INSERT INTO ledger (user_id, kind, amount, note, created_at) VALUES (1, 'admin_grant', 5, 'by 9', 2);
        INSERT INTO ledger (user_id, kind, amount, job_id, created_at) VALUES (1, 'hold', 6, 'j1', 3);
        INSERT INTO ledger (user_id, kind, amount, job_id, created_at) VALUES (1, 'capture', 6, 'j1', 4);
        """
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        repos = Repositories.on(db, daily_free=20)
        repos.ledger.today = lambda: "2026-11-29"  # type: ignore[method-assign]
        assert (await db.fetchone("PRAGMA user_version"))[0] == 22
        rows = await db.fetchall("SELECT id, kind, amount, paid, payment FROM ledger ORDER BY id")
        assert [tuple(r) for r in rows] == [
            (1, "daily_grant", 20, 0, None),
            (2, "admin_grant", 5, 0, None),
            (3, "hold", 6, 0, None),
            (4, "capture", 6, 0, None),
        ]
        credits = await repos.ledger.credits(1)
        assert (credits.total, credits.bought) == (19, 0)
        assert await repos.ledger.problems() == []
        with pytest.raises(sqlite3.IntegrityError):
            await db.write("UPDATE ledger SET amount = 7 WHERE id = 1")
    finally:
        await db.close()


async def test_business_figures_on_each_backend(repos):
    """/stats' and /metrics' figures: users, orders per service and their photos by outcome (a
    cancellation apart from the failures), credits spent by kind, Stars earned and refunded."""
    from bot.ops import stats
    from bot.storage.payments import Payments

    for user_id in (1, 2):
        await repos.users.ensure(user_id, user_id, "en")
    done = await repos.jobs.create(_draft(6, user_id=1))
    await repos.jobs.settle(done, "succeeded", result=JobResult(files=[]))
    await repos.jobs.end_delivery(done.id)
    failed = await repos.jobs.create(_draft(6, user_id=2))
    await repos.jobs.settle(failed, "failed", error="invalid_image")
    cancelled = await repos.jobs.create(_draft(6, user_id=2))  # the person's choice, not a failure
    await repos.jobs.settle(cancelled, "cancelled")
    payments = Payments(repos.db)
    invoice = await payments.issue(2, "small", 30, 50)
    await payments.receive("charge-9", 2, invoice.payload, "XTR", 50)
    figures = await stats.business(repos.db)
    day = figures.windows["24h"]
    assert figures.users == 2 and day.active_users == 2
    idphoto = day.services["idphoto"]
    counted = (idphoto.orders, idphoto.photos, idphoto.succeeded, idphoto.failed, idphoto.cancelled)
    assert counted == (3, 3, 1, 1, 1) and idphoto.success_rate == 0.5
    assert idphoto.median_seconds is not None and idphoto.median_seconds >= 0
    assert (day.free_spent, day.bought_spent, day.stars_earned, day.stars_refunded) == (6, 0, 50, 0)


async def test_the_local_engines_previews_kept_before_are_marked_kept_by_the_migration(tmp_path):
    """Migration 0010: a local preview finished before results were typed is marked a kept preview
    (never handed out as a result); another provider's preview and a local photo are not."""
    from importlib import resources

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    folder = resources.files("bot.storage") / "migrations"
    for name in sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))[:9]:
        conn.executescript((folder / name).read_text(encoding="utf-8"))
    rows = (
        ("local-preview", "local", '{"preview": true}'),
        ("local-photo", "local", '{"preview": false}'),
        ("picwish-preview", "picwish", '{"preview": true}'),
    )
    conn.execute("PRAGMA user_version = 9")
    conn.execute("INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (1, 1, 'en', 0)")
    for job_id, provider, options in rows:
        conn.execute(
            "INSERT INTO jobs (id, user_id, chat_id, service, provider, options, price, state, created_at,"
            " updated_at, callback_secret, result) VALUES (?, 1, 1, 'idphoto', ?, ?, 0, 'succeeded', 0, 0, 's', ?)",
            (job_id, provider, options, '{"files": ["results/x.jpg"], "image_ids": [null]}'),
        )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        repos = Repositories.on(db, daily_free=20)
        kept = {job_id: (await repos.jobs.get(job_id)).result.kept_preview for job_id, _, _ in rows}
        assert kept == {"local-preview": True, "local-photo": False, "picwish-preview": False}
    finally:
        await db.close()


async def test_an_invitation_earns_both_sides_free_credits_once_with_the_first_paid_order(store):
    from bot.storage.invites import Invites

    repos, invites = Repositories.on(store, daily_free=20, invite_bonus=5), Invites(store)
    await repos.users.ensure(1, 1, "en")
    code = await invites.code_of(1)
    assert await invites.code_of(1) == code
    await repos.users.ensure(2, 2, "en", invite_code=code)  # new, through the link
    await repos.users.ensure(1, 1, "en", invite_code=code)  # oneself: known already
    await repos.users.ensure(3, 3, "en")
    await repos.users.ensure(3, 3, "en", invite_code=code)  # had used the bot before
    await repos.users.ensure(4, 4, "en", invite_code="unknown")
    assert [row["invitee_id"] for row in await store.fetchall("SELECT invitee_id FROM invitations")] == [2]
    free = await repos.jobs.create(_draft(0, user_id=2))
    assert await repos.jobs.settle(free, "succeeded", result=JobResult(files=[]))  # a free job earns nothing
    failed = await repos.jobs.create(_draft(6, user_id=2))
    assert await repos.jobs.settle(failed, "failed", error="x")
    assert await repos.ledger.balance(2) == 20 and await repos.ledger.balance(1) == 20
    for _ in range(2):  # the first paid order delivered earns it, once
        paid = await repos.jobs.create(_draft(6, user_id=2))
        assert await repos.jobs.settle(paid, "succeeded", result=JobResult(files=[]))
    assert await repos.ledger.credits(2) == Credits(20 - 12 + 5, 0) and await repos.ledger.credits(1) == Credits(25, 0)
    assert await invites.rewarded_by(paid.id) is None
    reward = await invites.rewarded_by((await repos.jobs.recent(2, 2))[1].id)
    assert reward is not None and (reward.bonus, reward.inviter_chat_id) == (5, 1)
    figures = await invites.figures()
    assert (figures.invited, figures.rewarded, figures.credits) == (1, 1, 10)
    assert await repos.ledger.problems() == []


async def test_after_forget_a_person_is_never_new_again_and_a_pending_invitation_lapses(store):
    from bot.storage.invites import Invites

    repos, invites = Repositories.on(store, daily_free=20, invite_bonus=5), Invites(store)
    await repos.users.ensure(1, 1, "en")
    code = await invites.code_of(1)
    await repos.users.ensure(2, 2, "en", invite_code=code)
    await repos.users.forget(2)  # invited, gone before any order
    await repos.users.ensure(5, 5, "en")
    await repos.users.forget(5)  # used the bot, then /forget
    await store.write("DELETE FROM forgotten_today")  # days ago: today's credits are theirs
    await repos.users.ensure(2, 2, "en", invite_code=code)  # back through the link: not new
    await repos.users.ensure(5, 5, "en", invite_code=code)
    rows = await store.fetchall("SELECT invitee_id, inviter_id FROM invitations")
    assert [(row["invitee_id"] < 0, row["inviter_id"]) for row in rows] == [(True, 1)]
    for user_id in (2, 5):
        paid = await repos.jobs.create(_draft(6, user_id=user_id))
        assert await repos.jobs.settle(paid, "succeeded", result=JobResult(files=[]))
    assert await repos.ledger.balance(1) == 20
    # The inviter's /forget takes their code; their invitations count on, under the pseudonym.
    await repos.users.forget(1)
    assert await store.fetchall("SELECT * FROM invite_codes") == []
    assert (await invites.figures()).invited == 1
    assert await repos.ledger.problems() == []
