"""The MagicTiger client against the fake: configurable API, codes, queue, multi outputs, delete."""

from __future__ import annotations

import json

import pytest

from providers.errors import ImageTooLarge, InputDownloadFailed, ProviderDomainError, UnexpectedStatus
from providers.magictiger import InsufficientBalance, MagicTigerApi, MagicTigerClient, TaskGone, UnsupportedFileType
from providers.models import InputImage, Phase
from providers.orders import EnhanceOrder
from tests.fakes.magictiger import COLORIZE, DONE, ENHANCE, FakeMagicTiger
from tests.fakes.server import LoopbackServer


@pytest.fixture
async def fake():
    tiger = FakeMagicTiger()
    await tiger.start()
    yield tiger
    await tiger.stop()


@pytest.fixture
async def picture_url():
    """A tiny image server standing in for the bot's /media/ links."""
    import io

    from aiohttp import web
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), "gray").save(out, "JPEG")

    async def picture(_request: web.Request) -> web.Response:
        return web.Response(body=out.getvalue(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/p.jpg", picture)
    server = LoopbackServer(app)
    await server.start()
    yield f"{server.url}/p.jpg"
    await server.stop()


@pytest.fixture
async def client(fake):
    api = MagicTigerApi(base_url=fake.base_url, api_token=fake.token, done_status=(2,), failed_status=(3,))
    c = MagicTigerClient(api, backoff=0.01, max_backoff=0.02)
    yield c
    await c.aclose()


async def _finish(client, fake, task_id):
    """Query until the task ends, waiting on the fake's own state changes between queries."""
    queue = []
    task = fake.tasks[json.loads(task_id)["taskid"]]
    while True:
        status = await client.query(task_id)
        if status.phase is not Phase.PENDING:
            return status, queue
        queue.append(status.queue_position)
        seen = (task.status, task.queuenum)
        await fake.wait_for(lambda seen=seen: (task.status, task.queuenum) != seen)


async def test_the_document_names_are_the_default_operations():
    api = MagicTigerApi(base_url="x", api_token="t")
    assert dict(api.operations) == {"createtask": "createtask", "gettask": "gettask", "deletetask": "deletetask"}
    assert api.auth_header == "token"


async def test_enhance_goes_through_the_queue(client, fake, picture_url):
    submission = await client.submit(
        EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None, reference="job-1"
    )
    assert fake.creates[0] == {"picurl": picture_url, "type": ENHANCE, "chtaskid": "job-1"}
    status, queue = await _finish(client, fake, submission.task_id)
    assert status.phase is Phase.DONE and len(status.images) == 2  # the whole photo, one face close-up
    assert 2 in queue or 1 in queue


async def test_colorize_returns_every_image_of_facelist(client, fake, picture_url):
    order = EnhanceOrder(enhance="c", type=COLORIZE, outputs="list")
    submission = await client.submit(order, InputImage(url=picture_url), None)
    status, _ = await _finish(client, fake, submission.task_id)
    assert [image.url.rsplit("/", 1)[1] for image in status.images] == [
        f"{json.loads(submission.task_id)['taskid']}_{i}.jpg" for i in range(2)
    ]
    assert not any(image.extra for image in status.images)


@pytest.mark.parametrize("faces", [0, 1, 2])
async def test_an_enhanced_photo_is_the_whole_image_with_its_face_close_ups_after_it(client, fake, picture_url, faces):
    fake.faces_in_photo = faces
    submission = await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    status, _ = await _finish(client, fake, submission.task_id)
    task = json.loads(submission.task_id)["taskid"]
    assert [image.url.rsplit("/", 1)[1] for image in status.images] == [f"{task}_{i}.jpg" for i in range(1 + faces)]
    assert [image.extra for image in status.images] == [False] + [True] * faces


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1001001, ProviderDomainError),
        (1001002, InputDownloadFailed),
        (1001003, ImageTooLarge),
        (1001004, UnsupportedFileType),
        (1003002, InsufficientBalance),
    ],
)
async def test_create_error_codes(client, fake, picture_url, code, error):
    fake.next_create_codes = [code]
    with pytest.raises(error):
        await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    assert len(fake.creates) == 1


