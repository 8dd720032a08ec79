"""Provider requests and result downloads over https: the server's certificate and host name are
verified against the system's CA certificates plus the operator's (``network.ca_file``, or
OpenSSL's ``SSL_CERT_FILE``), and nothing in the code can turn that off.

The fakes here are served over TLS with certificates from throwaway CAs (tests.fakes.tls): one the
client is told to trust, and one it is not.
"""

from __future__ import annotations

import io
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web
from PIL import Image

from providers.download import Downloader
from providers.errors import ProviderConnectionError, ResultDownloadError
from providers.hili import HiliClient
from providers.models import InputImage
from providers.orders import RepairOrder
from providers.session import tls_context
from tests.conftest import portrait_jpeg
from tests.fakes.hili import FakeHili
from tests.fakes.server import LoopbackServer
from tests.fakes.tls import ca_file, server_context

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def hili(test_ca: trustme.CA) -> AsyncIterator[FakeHili]:
    """The fake Hili over https, its certificate for 127.0.0.1 from the test CA."""
    fake = FakeHili()
    fake.server.serve_tls(server_context(test_ca))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def trusted(test_ca: trustme.CA, tmp_path: Path) -> str:
    """The test CA's certificate in a PEM file, as network.ca_file names it."""
    return str(ca_file(test_ca, tmp_path))


def _client(fake: FakeHili, **kwargs: str) -> HiliClient:
    return HiliClient(
        fake.third_code, fake.secret_key, base_url=fake.base_url, backoff=0.01, max_backoff=0.02, **kwargs
    )


async def _submit(client: HiliClient) -> None:
    try:
        await client.submit(RepairOrder(mode="repair"), InputImage(data=portrait_jpeg(300, 400)), None)
    finally:
        await client.aclose()


async def test_a_client_trusts_the_ca_in_ca_file(hili, trusted):
    assert hili.base_url.startswith("https://127.0.0.1:")
    client = _client(hili, ca_file=trusted)
    try:
        assert await client.remaining() == 100
        submission = await client.submit(RepairOrder(mode="repair"), InputImage(data=portrait_jpeg(300, 400)), None)
    finally:
        await client.aclose()
    assert submission.task_id in hili.uploads
    assert hili.server.served == [("nums", "https"), ("upload", "https")]


async def test_ssl_cert_file_in_the_environment_is_trusted(hili, trusted, monkeypatch):
    """OpenSSL's own variable, as an operator sets it for the whole process, without ca_file."""
    monkeypatch.setenv("SSL_CERT_FILE", trusted)
    client = _client(hili)
    try:
        assert await client.remaining() == 100
    finally:
        await client.aclose()
    assert hili.server.served == [("nums", "https")]


@pytest.mark.parametrize("trust", ["system CAs only", "another CA's file"])
async def test_a_certificate_from_an_untrusted_ca_is_refused_before_anything_is_sent(hili, tmp_path, trust):
    other = str(ca_file(trustme.CA(), tmp_path)) if trust == "another CA's file" else ""
    with pytest.raises(ProviderConnectionError, match="TLS certificate refused: unable to get local issuer") as err:
        await _submit(_client(hili, ca_file=other))
    assert isinstance(err.value.__cause__, aiohttp.ClientConnectorCertificateError)
    # The handshake failed before the request: safe to send again, and nothing reached Hili.
    assert err.value.never_accepted
    assert hili.server.served == [] and hili.upload_calls == 0 and hili.nums == 100


async def test_a_certificate_for_another_host_name_is_refused(test_ca, trusted):
    fake = FakeHili()
    fake.server.serve_tls(server_context(test_ca, ("photo.example.com",)))  # the right CA, not this address
    await fake.start()
    try:
        with pytest.raises(ProviderConnectionError, match="TLS certificate refused: IP address mismatch"):
            await _submit(_client(fake, ca_file=trusted))
        assert fake.server.served == []
    finally:
        await fake.stop()


async def test_https_to_a_plain_http_server_fails_as_a_tls_handshake():
    fake = FakeHili()
    await fake.start()
    client = HiliClient(
        fake.third_code, fake.secret_key, base_url=fake.base_url.replace("http:", "https:"), max_retries=0
    )
    try:
        with pytest.raises(ProviderConnectionError, match="TLS handshake failed"):
            await _submit(client)
    finally:
        await fake.stop()


def _image_server(context: ssl.SSLContext) -> LoopbackServer:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=out.getvalue(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/result.jpg", image, name="result")
    server = LoopbackServer(app)
    server.serve_tls(context)
    return server


async def test_result_downloads_verify_the_certificate(test_ca, trusted):
    server = _image_server(server_context(test_ca))
    await server.start()
    trusting = Downloader(max_bytes=1024 * 1024, allow_private_addresses=True, ca_file=trusted)
    default = Downloader(max_bytes=1024 * 1024, allow_private_addresses=True)
    try:
        assert Image.open(io.BytesIO(await trusting.fetch(f"{server.url}/result.jpg"))).size == (8, 8)
        with pytest.raises(ResultDownloadError, match="TLS certificate refused: unable to get local issuer") as err:
            await default.fetch(f"{server.url}/result.jpg")
        assert isinstance(err.value.__cause__, aiohttp.ClientConnectorCertificateError)
        assert server.served == [("result", "https")]
    finally:
        await trusting.aclose()
        await default.aclose()
        await server.stop()


def test_the_tls_settings_always_verify(trusted):
    for context in (tls_context(), tls_context(trusted)):
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname


#: What turns certificate or host name checks off in aiohttp, httpx or ssl.
UNVERIFIED = ("ssl=False", "verify_ssl", "verify=False", "CERT_NONE", "check_hostname = False", "_create_unverified")


def test_no_code_turns_verification_off():
    sources = sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("providers/**/*.py")])
    assert len(sources) > 50
    found = [(str(path.relative_to(ROOT)), word) for path in sources for word in UNVERIFIED if word in path.read_text()]
    assert found == []
