"""The PicWish client against the fake PicWish server: states, errors, timeouts, retries."""

from __future__ import annotations

import asyncio
import base64

import pytest

from providers.errors import (
    AuthenticationError,
    BadResponse,
    ImageIdExpired,
    ImageTooLarge,
    InputDownloadFailed,
    InvalidImage,
    ProcessingTimeout,
    ProviderConnectionError,
    ProviderDomainError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimited,
    ResultUploadFailed,
    ServerError,
)
from providers.models import Phase
from providers.orders import IdPhotoOrder
from providers.picwish import PicwishClient, create_form
from tests.conftest import portrait_jpeg
from tests.fakes.server import free_port

REQUEST = IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="FFFFFF")


@pytest.fixture
async def client(picwish):
    c = PicwishClient(picwish.api_key, base_url=picwish.base_url, backoff=0.01, max_backoff=0.05, timeout=2)
    yield c
    await c.aclose()


async def _finish(client: PicwishClient, task_id: str):
    seen = []
    while True:
        status = await client.query(task_id)
        seen.append((status.phase, status.raw_state, status.progress))
        if status.phase is not Phase.PENDING:
            return status, seen
        await asyncio.sleep(0.01)


def test_form_fields_follow_the_document():
    request = IdPhotoOrder(
        spec_id=1104,
        px_width=413,
        px_height=531,
        dpi=300,
        bg_color="438edb",
        beauty=True,
        clothes_id="man_3",
        layout_size="6inch",
        preview=True,
        last_id="abc",
    )
    assert create_form(request) == {
        "sync": "0",
        "spec_id": "1104",
        "px_width": "413",
        "px_height": "531",
        "dpi": "300",
        "bg_color": "438EDB",
        "auto_bright": "1",
        "auto_smooth": "1",
        "clothes_id": "man_3",
        "layout": "1",
        "layout_size": "6inch",
        "preview": "1",
        "last_id": "abc",
    }
    with pytest.raises(ValueError):
        create_form(IdPhotoOrder(spec_id=1, px_width=1, px_height=1, dpi=300, bg_color="FFFFFF", clothes_id="man_21"))


def test_a_custom_size_is_sent_by_its_millimetres_without_a_spec():
    custom = IdPhotoOrder(spec_id=9001, px_width=390, px_height=567, dpi=300, mm_width=33, mm_height=48)
    fields = create_form(custom)
    assert (fields["mm_width"], fields["mm_height"], fields["dpi"]) == ("33", "48", "300")
    assert not {"spec_id", "px_width", "px_height"} & set(fields)
    with pytest.raises(ValueError, match="go together"):
        IdPhotoOrder(spec_id=9001, px_width=390, px_height=567, dpi=300, mm_width=33)
    with pytest.raises(ValueError):
        IdPhotoOrder(spec_id=9001, px_width=390, px_height=567, dpi=300, mm_width=180, mm_height=48)


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"mm_width": "33"}, "mm_width and mm_height go together"),
        ({"mm_width": "33", "mm_height": "48", "px_width": "390", "px_height": "567"}, "not both"),
        ({"mm_width": "180", "mm_height": "48"}, "below 180mm"),
        ({"mm_width": "170", "mm_height": "170", "dpi": "300"}, "below 1800"),  # 2008 px
        ({"spec_id": "9001", "px_width": "390", "px_height": "567"}, "unknown spec_id"),
    ],
)
async def test_the_fake_refuses_sizes_the_document_does_not_allow(client, picwish, fields, refusal):
    """The document: "(px_width, px_height) or (mm_width, mm_height)", "<180mm", "<1800 pixels";
    spec ids are those of its table."""
    with pytest.raises(ProviderStatusError) as info:
        await client.request_json(
            "POST",
            f"{picwish.base_url}/idphoto",
            idempotent=False,
            headers={"X-API-KEY": picwish.api_key},
            form={"sync": "0", **fields, "image_file": ("photo.jpg", portrait_jpeg(), "image/jpeg")},
        )
    assert info.value.status == 400 and refusal in str(info.value.data)
    assert picwish.tasks == {}


async def test_a_custom_size_is_made_at_its_millimetres_and_dpi(client, picwish):
    custom = IdPhotoOrder(spec_id=9001, px_width=1583, px_height=1794, dpi=268, mm_width=150, mm_height=170)
    submission = await client.create(custom, portrait_jpeg())
    status, _ = await _finish(client, submission.task_id)
    assert status.phase is Phase.DONE
    assert picwish.result_size(picwish.tasks[submission.task_id]) == (1583, 1794)


