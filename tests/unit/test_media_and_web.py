from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.ops.media import MediaSigner, MediaStore, derive_secret
from bot.storage.db import Database
from bot.storage.jobs import JobDraft
from bot.storage.repositories import Repositories
from bot.telegram.web import ClientLimits, WebServer
from providers.picwish import PicwishClient
from tests.conftest import portrait_jpeg


def test_token_against_a_known_value():
    signer = MediaSigner(b"secret", ttl=600)
    token = signer.token("inputs/abc.jpg", now=1_000_000)
    # Worked out with: printf %s aW5wdXRzL2FiYy5qcGc.1000600 | openssl dgst -sha256 -hmac secret -binary | base64
    assert token == "aW5wdXRzL2FiYy5qcGc.1000600.AO4wpK2WNJLFbZjLA9G06Jcs1OFD3Xzg2tZGicCCAG8"
    assert signer.verify(token, now=1_000_599) == "inputs/abc.jpg"


def test_tokens_expire_and_cannot_be_forged():
    signer = MediaSigner(b"secret", ttl=600)
    token = signer.token("inputs/abc.jpg", now=1_000_000)
    ref, expires, mac = token.split(".")
    assert signer.verify(token, now=1_000_601) is None
    assert signer.verify(f"{ref}.{int(expires) + 3600}.{mac}", now=1_000_000) is None
    other = MediaSigner(b"secret", 600).token("inputs/other.jpg", now=1_000_000).split(".")[0]
    assert signer.verify(f"{other}.{expires}.{mac}", now=1_000_000) is None
    assert MediaSigner(b"another", 600).verify(token, now=1_000_000) is None
    assert signer.verify("garbage", now=0) is None


def test_derived_secret_is_not_the_token():
    secret = derive_secret("", "123:ABC")
    assert b"123:ABC" not in secret and len(secret) == 32
    assert derive_secret("configured", "123:ABC") == b"configured"


def test_store_refuses_paths_outside_it(tmp_path):
    store = MediaStore(tmp_path)
    ref = store.save_input(b"x")
    assert store.read(ref) == b"x"
    for bad in ("../etc/passwd", "inputs/../../x", "/abs", "results/a/b"):
        assert not store.exists(bad)
        with pytest.raises(ValueError):
            store.path(bad)


@pytest.fixture
async def web(tmp_path):
    db = await Database.open(tmp_path / "db.sqlite3")
    repos = Repositories.on(db, daily_free=10)
    store = MediaStore(tmp_path / "media")
    woken: list[str] = []

    async def wake(job_id: str) -> None:
        woken.append(job_id)

    async def keep_update(body: object) -> None:
        raise AssertionError("no webhook here")

    server = WebServer(
        jobs=repos.jobs,
        media=store,
        signer=MediaSigner(b"s", 60),
        keep_update=keep_update,
        drop_update=keep_update,
        wake=wake,
        host="127.0.0.1",
        port=0,
        providers={"picwish": PicwishClient("k")},
    )
    await server.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client:
        yield server, client, woken, repos, store
    await server.stop()
    await db.close()


async def test_healthz(web):
    _server, client, *_ = web
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_media_links(web):
    server, client, _queue, _repos, store = web
    ref = store.save_input(portrait_jpeg(200, 200))
    response = await client.get(f"/media/{server.signer.token(ref)}")
    assert response.status_code == 200 and response.content == store.read(ref)
    assert response.headers["content-type"] == "image/jpeg"
    assert (await client.get(f"/media/{server.signer.token(ref, now=0)}")).status_code == 404
    assert (await client.get("/media/aW5wdXRzL2FiYy5qcGc.9999999999.x")).status_code == 404
    # Non-ASCII tokens from strangers: 404, never a server error.
    for junk in ("aW5wdXRzL2FiYy5qcGc.9999999999.ü", "aW5wdXRzL2FiYy5qcGc.١٢٣٤٥٦٧٨٩٩.x", "ü.ü.ü"):
        assert (await client.get(f"/media/{junk}")).status_code == 404


