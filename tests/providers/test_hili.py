"""The Hili client against the fake: token, every errno, states, quota."""

from __future__ import annotations

import pytest

from providers.errors import AuthenticationError, InvalidImage, ProviderStatusError, UnexpectedStatus
from providers.hili import (
    UPLOAD_FAILED_RETRIES,
    HiliClient,
    OtherError,
    QuotaExhausted,
    ResultExpired,
    UnsupportedFileType,
    UploadFailed,
    rgb_field,
    token,
)
from providers.models import InputImage, Phase
from providers.orders import RepairOrder
from tests.conftest import portrait_jpeg
from tests.fakes.hili import FakeHili


def test_token_matches_the_documents_worked_example():
    assert token("hiliad", "1629962357") == "5484490c8e797dabe52af90ab8bd1e50,1629962357"


def test_rgb_field():
    assert rgb_field(" 255, 0,10") == "255,0,10"
    for bad in ("256,0,0", "1,2", "red"):
        with pytest.raises(ValueError):
            rgb_field(bad)


@pytest.fixture
async def hili():
    fake = FakeHili()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(hili):
    c = HiliClient(hili.third_code, hili.secret_key, base_url=hili.base_url, backoff=0.01, max_backoff=0.02)
    yield c
    await c.aclose()


async def test_upload_poll_download(client, hili):
    submission = await client.submit(RepairOrder(mode="repair"), InputImage(data=portrait_jpeg(300, 400)), None)
    phases = []
    while True:
        status = await client.query(submission.task_id)
        phases.append(status.phase)
        if status.phase is not Phase.PENDING:
            break
    assert phases == [Phase.PENDING, Phase.PENDING, Phase.DONE]
    assert status.images[0].url.endswith(f"/static/{submission.task_id}_out.jpg")
    assert hili.nums == 99


async def test_every_call_has_a_fresh_token(hili):
    ticks = iter(range(1_700_000_000, 1_700_000_100))
    import time

    now = int(time.time())
    client = HiliClient(
        hili.third_code, hili.secret_key, base_url=hili.base_url, clock=lambda: now + next(ticks) - 1_700_000_000
    )
    try:
        await client.remaining()
        await client.remaining()
    finally:
        await client.aclose()
    assert len(set(hili.tokens)) == 2


async def test_a_stale_token_is_refused(hili):
    client = HiliClient(hili.third_code, hili.secret_key, base_url=hili.base_url, clock=lambda: 1_000_000_000)
    try:
        with pytest.raises(AuthenticationError):
            await client.remaining()
    finally:
        await client.aclose()


async def test_background_change_sends_rgb(client, hili):
    submission = await client.submit(
        RepairOrder(mode="background", rgb="67,142,219"), InputImage(data=portrait_jpeg()), None
    )
    assert hili.uploads[submission.task_id].rgb == "67,142,219"


@pytest.mark.parametrize(
    ("endpoint", "errno", "error"),
    [
        ("upload", 9999, AuthenticationError),
        ("upload", 9101, QuotaExhausted),
        ("upload", 9001, ProviderStatusError),
        ("upload", 9005, UnsupportedFileType),
        ("upload", 9006, UploadFailed),
        ("upload", 9009, InvalidImage),
        ("nums", 9002, AuthenticationError),  # "数据未找到": no account under this third_code
        ("upload", 500, OtherError),
        ("nums", 500, OtherError),
    ],
)
async def test_every_errno_is_a_typed_error(client, hili, endpoint, errno, error):
    hili.errnos[endpoint] = [errno] * (UPLOAD_FAILED_RETRIES + 1)  # 9006 is sent again
    with pytest.raises(error):
        if endpoint == "upload":
            await client.upload(portrait_jpeg(), "sr")
        else:
            await client.remaining()
    assert hili.nums == 100  # a failed upload is not charged