async def test_task_goes_through_every_progress_state_to_done(client, picwish):
    submission = await client.create(REQUEST, portrait_jpeg(), callback_url=None)
    fields = picwish.creates[0]
    assert fields["spec_id"] == "3108" and "callback_url" not in fields
    assert picwish.tasks[submission.task_id].image is not None
    status, seen = await _finish(client, submission.task_id)
    states = {raw for _, raw, _ in seen}
    assert {0, 2, 4, 1} <= states or {2, 4, 1} <= states
    assert status.phase is Phase.DONE and status.progress == 100
    assert status.images[0].url.endswith(f"/results/{submission.task_id}.jpg")
    assert status.images[0].image_id == picwish.tasks[submission.task_id].image_id


@pytest.mark.parametrize(
    ("state", "error"),
    [
        (-8, ProcessingTimeout),
        (-7, InvalidImage),
        (-5, ImageTooLarge),
        (-3, InputDownloadFailed),
        (-2, ResultUploadFailed),
        (-1, ProviderDomainError),
    ],
)
async def test_every_negative_state_is_a_typed_error(client, picwish, state, error):
    picwish.next_states = [[(0, 0), (4, 20), (state, 0)]]
    submission = await client.create(REQUEST, portrait_jpeg())
    status, _ = await _finish(client, submission.task_id)
    assert status.phase is Phase.FAILED and status.raw_state == state
    assert type(status.error) is error
    assert status.error.data["state"] == state


async def test_wrong_key_is_an_authentication_error(picwish):
    client = PicwishClient("wrong-key", base_url=picwish.base_url)
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.create(REQUEST, portrait_jpeg())
        assert info.value.status == 401
        with pytest.raises(AuthenticationError):
            await client.query("any")
    finally:
        await client.aclose()
    assert picwish.tasks == {}


async def test_a_field_the_document_does_not_allow_is_refused(client, picwish):
    bad = IdPhotoOrder(spec_id=1, px_width=5000, px_height=100, dpi=300, bg_color="FFFFFF")
    with pytest.raises(ProviderStatusError) as info:
        await client.create(bad, portrait_jpeg())
    assert info.value.status == 400 and "px_width" in info.value.data


async def test_create_is_not_resent_after_a_timeout(client, picwish):
    picwish.delay = 3
    with pytest.raises(ProviderTimeout):
        await client.create(REQUEST, portrait_jpeg())
    assert len(picwish.creates) == 1


async def test_create_is_not_resent_after_a_500(client, picwish):
    picwish.create_failures = [(500, {"status": 500, "message": "internal"})]
    with pytest.raises(ServerError):
        await client.create(REQUEST, portrait_jpeg())
    assert len(picwish.creates) == 1


async def test_create_is_retried_after_503_and_429(client, picwish):
    picwish.create_failures = [(503, "unavailable"), (429, {"status": 429, "message": "slow down"})]
    submission = await client.create(REQUEST, portrait_jpeg())
    assert len(picwish.creates) == 3 and list(picwish.tasks) == [submission.task_id]


async def test_create_gives_up_after_the_retry_budget(client, picwish):
    picwish.create_failures = [(429, {"status": 429, "message": "slow down"})] * 10
    with pytest.raises(RateLimited):
        await client.create(REQUEST, portrait_jpeg())
    assert len(picwish.creates) == client.max_retries + 1


async def test_connection_refused_is_retried_then_reported():
    client = PicwishClient("k", base_url=f"http://127.0.0.1:{free_port()}", backoff=0.01, max_backoff=0.02)
    try:
        with pytest.raises(ProviderConnectionError) as info:
            await client.create(REQUEST, portrait_jpeg())
        assert info.value.never_accepted
    finally:
        await client.aclose()


async def test_query_is_retried_after_server_errors(client, picwish):
    submission = await client.create(REQUEST, portrait_jpeg())
    picwish.query_failures = [(502, "bad gateway"), (500, {"status": 500, "message": "oops"})]
    status = await client.query(submission.task_id)
    assert status.phase in (Phase.PENDING, Phase.DONE)
    assert picwish.queries == 3


async def test_query_times_out(client, picwish):
    submission = await client.create(REQUEST, portrait_jpeg())
    picwish.delay = 3
    client.max_retries = 0
    with pytest.raises(ProviderTimeout):
        await client.query(submission.task_id)


async def test_malformed_json_is_a_bad_response(client, picwish):
    submission = await client.create(REQUEST, portrait_jpeg())
    picwish.query_failures = [(200, "<html>not json</html>")]
    with pytest.raises(BadResponse):
        await client.query(submission.task_id)


async def test_status_field_error_in_a_200_answer(client, picwish):
    picwish.query_failures = [(200, {"status": 401, "message": "Invalid API key"})]
    with pytest.raises(AuthenticationError):
        await client.query("x")


