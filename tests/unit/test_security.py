"""Guards: the per-user request limiter and the result downloader's checks."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.ops.limits import RequestLimiter
from providers.download import Downloader
from providers.errors import ResultDownloadError
from tests.conftest import portrait_jpeg
from tests.fakes.server import LoopbackServer


def test_request_limiter_window():
    now = [0.0]
    limiter = RequestLimiter(3, clock=lambda: now[0])
    assert [limiter.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow(2)  # other users are not affected
    assert limiter.should_warn(1) and not limiter.should_warn(1)
    now[0] = 59.9
    assert not limiter.allow(1)
    now[0] = 60.0
    assert limiter.allow(1)


def test_an_album_counts_as_one_request():
    """Telegram sends an album of ten photos as ten messages: the first counts, the rest pass."""
    limiter = RequestLimiter(2, clock=lambda: 0.0)
    assert all(limiter.allow(1, "album-1") for _ in range(10))
    assert limiter.allow(1) and not limiter.allow(1)
    assert limiter.allow(1, "album-1")  # still the same album
    assert not limiter.allow(1, "album-2")  # a new album is a new request


def test_request_limiter_forgets_quiet_users_once_a_window():
    now = [0.0]
    limiter = RequestLimiter(3, clock=lambda: now[0])
    for user in range(1000):
        limiter.allow(user)
    assert len(limiter) == 1000
    now[0] = 30.0
    limiter.allow(5000)
    assert len(limiter) == 1001  # no scan before a window has passed
    now[0] = 61.0
    limiter.allow(5001)
    assert len(limiter) == 2  # the users quiet for a whole window are forgotten


@pytest.fixture
async def files():
    picture = portrait_jpeg(200, 200)

    async def image(_r: web.Request) -> web.Response:
        return web.Response(body=picture, content_type="image/jpeg")

    async def big(_r: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(_r)
        for _ in range(40):
            await response.write(b"\xff\xd8" + b"\0" * 65536)
        return response

    async def html(_r: web.Request) -> web.Response:
        return web.Response(text="<html>not an image</html>", content_type="text/html")

    async def redirect(_r: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    app = web.Application()
    for path, handler in (("/a.jpg", image), ("/big.jpg", big), ("/page", html), ("/r", redirect)):
        app.router.add_get(path, handler)
    server = LoopbackServer(app)
    await server.start()
    yield server.url, picture
    await server.stop()


async def test_downloads_only_what_they_should(files):
    base, picture = files
    loose = Downloader(max_bytes=1024 * 1024, allow_private_addresses=True)
    strict = Downloader(max_bytes=1024 * 1024, allow_private_addresses=False)
    try:
        assert await loose.fetch(f"{base}/a.jpg") == picture
        for url, reason in (
            (f"{base}/big.jpg", "larger than the download limit"),
            (f"{base}/page", "not an image"),
            (f"{base}/r", "HTTP 302"),
            ("file:///etc/passwd", "not http"),
            ("ftp://example.com/a.jpg", "not http"),
        ):
            with pytest.raises(ResultDownloadError, match=reason):
                await loose.fetch(url)
        # localhost is refused by the connection's resolver, the literals before connecting.
        for url in (
            f"{base}/a.jpg",
            "http://localhost/a.jpg",
            "http://10.1.2.3/a.jpg",
            "http://[::1]/a.jpg",
            "http://169.254.169.254/latest",
            "http://[::ffff:127.0.0.1]/a.jpg",
            "http://[64:ff9b::7f00:1]/a.jpg",
            "http://[2002:c0a8:101::1]/a.jpg",
            "http://[::10.0.0.1]/a.jpg",
        ):
            with pytest.raises(ResultDownloadError, match="private or local"):
                await strict.fetch(url)
    finally:
        await loose.aclose()
        await strict.aclose()


def test_ipv6_that_leads_to_a_private_ipv4_address_is_not_public():
    """NAT64, 6to4 and IPv4-compatible addresses are judged by the IPv4 address they reach."""
    from providers.download import _is_public

    for private in (
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "2002:c0a8:101::1",
        "::127.0.0.1",
        "::10.0.0.1",
        "::ffff:192.168.1.1",
        # RFC 8215's local-use translation prefix, whatever IPv4 address it embeds and where
        "64:ff9b:1::7f00:1",
        "64:ff9b:1:7f00:1::",
        "64:ff9b:1::808:808",
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
    ):
        assert not _is_public(private), private
    for public in ("64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111", "8.8.8.8"):
        assert _is_public(public), public


def test_the_log_filter_escapes_line_breaks_and_redacts_secrets():
    import logging

    from bot.ops.logs import RedactSecrets

    record = logging.LogRecord(
        "x",
        logging.WARNING,
        __file__,
        1,
        "provider said: %s",
        ("no\r\n2026-01-01 CRITICAL forged with key sk-123456\u2028too",),
        None,
    )
    assert RedactSecrets(["sk-123456"]).filter(record)
    assert record.getMessage() == "provider said: no\\r\\n2026-01-01 CRITICAL forged with key [redacted]\\u2028too"


async def test_a_json_only_provider_refuses_an_answer_over_its_small_cap_and_picwish_takes_an_inlined_image():
    """The JSON-only providers' answers are links and states: one of a few MB is refused (a
    BadResponse) once the cap is passed or as soon as its Content-Length says so, so that every
    concurrent call at its cap holds little memory; PicWish's may carry the result image in base64
    (document 004), up to its 15 MB limit."""
    import base64
    import json

    from providers.base import MAX_ANSWER_BYTES
    from providers.errors import BadResponse
    from providers.hili import HiliClient
    from providers.magictiger import MagicTigerClient
    from providers.picwish import MAX_BYTES, PicwishClient
    from providers.qq_anime import QQAnimeClient
    from providers.wanxing import WanxingClient

    assert MAX_ANSWER_BYTES <= 1024 * 1024
    for client_type in (HiliClient, MagicTigerClient, QQAnimeClient, WanxingClient):
        assert client_type.max_answer_bytes == MAX_ANSWER_BYTES
    assert PicwishClient.max_answer_bytes >= MAX_BYTES * 4 // 3 + 64 * 1024

    padding = "x" * (4 * 1024 * 1024)
    large = json.dumps({"code": 200, "data": {"code": "tc", "nums": 7}, "padding": padding}).encode()

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(large), 256 * 1024):
            await response.write(large[start : start + 256 * 1024])
        return response

    async def announced(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(2 * 1024 * 1024)})
        await response.prepare(request)
        await response.write(b'{"code": 200, "data": {"nums": 7}}')
        return response

    image = b"\xff\xd8\xff\xe0" + bytes(MAX_BYTES - 4)
    inlined = json.dumps(
        {
            "status": 200,
            "data": {"task_id": "t", "state": 1, "progress": 100, "image": base64.b64encode(image).decode()},
        }
    )

    async def picwish(_request: web.Request) -> web.Response:
        return web.Response(text=inlined, content_type="application/json")

    app = web.Application()
    app.router.add_post("/chunked/api/third/company/nums", chunked)
    app.router.add_post("/announced/api/third/company/nums", announced)
    app.router.add_get("/picwish/idphoto/{task}", picwish)
    server = LoopbackServer(app)
    await server.start()
    clients = [
        HiliClient("tc", "secret", base_url=f"{server.url}/chunked", max_retries=0),
        HiliClient("tc", "secret", base_url=f"{server.url}/announced", max_retries=0),
    ]
    picwish_client = PicwishClient("k", base_url=f"{server.url}/picwish", max_retries=0)
    try:
        with pytest.raises(BadResponse, match=f"larger than {MAX_ANSWER_BYTES} bytes"):
            await clients[0].remaining()
        with pytest.raises(BadResponse, match="too large"):
            await clients[1].remaining()
        status = await picwish_client.query("t")
        assert status.images[0].data == image
    finally:
        for client in (*clients, picwish_client):
            await client.aclose()
        await server.stop()


async def test_provider_answers_are_read_with_a_size_cap():
    from providers.base import MAX_ANSWER_BYTES, HttpProvider
    from providers.errors import BadResponse

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        for _ in range(MAX_ANSWER_BYTES // len(chunk) + 2):
            await response.write(chunk)
        return response

    async def declared(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(MAX_ANSWER_BYTES + 1)})
        await response.prepare(request)
        await response.write(b"{}")
        return response

    async def small(_r: web.Request) -> web.Response:
        return web.json_response({"ok": 1})

    app = web.Application()
    app.router.add_get("/endless", endless)
    app.router.add_get("/declared", declared)
    app.router.add_get("/small", small)
    server = LoopbackServer(app)
    await server.start()
    client = HttpProvider(max_retries=0)
    try:
        with pytest.raises(BadResponse, match="larger than"):
            await client.request_json("GET", f"{server.url}/endless", idempotent=True)
        with pytest.raises(BadResponse, match="too large"):
            await client.request_json("GET", f"{server.url}/declared", idempotent=True)
        assert await client.request_json("GET", f"{server.url}/small", idempotent=True) == {"ok": 1}
    finally:
        await client.aclose()
        await server.stop()


#: JSON that Python's decoder refuses with something else than JSONDecodeError.
HOSTILE_JSON = {
    "huge-int": '{"code": 200, "status": 200, "data": {"state": ' + "9" * 5000 + ', "nums": 1}}',
    "deep-nesting": "[" * 100_000,
}


@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=HOSTILE_JSON)
async def test_hostile_json_from_a_provider_is_a_bad_response(body: str) -> None:
    """An integer of more than 4300 digits (ValueError) or nesting deeper than the decoder goes
    (RecursionError) is an answer that is not JSON: the job runner's tolerated BadResponse, not an
    internal error that fails a paid job; the Hili uses watcher logs it and keeps watching; a
    callback body like it names no job."""
    from bot.ops.accounts import AccountWatch, UsesRule
    from providers.errors import BadResponse
    from providers.hili import HiliClient
    from providers.magictiger import MagicTigerApi, MagicTigerClient
    from providers.picwish import PicwishClient

    async def hostile(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hostile)
    server = LoopbackServer(app)
    await server.start()
    picwish = PicwishClient("k", base_url=server.url, max_retries=0)
    hili = HiliClient("tc", "secret", base_url=server.url, max_retries=0)
    tiger = MagicTigerClient(MagicTigerApi(base_url=server.url, api_token="t"), max_retries=0)

    async def alert(_provider: str, _uses: int) -> None:
        raise AssertionError("no count was read")

    try:
        with pytest.raises(BadResponse):
            await picwish.query("task")
        with pytest.raises(BadResponse):
            await hili.query("mdf")
        with pytest.raises(BadResponse):
            await tiger.query('{"taskid": "t", "type": 1}')
        watch = AccountWatch({"hili": hili}, {"hili": UsesRule(check_interval=3600, alert_below=10)}, alert)
        assert await watch.check("hili") is None and watch.uses == {}
        assert tiger.callback_job_id(body.encode()) is None
    finally:
        for client in (picwish, hili, tiger):
            await client.aclose()
        await server.stop()