async def test_an_unreachable_picurl_is_refused(client, fake):
    with pytest.raises(InputDownloadFailed):
        await client.submit(
            EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url="http://127.0.0.1:9/nothing.jpg"), None
        )


async def test_failed_task_and_deleted_task(client, fake, picture_url):
    fake.next_failure = 1001001
    submission = await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    status, _ = await _finish(client, fake, submission.task_id)
    assert status.phase is Phase.FAILED
    other = await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    await client.cancel(other.task_id)
    status = await client.query(other.task_id)
    assert status.phase is Phase.FAILED and isinstance(status.error, TaskGone)


async def test_a_finished_task_is_not_deleted_and_its_outputs_stay(client, fake, picture_url):
    """Deleting a task MagicTiger already did the work for is not confirmed: the bot would give back
    credits for a result the operator is charged for (and that is still there to fetch)."""
    submission = await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    task = fake.tasks[json.loads(submission.task_id)["taskid"]]
    await fake.wait_for(lambda: task.status == DONE)
    assert not await client.cancel(submission.task_id)
    assert fake.refused_deletes == [task.taskid] and not task.deleted
    status = await client.query(submission.task_id)
    assert status.phase is Phase.DONE


def test_a_running_task_is_not_cancellable_with_a_refund_unless_configured():
    """Document 003 never says a deleted task is not charged: only the operator's setting says so."""
    api = MagicTigerApi(base_url="x", api_token="t")
    assert not MagicTigerClient.cancellable and not MagicTigerClient(api).cancellable
    assert MagicTigerClient(api, cancellable=True).cancellable and MagicTigerClient.drops_tasks


async def test_an_unknown_code_to_gettask_is_an_unexpected_status(client, fake, picture_url):
    submission = await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url=picture_url), None)
    fake.next_get_codes = [1009999]
    with pytest.raises(UnexpectedStatus):
        await client.query(submission.task_id)
    assert (await client.query(submission.task_id)).phase in (Phase.PENDING, Phase.DONE)


async def test_callback_checks(client):
    assert client.check_callback({"token": "tiger-token"}, b"{}")
    assert not client.check_callback({"token": "forged"}, b"{}")
    assert client.callback_job_id(b'{"code": 0, "data": {"chtaskid": "abc"}}') == "abc"
    assert client.callback_job_id(b"not json") is None
    assert client.callback_answer().body == b'{"code": 0, "msg": "", "data": {"success": true}}'


async def test_custom_paths_and_header(fake):
    api = MagicTigerApi(
        base_url=fake.base_url,
        api_token=fake.token,
        auth_header="X-Token",
        operations={"createtask": "createtask", "gettask": "gettask", "deletetask": "deletetask"},
    )
    client = MagicTigerClient(api, max_retries=0)
    try:
        with pytest.raises(Exception) as info:
            await client.submit(EnhanceOrder(enhance="e", type=ENHANCE), InputImage(url="http://x/y.jpg"), None)
        assert "401" in str(info.value)  # the fake wants the header named "token"
    finally:
        await client.aclose()


async def test_gettask_finds_a_task_only_under_its_own_type(client, fake, picture_url):
    """Document 003: gettask takes ``type`` as well; the client keeps it in the task id."""
    import httpx

    submission = await client.submit(EnhanceOrder(enhance="e", type=COLORIZE), InputImage(url=picture_url), None)
    taskid = json.loads(submission.task_id)["taskid"]
    async with httpx.AsyncClient() as http:
        for wrong in ({"taskid": taskid}, {"taskid": taskid, "type": ENHANCE}, {"taskid": taskid, "type": "2"}):
            answer = (await http.post(f"{fake.base_url}/gettask", json=wrong, headers={"token": fake.token})).json()
            assert answer["code"] == 1002001
    status, _ = await _finish(client, fake, submission.task_id)
    assert status.phase is Phase.DONE and fake.wrong_types == [None, ENHANCE, "2"]