def test_inline_base64_result_is_decoded():
    client = PicwishClient("k")
    data = portrait_jpeg(200, 200)
    status = client.parse_status(
        {"state": 1, "progress": 100, "image": base64.b64encode(data).decode(), "image_id": "i"}
    )
    assert status.images[0].data == data and status.images[0].url is None
    with pytest.raises(BadResponse):
        client.parse_status({"state": 1, "image": "%%%"})
    with pytest.raises(BadResponse):
        client.parse_status({"progress": 5})


def test_inline_base64_may_be_a_data_uri_or_wrapped_and_must_be_an_image():
    client = PicwishClient("k")
    data = portrait_jpeg(200, 200)
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    for image in (f"data:image/jpeg;base64,{encoded}", wrapped):
        assert client.parse_status({"state": 1, "image": image}).images[0].data == data
    with pytest.raises(BadResponse):  # base64 of something that is not a picture
        client.parse_status({"state": 1, "image": base64.b64encode(b"<html>error</html>").decode()})


async def test_a_result_inlined_as_base64_is_the_photo(client, picwish):
    picwish.base64_results = True
    submission = await client.create(REQUEST, portrait_jpeg())
    status, _ = await _finish(client, submission.task_id)
    (image,) = status.images
    assert image.url is None and image.data is not None and image.image_id
    import io

    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as img:
        assert img.size == (602, 602)


async def test_result_links_and_image_ids_expire_as_the_document_says():
    """Links live an hour after the task finished (document 004), and so, here, do image ids."""
    import httpx

    from tests.fakes.clock import ManualClock
    from tests.fakes.picwish import FakePicwish

    clock = ManualClock()
    fake = FakePicwish(clock=clock)
    await fake.start()
    client = PicwishClient(fake.api_key, base_url=fake.base_url, max_retries=0)
    try:
        submission = await client.create(REQUEST, portrait_jpeg())
        status, _ = await _finish(client, submission.task_id)
        (image,) = status.images
        rerender = IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="FF0000")
        rerender = rerender.model_copy(update={"last_id": image.image_id})
        async with httpx.AsyncClient() as http:
            clock.advance(3600)
            assert (await http.get(image.url)).status_code == 200
            await client.create(rerender)  # the id still names the photo
            clock.advance(1)
            assert (await http.get(image.url)).status_code == 403
        with pytest.raises(ImageIdExpired):
            await client.create(rerender)
    finally:
        await client.aclose()
        await fake.stop()


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        (400, {"status": 400, "message": "invalid parameter"}),  # no "last_id" in the words
        (404, {"status": 404, "message": "image not found"}),
        (200, {"status": 400, "message": "Bad Request"}),  # refused in the body, HTTP 200
        (400, "Bad Request"),  # not even JSON
    ],
    ids=["other-words", "404", "in-the-body", "not-json"],
)
async def test_a_refused_last_id_rerender_is_an_expired_image_whatever_the_wording(client, picwish, http_status, body):
    """Document 004 does not say how an unknown or expired last_id is refused: a 4xx refusal of a
    re-render from last_id alone is taken for one, not only the fake's own wording."""
    picwish.create_failures.append((http_status, body))
    order = REQUEST.model_copy(update={"last_id": "gone-image-id"})
    with pytest.raises(ImageIdExpired):
        await client.create(order)


@pytest.mark.parametrize("status", [401, 402, 429])
async def test_a_last_id_rerender_refused_for_the_key_balance_or_throttling_is_not_an_expired_image(
    client, picwish, status
):
    picwish.create_failures.extend([(status, {"status": status, "message": "no"})] * 5)
    with pytest.raises(ProviderStatusError) as info:
        await client.create(REQUEST.model_copy(update={"last_id": "some-image-id"}))
    assert not isinstance(info.value, ImageIdExpired)


async def test_a_refused_create_with_the_photo_is_not_an_expired_image(client, picwish):
    picwish.create_failures.append((400, {"status": 400, "message": "last_id not found"}))
    with pytest.raises(ProviderStatusError) as info:
        await client.create(REQUEST.model_copy(update={"last_id": "some-image-id"}), portrait_jpeg())
    assert not isinstance(info.value, ImageIdExpired)


async def test_last_id_rerender_sends_no_file(client, picwish):
    first = await client.create(REQUEST, portrait_jpeg())
    status, _ = await _finish(client, first.task_id)
    again = await client.create(
        IdPhotoOrder(
            spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="FF0000", last_id=status.images[0].image_id
        )
    )
    assert picwish.tasks[again.task_id].image is None
    assert picwish.creates[-1]["last_id"] == status.images[0].image_id