async def test_callbacks_need_the_job_secret(web):
    _server, client, woken, repos, _store = web
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 0, 60))
    body = {"status": 200, "data": {"task_id": "t", "state": 1}}
    assert (await client.post(f"/callbacks/picwish/{job.id}/wrong-secret", json=body)).status_code == 404
    assert (await client.post(f"/callbacks/picwish/nojob/{job.callback_secret}", json=body)).status_code == 404
    assert (await client.post(f"/callbacks/hili/{job.id}/{job.callback_secret}", json=body)).status_code == 404
    assert woken == []
    response = await client.post(f"/callbacks/picwish/{job.id}/{job.callback_secret}", json=body)
    assert response.status_code == 200
    assert woken == [job.id]


async def test_a_strangers_callback_is_refused_before_its_body_comes(web):
    """A callback for no job, or with a wrong secret, is answered from its request line: the
    server neither waits for the body a stranger announced nor keeps it (before, it read up to a
    megabyte of it first, so a few hundred strangers' slow bodies held that much memory each)."""
    server, _client, woken, repos, _store = web
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 0, 60))
    for path in (f"/callbacks/picwish/{job.id}/wrong-secret", f"/callbacks/picwish/nojob/{job.callback_secret}"):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{{".encode())
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 10) == b"HTTP/1.1 404 Not Found\r\n"
        writer.close()
        await writer.wait_closed()
    assert woken == []


async def test_callback_secrets_are_compared_in_constant_time(web, monkeypatch):
    """Every callback's secret goes through hmac.compare_digest, also for an unknown job (so the
    answer time tells nothing about which jobs exist); a plain == would fail this."""
    import hmac

    _server, client, _queue, repos, _store = web
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 0, 60))
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = {"status": 200, "data": {"task_id": "t", "state": 1}}
    assert (await client.post(f"/callbacks/picwish/{job.id}/wrong-secret", json=body)).status_code == 404
    assert (await client.post(f"/callbacks/picwish/nojob/{job.callback_secret}", json=body)).status_code == 404
    assert (await client.post(f"/callbacks/picwish/{job.id}/{job.callback_secret}", json=body)).status_code == 200
    assert [received for _expected, received in compared] == [
        b"wrong-secret",
        job.callback_secret.encode(),
        job.callback_secret.encode(),
    ]
    assert compared[0][0] == compared[2][0] == job.callback_secret.encode()


async def test_media_links_serve_the_real_content_type_and_nosniff(web):
    server, client, _queue, _repos, store = web
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    for data, kind in (
        (png, "image/png"),
        (portrait_jpeg(120, 120), "image/jpeg"),
        (b"<html><script>alert(1)</script>", "application/octet-stream"),
    ):
        ref = store.save_result("job", 0, data)  # named .jpg whatever the provider sent
        response = await client.get(f"/media/{server.signer.token(ref)}")
        assert response.status_code == 200 and response.content == data
        assert response.headers["content-type"] == kind
        assert response.headers["x-content-type-options"] == "nosniff"


class _SweptMeanwhile(MediaStore):
    """Stored files that the sweeper (bot/ops/retention.py) deletes as soon as they are found."""

    def exists(self, ref: str) -> bool:
        found = super().exists(ref)
        if found:
            self.path(ref).unlink()
        return found


async def test_a_media_file_deleted_as_it_is_asked_for_is_not_found(tmp_path, caplog):
    """The file goes between the check that it exists and its reading: 404, as for any file
    that is not there. Before, a 500, and a traceback logged as an error."""
    db = await Database.open(tmp_path / "db.sqlite3")
    media = _SweptMeanwhile(tmp_path / "media")

    async def nothing(*_args: object) -> None:
        return None

    server = WebServer(
        jobs=Repositories.on(db, daily_free=10).jobs,
        media=media,
        signer=MediaSigner(b"s", 60),
        keep_update=nothing,
        drop_update=nothing,
        wake=nothing,
        host="127.0.0.1",
        port=0,
        providers={},
    )
    await server.start()
    try:
        ref = media.save_input(portrait_jpeg(120, 120))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client:
            response = await client.get(f"/media/{server.signer.token(ref)}")
    finally:
        await server.stop()
        await db.close()
    assert response.status_code == 404
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_link_lives_until_its_jobs_deadline():
    signer = MediaSigner(b"secret", ttl=0)  # the default: no cap
    token = signer.token("inputs/a.jpg", now=1000, until=8260)  # 玩星's longest job: 7200 s + 60
    assert signer.verify(token, now=8259) == "inputs/a.jpg"
    assert signer.verify(token, now=8261) is None
    capped = MediaSigner(b"secret", ttl=900)
    assert capped.verify(capped.token("inputs/a.jpg", now=1000, until=8260), now=1901) is None
    assert capped.token("inputs/a.jpg", now=1000, until=1300) == signer.token("inputs/a.jpg", now=1000, until=1300)


