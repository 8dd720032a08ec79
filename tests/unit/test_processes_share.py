"""What processes on one database share: job leases, notifications, exclusive rights, one job per
confirmed summary, and the providers' state; on both backends where both have it."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.jobs import JobDraft, JobResult, JobState
from bot.storage.repositories import Repositories


async def _jobs(repos: Repositories, count: int) -> list[str]:
    ids = []
    for index in range(count):
        await repos.users.ensure(index + 1, index + 1, "en")
        draft = JobDraft(
            user_id=index + 1,
            chat_id=index + 1,
            service="idphoto",
            provider="picwish",
            options={},
            input_ref=None,
            price=5,
            deadline_seconds=600,
        )
        ids.append((await repos.jobs.create(draft)).id)
    return ids


async def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(store):
    repos = Repositories.on(store, daily_free=20)
    [job_id] = await _jobs(repos, 1)

    assert await repos.leases.claim("a", lease=0.5, limit=10) == [job_id]
    assert await repos.leases.claim("b", lease=30, limit=10) == []
    assert not await repos.leases.claim_one(job_id, "b", lease=30)
    assert await repos.leases.claim_one(job_id, "a", lease=0.5)  # its owner may claim it again

    async def now() -> float:
        return float((await store.fetchone(f"SELECT {store.clock} AS now"))["now"])

    deadline = await now() + 5
    while not await repos.leases.claim_one(job_id, "b", lease=30):  # taken over once the lease ran out
        assert await now() < deadline, "the expired lease was never taken over"
        await asyncio.sleep(0.05)
    assert await repos.leases.renew("a", 30) == set()  # a lost it
    assert await repos.leases.renew("b", 30) == {job_id}
    row = await store.fetchone("SELECT owner FROM jobs WHERE id = ?", (job_id,))
    assert row["owner"] == "b"


async def test_a_stale_workers_writes_are_refused_once_another_took_its_job_over(store):
    """Worker a's lease ran out (a lease of -1 s: run out at once, no waiting) and b claimed the
    job. a, stalled meanwhile, still takes the job for its own: every write it makes is refused,
    so it cannot move queued -> submitting (b would fail the job as interrupted and refund it
    while a's paid submission went through), settle it, or deliver it; b's writes go through."""
    repos = Repositories.on(store, daily_free=20)
    [job_id] = await _jobs(repos, 1)
    assert await repos.leases.claim("a", lease=-1, limit=10) == [job_id]
    assert await repos.leases.claim_one(job_id, "b", lease=30)
    a, b = repos.leases.leased("a", 30), repos.leases.leased("b", 30)
    job = await repos.jobs.get(job_id)
    assert job is not None and job.owner == "b"
    assert not await a.holds(job_id) and await b.holds(job_id)

    assert not await a.transition(job_id, (JobState.QUEUED,), JobState.SUBMITTING, attempts=1)
    assert not await a.update(job_id, progress=50)
    assert not await a.settle(job, JobState.FAILED, error="interrupted")
    job = await repos.jobs.get(job_id)
    assert job is not None and (job.state, job.attempts, job.progress) == (JobState.QUEUED, 0, 0)

    assert await b.transition(job_id, (JobState.QUEUED,), JobState.SUBMITTING, attempts=1)
    assert await b.transition(job_id, (JobState.SUBMITTING,), JobState.RUNNING, provider_task_id="t1")
    assert not await a.settle(job, JobState.SUCCEEDED, result=JobResult(files=["results/a.jpg"]))
    assert await b.settle(job, JobState.SUCCEEDED, result=JobResult(files=["results/b.jpg"]))
    assert not await a.begin_delivery(job_id)
    assert await b.begin_delivery(job_id)
    assert not await a.record_part(job_id, ["photo0"]) and not await a.end_delivery(job_id)
    assert await b.record_part(job_id, ["photo0"]) and await b.end_delivery(job_id)
    job = await repos.jobs.get(job_id)
    assert job is not None and job.result == JobResult(files=["results/b.jpg"]) and job.sent_parts == ["photo0"]
    await a.hand_back(job_id)  # not a's: nothing happens
    assert await b.holds(job_id)
    assert await repos.ledger.problems() == []


async def test_leases_are_renewed_only_for_the_jobs_a_worker_still_drives(store):
    repos = Repositories.on(store, daily_free=20)
    first, second = await _jobs(repos, 2)
    assert await repos.leases.claim("a", lease=-1, limit=10) == [first, second]
    assert await repos.leases.renew("a", 30, [first]) == {first}
    # The job a stopped driving was left to run out: another takes it over.
    assert await repos.leases.claim("b", lease=30, limit=10) == [second]
    assert await repos.leases.renew("a", 30, [first, second]) == {first}


async def test_released_jobs_are_free_again_and_finished_ones_are_never_claimed(store):
    repos = Repositories.on(store, daily_free=20)
    first, second, third = await _jobs(repos, 3)
    assert await repos.leases.claim("a", lease=30, limit=10) == [first, second, third]

    await repos.leases.hand_back(first, "b")  # not b's: nothing happens
    assert await repos.leases.claim("b", lease=30, limit=10) == []
    await repos.leases.hand_back(first, "a")
    assert await repos.leases.claim("b", lease=30, limit=10) == [first]

    job = await repos.jobs.get(second)
    assert job is not None
    await repos.jobs.settle(job, JobState.FAILED, error="x")
    await repos.jobs.begin_delivery(second)
    await repos.jobs.end_delivery(second)
    await repos.leases.hand_back_all("a")
    assert await repos.leases.claim("c", lease=30, limit=10) == [third]  # second needs nothing more
    assert not await repos.leases.claim_one(second, "c", lease=30)


async def test_take_over_claims_every_unfinished_job_whoever_held_it(store):
    repos = Repositories.on(store, daily_free=20)
    ids = await _jobs(repos, 2)
    await repos.leases.claim("crashed", lease=3600, limit=10)
    assert await repos.leases.claim("restarted", lease=30, limit=10) == []
    assert await repos.leases.claim("restarted", lease=30, limit=10, take_over=True) == ids


async def test_workers_claiming_at_once_each_get_other_jobs(store):
    repos = Repositories.on(store, daily_free=20)
    ids = await _jobs(repos, 40)
    claims = await asyncio.gather(*(repos.leases.claim(f"w{n}", lease=30, limit=7) for n in range(8)))
    taken = [job_id for claim in claims for job_id in claim]
    assert sorted(taken) == sorted(ids)  # every job once, none twice
    owners = await store.fetchall("SELECT owner, COUNT(*) AS n FROM jobs GROUP BY owner")
    assert all(row["n"] <= 7 for row in owners)


async def test_notifications_reach_every_listener_of_their_channel(store):
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    await store.listen("photobot_jobs", lambda payload: heard.put_nowait(("jobs", payload)))
    await store.listen("photobot_wake", lambda payload: heard.put_nowait(("wake", payload)))
    await store.notify("photobot_wake", "job-1")
    await store.notify("photobot_jobs", "job-2")
    got = {await asyncio.wait_for(heard.get(), 5), await asyncio.wait_for(heard.get(), 5)}
    assert got == {("wake", "job-1"), ("jobs", "job-2")}


async def test_an_exclusive_right_waits_for_its_holder_to_let_go():
    from bot.storage.postgres import PostgresStore
    from tests.conftest import postgres_schema

    url = await postgres_schema()
    first, second = await PostgresStore.open(url), await PostgresStore.open(url)
    try:
        held, standby = first.exclusive("polling"), second.exclusive("polling")
        other = second.exclusive("sweeping")
        await held.acquire()
        await asyncio.wait_for(other.acquire(), 5)  # another name is another right
        waiting = asyncio.create_task(standby.acquire())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiting), 0.5)
        await held.release()
        await asyncio.wait_for(waiting, 5)
        assert not standby.lost.is_set()
        await standby.release()
        await other.release()
    finally:
        await first.close()
        await second.close()


async def test_a_schema_of_its_own_has_rights_of_its_own():
    """Two bots on one server in two schemas (or two tests) do not wait for each other."""
    from bot.storage.postgres import PostgresStore
    from tests.conftest import postgres_schema

    first = await PostgresStore.open(await postgres_schema())
    second = await PostgresStore.open(await postgres_schema())
    try:
        one, two = first.exclusive("polling"), second.exclusive("polling")
        await asyncio.wait_for(one.acquire(), 5)
        await asyncio.wait_for(two.acquire(), 5)
        await one.release()
        await two.release()
    finally:
        await first.close()
        await second.close()


async def test_a_summary_confirmed_twice_places_one_job(store):
    """A bot process that took over before the first one wrote the session still has the summary:
    its Confirm finds the job placed instead of holding the price again."""
    from bot.storage.jobs import AlreadyPlaced

    repos = Repositories.on(store, daily_free=20)
    await repos.users.ensure(1, 1, "en")
    draft = JobDraft(1, 1, "idphoto", "picwish", {}, None, 5, 600, order_key="a1b2c3d4")
    job = await repos.jobs.create(draft)
    with pytest.raises(AlreadyPlaced) as placed:
        await repos.jobs.create(draft)
    assert placed.value.job_id == job.id
    await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 5, 600, order_key="other"))
    assert await repos.ledger.balance(1) == 10
    assert await repos.ledger.problems() == []


async def test_a_provider_going_down_is_seen_by_every_process_and_told_once(store):
    """Two workers see PicWish refuse the key: the admins are told once; the bot process, which
    made no call, sends new orders elsewhere; back up, once more."""
    from bot.ops.health import ProviderHealth
    from bot.ops.provider_state import ProviderStates
    from providers.errors import AuthenticationError

    told: list[tuple[str, str | None]] = []

    async def tell(provider: str, problem: str | None) -> None:
        told.append((provider, problem))

    def process() -> ProviderHealth:
        return ProviderHealth(failing_for=60, retry_after=600, on_change=tell, shared=ProviderStates(store))

    worker1, worker2, bot = process(), process(), process()
    refused = AuthenticationError("bad key", status=401, provider="picwish")
    await worker1.record("picwish", refused)
    await worker2.record("picwish", refused)
    assert told == [("picwish", "credentials")]
    assert bot.down() == frozenset()
    bot.take_on(await ProviderStates(store).read())
    assert bot.down() == {"picwish"}

    await bot.offered_again("picwish")  # retry_after passed; one order on trial, the next waits again
    worker1.take_on(await ProviderStates(store).read())
    assert worker1.down() == {"picwish"}

    await worker2.record("picwish", None)
    await worker1.record("picwish", None)
    assert told == [("picwish", "credentials"), ("picwish", None)]
    bot.take_on(await ProviderStates(store).read())
    assert bot.down() == frozenset()


async def test_the_uses_one_process_counts_reach_the_others(store):
    from bot.ops.accounts import AccountWatch, UsesRule
    from bot.ops.provider_state import ProviderStates

    class Hili:
        async def uses_left(self) -> int:
            return 0

    async def alert(provider: str, uses: int) -> None:
        pass

    rules = {"hili": UsesRule(check_interval=3600, alert_below=10)}
    checker = AccountWatch({"hili": Hili()}, rules, alert, ProviderStates(store))  # type: ignore[dict-item]
    other = AccountWatch({"hili": Hili()}, rules, alert, ProviderStates(store))  # type: ignore[dict-item]
    await checker.check("hili")
    assert checker.exhausted == {"hili"} and other.exhausted == frozenset()
    other.take_on(await ProviderStates(store).read())
    assert other.exhausted == {"hili"}


async def test_a_check_that_fails_outside_the_provider_does_not_end_the_watch(store):
    """A failure that is not the provider's (a database that could not record the count, here the
    provider client raising what it should not) costs one check: the next one still comes. Before,
    the watch ended for good, silently: no more low-uses alerts, no provider out or back in service."""
    import asyncio

    from bot.ops.accounts import AccountWatch, UsesRule

    class Hili:
        asked = 0

        async def uses_left(self) -> int:
            self.asked += 1
            if self.asked == 1:
                raise RuntimeError("not a provider error")
            return 5

    async def alert(provider: str, uses: int) -> None:
        pass

    watch = AccountWatch({"hili": Hili()}, {"hili": UsesRule(check_interval=0.01, alert_below=10)}, alert)  # type: ignore[dict-item]
    watch.start()
    try:
        async with asyncio.timeout(10):
            while watch.uses.get("hili") != 5:
                watch.checked.clear()
                await watch.checked.wait()
    finally:
        await watch.stop()


async def test_a_failed_jobs_alert_is_claimed_once_per_span_by_whichever_process(store):
    """Two processes fail jobs for the same problem at once: one of them tells the admins; a
    different problem or provider is told on its own; an hour later it is told again."""
    from bot.ops.provider_state import ProviderStates

    one, other = ProviderStates(store), ProviderStates(store)
    claims = await asyncio.gather(
        *(states.first_to_tell("qq_anime", "request_refused", 1000.0, 3600.0) for states in (one, other))
    )
    assert sorted(claims) == [False, True]
    assert await other.first_to_tell("qq_anime", "region_blocked", 1001.0, 3600.0)
    assert await other.first_to_tell("wanxing", "request_refused", 1001.0, 3600.0)
    assert not await one.first_to_tell("qq_anime", "request_refused", 4599.0, 3600.0)
    assert await one.first_to_tell("qq_anime", "request_refused", 4600.0, 3600.0)
    assert not await other.first_to_tell("qq_anime", "request_refused", 4601.0, 3600.0)