async def test_an_upload_that_failed_uncharged_is_sent_again(client, hili):
    """errno 9006 "上传失败": the document says a failed upload is not charged, so Hili never took
    the photo and sending it again cannot charge twice."""
    hili.errnos["upload"] = [9006]
    mdf = await client.upload(portrait_jpeg(), "sr")
    assert mdf in hili.uploads and hili.upload_calls == 2 and hili.nums == 99


async def test_an_upload_that_keeps_failing_uncharged_gives_up(client, hili):
    hili.errnos["upload"] = [9006] * 10
    with pytest.raises(UploadFailed) as info:
        await client.upload(portrait_jpeg(), "sr")
    assert info.value.never_accepted
    assert hili.upload_calls == UPLOAD_FAILED_RETRIES + 1 and hili.nums == 100


async def test_an_expired_result_fails_the_task(client, hili):
    submission = await client.submit(RepairOrder(mode="upscale"), InputImage(data=portrait_jpeg()), None)
    hili.expired.add(submission.task_id)
    status = await client.query(submission.task_id)
    assert status.phase is Phase.FAILED and isinstance(status.error, ResultExpired)


@pytest.mark.parametrize("endpoint", ["status", "download"])
async def test_other_error_to_a_query_is_an_unexpected_status_not_a_failed_task(client, hili, endpoint):
    """errno 500 to a query: the tolerated kind of answer (the runner asks again a few times),
    not a task Hili failed; its code still names Hili's own error for the user if it persists."""
    submission = await client.submit(RepairOrder(mode="upscale"), InputImage(data=portrait_jpeg()), None)
    hili.uploads[submission.task_id].polls_left = 0
    hili.errnos[endpoint] = [500]
    with pytest.raises(UnexpectedStatus) as info:
        await client.query(submission.task_id)
    assert info.value.code == OtherError.code
    assert (await client.query(submission.task_id)).phase is Phase.DONE


async def test_remaining_uses(client, hili):
    assert await client.remaining() == 100


@pytest.mark.parametrize("route", ["upload", "status"])
async def test_every_attempt_is_signed_afresh_so_a_slow_retry_is_not_refused(route):
    """Two attempts answered 503 after 70 s each (by the fake's clock): the third goes out 140 s
    after the first, past the two minutes a token lives (document 002). Signed once for all three,
    it got errno 9999: Hili taken for refusing the key, a false alert, a charged job refunded."""
    from tests.fakes.clock import ManualClock
    from tests.fakes.faults import Fault

    clock = ManualClock()
    fake = FakeHili(clock=clock)
    await fake.start()
    client = HiliClient(fake.third_code, fake.secret_key, base_url=fake.base_url, clock=clock, backoff=0.001)
    try:
        mdf = await client.upload(portrait_jpeg(300, 400), "sr")
        start = clock()
        fake.server.faults.add(route, Fault.error(503, delay=70), times=2)
        if route == "upload":
            mdf = await client.upload(portrait_jpeg(300, 400), "sr")
        else:
            assert await client.status(mdf) == 100
        assert fake.server.faults.count(route) == 2
        stamp = int(fake.tokens[-1].partition(",")[2])
        assert stamp == int(start + 140)  # signed when it was sent, not when the first one was
    finally:
        await client.aclose()
        await fake.stop()


async def test_the_fake_refuses_a_token_older_than_two_minutes():
    from tests.fakes.clock import ManualClock

    clock = ManualClock()
    fake = FakeHili(clock=clock)
    await fake.start()
    late = HiliClient(fake.third_code, fake.secret_key, base_url=fake.base_url, clock=lambda: clock() - 121)
    in_time = HiliClient(fake.third_code, fake.secret_key, base_url=fake.base_url, clock=lambda: clock() - 119)
    try:
        with pytest.raises(AuthenticationError):
            await late.remaining()
        assert await in_time.remaining() == fake.nums
    finally:
        await late.aclose()
        await in_time.aclose()
        await fake.stop()
