"""The QQ anime client against the fake: signing, every documented code, retries."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from providers.errors import AuthenticationError, InvalidImage
from providers.models import InputImage, Phase
from providers.orders import AnimeOrder
from providers.qq_anime import (
    ImageNotAllowed,
    NoFace,
    QQAnimeClient,
    RegionBlocked,
    RequestRefused,
    VolumeLimit,
    sign,
)
from tests.conftest import portrait_jpeg
from tests.fakes.qq_anime import FakeQQAnime


def test_sign_against_a_value_worked_out_by_hand():
    body = '{"busiId": "x"}'  # 15 characters
    assert len(body) == 15
    # md5("https://h5.tu.qq.com15HQ31X02e"), computed with: printf %s 'https://h5.tu.qq.com15HQ31X02e' | md5sum
    assert sign(body) == "05854425f67429dd200f3af491a39230"


@pytest.fixture
async def qq():
    fake = FakeQQAnime()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(qq):
    c = QQAnimeClient(url=qq.url, volume_limit_backoff=0.01)
    yield c
    await c.aclose()


async def test_the_signature_covers_the_exact_text_sent(client, qq):
    converted = await client.convert(portrait_jpeg())
    assert len(converted.img_urls) == 4 and len(converted.video_urls) == 2
    sent = qq.requests[0]
    assert sent["headers"]["x-sign-value"] == sign(sent["body"])
    body = json.loads(sent["body"])
    assert body["busiId"] == "ai_painting_anime_entry" and json.loads(body["extra"])["version"] == 2


@pytest.mark.parametrize(
    ("layout", "orientation", "size", "picture"),
    [
        ("anime", "vertical", (830, 1400), portrait_jpeg(600, 900)),
        ("side_by_side", "vertical", (1000, 930), portrait_jpeg(600, 900)),
        ("anime", "horizontal", (1120, 940), portrait_jpeg(900, 600)),
        ("side_by_side", "horizontal", (800, 1257), portrait_jpeg(900, 600)),
    ],
)
async def test_layouts_pick_the_documented_variant(client, qq, layout, orientation, size, picture):
    submission = await client.submit(
        AnimeOrder(style="anime", layout=layout, orientation=orientation), InputImage(data=picture), None
    )
    assert submission.status.phase is Phase.DONE
    import httpx

    async with httpx.AsyncClient() as http:
        data = (await http.get(submission.status.images[0].url)).content
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == size


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1001, NoFace),
        (2114, ImageNotAllowed),
        (2119, RegionBlocked),
        (-2100, InvalidImage),
        (-2111, RequestRefused),
    ],
)
async def test_every_documented_code_is_a_typed_error(client, qq, code, error):
    qq.next_codes = [code]
    with pytest.raises(error):
        await client.convert(portrait_jpeg())
    assert len(qq.requests) == 1


async def test_volume_limit_is_retried_a_bounded_number_of_times(client, qq):
    qq.next_codes = [2111, 2111]
    assert len((await client.convert(portrait_jpeg())).img_urls) == 4
    assert len(qq.requests) == 3
    qq.next_codes = [2111] * 10
    with pytest.raises(VolumeLimit):
        await client.convert(portrait_jpeg())
    assert len(qq.requests) == 3 + client.volume_limit_retries + 1


async def test_region_block_logs_the_proxy_hint(client, qq, caplog):
    qq.next_codes = [2119]
    with pytest.raises(RegionBlocked):
        await client.convert(portrait_jpeg())
    assert "providers.qq_anime.proxy" in caplog.text


async def test_gif_is_refused_by_the_api(client, qq):
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(out, "GIF")
    with pytest.raises(InvalidImage):
        await client.convert(out.getvalue())


async def test_requests_go_through_the_configured_proxy(qq):
    # The URL's host does not resolve; only a client that really uses the proxy reaches the fake.
    client = QQAnimeClient(
        url="http://qq-anime.invalid" + qq.url.split(str(qq.server.port), 1)[1], proxy=qq.server.url, max_retries=0
    )
    try:
        assert len((await client.convert(portrait_jpeg())).img_urls) == 4
    finally:
        await client.aclose()
    assert len(qq.requests) == 1


async def test_minus_2111_is_a_refused_request_not_a_refused_key(client, qq):
    """Document 000: -2111 is "possibly invalid request body, missing parts on the request body or
    headers"; QQ has no key, so it must not be taken for refused credentials (health would put the
    service down as "credentials" and the alert would tell the operator to fix a key there is not)."""
    qq.next_codes = [-2111]
    with pytest.raises(RequestRefused) as refused:
        await client.convert(portrait_jpeg())
    assert not isinstance(refused.value, AuthenticationError)
    assert refused.value.code == "request_refused"


async def test_an_image_too_big_is_answered_2111_every_time(client, qq):
    with pytest.raises(VolumeLimit):
        await client.convert(portrait_jpeg(1600, qq.max_side + 1))
    assert len(qq.requests) == client.volume_limit_retries + 1
    # What the bot sends is scaled to the client's declared input limit, which the fake takes.
    assert client.input_limits.max_side is not None and client.input_limits.max_side <= qq.max_side


async def test_an_odd_video_entry_drops_that_video_not_the_picture(client, qq):
    qq.odd_videos = [None, "", "file:///etc/passwd", 7]
    submission = await client.submit(
        AnimeOrder(style="anime", layout="anime", orientation="vertical"), InputImage(data=portrait_jpeg()), None
    )
    assert submission.status is not None and submission.status.phase is Phase.DONE
    (video,) = submission.status.videos
    assert video.startswith(f"{qq.server.url}/video/") and video.endswith("_0.mp4")