async def test_a_forged_line_in_an_unauthenticated_path_stays_one_line(web, caplog):
    _server, client, *_ = web
    forged = "x%0A2026-11-29 12:00:00,000 CRITICAL bot.jobs.runner: ledger wiped"
    response = await client.post(f"/callbacks/{forged}/job/secret", content=b"{}")
    assert response.status_code == 404
    rejected = [r.getMessage() for r in caplog.records if "rejected a callback" in r.getMessage()]
    assert rejected and all("\n" not in line for line in rejected)
    assert "x\\n2026" in rejected[0]


async def _raw(port: int, request: bytes) -> bytes:
    """The status line the server answers a request sent as raw bytes with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer.rstrip()


async def test_bytes_that_are_not_utf8_in_a_secret_get_a_refusal_not_a_server_error(tmp_path, caplog):
    """A stranger's header or path with bytes that are not UTF-8 (aiohttp makes lone surrogates of
    them) is compared like any other wrong secret: 401 or 404, nothing logged as an error (before,
    encoding them raised: a 500 and a traceback in the log for each request)."""
    db = await Database.open(tmp_path / "db.sqlite3")
    repos = Repositories.on(db, daily_free=10)
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 0, 60))

    async def metrics() -> bytes:
        return b"metrics"

    async def nothing(*_args: object) -> None:
        return None

    server = _picwish_server(repos, tmp_path, nothing, metrics=metrics, metrics_token="m" * 32)
    await server.start()
    try:
        port = server.bound_port
        answers = {
            name: await _raw(port, request)
            for name, request in {
                "metrics": b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
                "webhook": b"POST /telegram/" + b"p" * 32 + b" HTTP/1.1\r\nHost: x\r\n"
                b"X-Telegram-Bot-Api-Secret-Token: \xff\r\nContent-Length: 0\r\n\r\n",
                "callback": f"POST /callbacks/picwish/{job.id}/%ED%A0%80 HTTP/1.1\r\n".encode()
                + b"Host: x\r\nContent-Length: 0\r\n\r\n",
                "media": b"GET /media/%FF.1.%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n",
                # Telegram's secrets, and a body nested past Python's recursion limit: nothing
                # the bot can handle, nor could if Telegram sent it again (200, see
                # tests/bot/test_update_inbox.py).
                "nested": b"POST /telegram/" + b"p" * 32 + b" HTTP/1.1\r\nHost: x\r\n"
                b"X-Telegram-Bot-Api-Secret-Token: "
                + b"h" * 32
                + b"\r\nContent-Length: 100000\r\n\r\n"
                + b"[" * 100_000,
            }.items()
        }
    finally:
        await server.stop()
        await db.close()
    assert answers == {
        "metrics": b"HTTP/1.1 401 Unauthorized",
        "webhook": b"HTTP/1.1 404 Not Found",
        "callback": b"HTTP/1.1 404 Not Found",
        "media": b"HTTP/1.1 404 Not Found",
        "nested": b"HTTP/1.1 200 OK",
    }
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []


async def test_a_webhook_update_the_database_cannot_keep_gets_a_503_and_a_warning(tmp_path, caplog):
    """The database refuses the update (full disk, connection lost): Telegram is asked to send it
    again (503) and the log says why in one line. Before, a 500 and "Error handling request"
    with a traceback, as for a crash, for each update while the database was away."""
    db = await Database.open(tmp_path / "db.sqlite3")
    refused: list[object] = []

    async def keep(body: object) -> None:
        refused.append(body)
        raise sqlite3.OperationalError("disk I/O error")

    server = _picwish_server(Repositories.on(db, daily_free=10), tmp_path, keep)
    await server.start()
    update = {"update_id": 5, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}}}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client:
            response = await client.post(
                f"/telegram/{'p' * 32}", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "h" * 32}
            )
    finally:
        await server.stop()
        await db.close()
    assert response.status_code == 503 and refused == [update]
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert any("disk I/O error" in record.getMessage() for record in caplog.records)


def _picwish_server(repos: Repositories, tmp_path: Path, keep: Any, **extra: Any) -> WebServer:
    """A web server on a free port for PicWish's callbacks and Telegram's webhook (path secret
    "p" * 32, header "h" * 32); ``keep`` takes the updates and the wakes."""
    return WebServer(
        jobs=repos.jobs,
        media=MediaStore(tmp_path / "media"),
        signer=MediaSigner(b"s", 60),
        keep_update=keep,
        drop_update=keep,
        wake=keep,
        host="127.0.0.1",
        port=0,
        providers={"picwish": PicwishClient("k")},
        webhook=(None, "p" * 32, "h" * 32),
        **extra,
    )


@pytest.fixture
async def limited(tmp_path):
    """A server with short client limits, Telegram's webhook on, and one picwish job."""
    db = await Database.open(tmp_path / "db.sqlite3")
    repos = Repositories.on(db, daily_free=10)
    await repos.users.ensure(1, 1, "en")
    job = await repos.jobs.create(JobDraft(1, 1, "idphoto", "picwish", {}, None, 0, 60))
    arrived: list[object] = []

    async def keep(item: object) -> None:
        arrived.append(item)

    server = _picwish_server(
        repos, tmp_path, keep, limits=ClientLimits(header_seconds=0.5, body_seconds=0.5, connections=2)
    )
    await server.start()
    yield server, job, arrived
    await server.stop()
    await db.close()


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """/healthz's answer on a kept-alive connection: its status line, or b"" when it was closed."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    length = 0
    while (line := await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status.rstrip()


async def test_a_client_that_sends_no_request_or_half_one_is_disconnected(limited):
    """Before, a connection that sent nothing, or headers without their end, stayed open an hour
    (aiohttp's default): a few hundred of them took every file the bot may open."""
    server, _job, _arrived = limited
    silent = await _connect(server.bound_port)
    halfway = await _connect(server.bound_port)
    halfway[1].write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    for reader, writer in (silent, halfway):
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()


async def test_a_body_that_trickles_is_answered_408_and_wakes_nothing(limited):
    """A callback with the job's secret, or an update with Telegram's secrets, whose body does not
    come in time: 408, nothing woken or kept (before, the server waited for it for ever)."""
    server, job, arrived = limited
    for head in (
        f"POST /callbacks/picwish/{job.id}/{job.callback_secret} HTTP/1.1\r\nHost: x\r\n",
        f"POST /telegram/{'p' * 32} HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: {'h' * 32}\r\n",
    ):
        reader, writer = await _connect(server.bound_port)
        writer.write(f"{head}Content-Length: 100\r\n\r\n{{".encode())
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 10) == b"HTTP/1.1 408 Request Timeout\r\n"
        writer.close()
        await writer.wait_closed()
    assert arrived == []


async def test_connections_past_the_limit_are_closed_as_they_come(limited):
    """Two connections open (the limit here): a third is closed at once, the two are still served,
    and once one of them is gone a new one is served again."""
    server, _job, _arrived = limited
    first, second = await _connect(server.bound_port), await _connect(server.bound_port)
    assert [await _health(*first), await _health(*second)] == [b"HTTP/1.1 200 OK"] * 2
    third = await _connect(server.bound_port)
    assert await asyncio.wait_for(third[0].read(), 10) == b""
    assert await _health(*first) == b"HTTP/1.1 200 OK"
    for _reader, writer in (second, third):
        writer.close()
        await writer.wait_closed()

    async def served_again() -> bytes:
        status = b""
        while not status:  # until the server has counted the closed connection out
            reader, writer = await _connect(server.bound_port)
            with contextlib.suppress(ConnectionError):
                status = await _health(reader, writer)
            writer.close()
        return status

    assert await asyncio.wait_for(served_again(), 10) == b"HTTP/1.1 200 OK"
    first[1].close()
