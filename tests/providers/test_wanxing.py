"""The 玩星 client: API Gateway signing, against the fake gateway and API."""

from __future__ import annotations

import pytest

from providers.errors import AuthenticationError, ProviderStatusError
from providers.models import InputImage, Phase
from providers.orders import PortraitOrder
from providers.wanxing import GatewayCredentials, WanxingClient, gateway_headers, sign, string_to_sign
from tests.fakes.wanxing import FakeWanxing


def test_signature_against_a_value_worked_out_by_hand():
    credentials = GatewayCredentials(app_key="203753", app_secret="app-secret-123")
    headers = gateway_headers(
        credentials,
        "POST",
        "https://swapface-api.segapi.com/swapface",
        b"hello world",
        timestamp_ms=1700000000000,
        nonce="c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44",
    )
    # printf '%s' 'hello world' | openssl dgst -md5 -binary | base64
    assert headers["Content-MD5"] == "XrY7u+Ae7tCTyyK7j1rNww=="
    assert headers["X-Ca-Signature-Headers"] == "X-Ca-Key,X-Ca-Nonce,X-Ca-Signature-Method,X-Ca-Timestamp"
    # The stringToSign below, written out by hand, signed with:
    #   openssl dgst -sha256 -hmac app-secret-123 -binary sts.txt | base64
    expected_text = (
        "POST\napplication/json\nXrY7u+Ae7tCTyyK7j1rNww==\napplication/json; charset=utf-8\n\n"
        "X-Ca-Key:203753\nX-Ca-Nonce:c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44\n"
        "X-Ca-Signature-Method:HmacSHA256\nX-Ca-Timestamp:1700000000000\n/swapface"
    )
    signed = headers["X-Ca-Signature-Headers"].split(",")
    assert string_to_sign("POST", "/swapface", headers, signed, headers["Content-MD5"]) == expected_text
    assert sign("app-secret-123", expected_text) == "ovA9bnqP0P+jXuiJ4aDQrtPHtchjtAA2r2TpwgB9dv0="
    assert headers["X-Ca-Signature"] == "ovA9bnqP0P+jXuiJ4aDQrtPHtchjtAA2r2TpwgB9dv0="


def test_appcode_replaces_the_signature():
    headers = gateway_headers(GatewayCredentials(app_code="abc"), "POST", "https://x/query", b"{}")
    assert headers["Authorization"] == "APPCODE abc" and "X-Ca-Signature" not in headers


@pytest.fixture
async def fake():
    server = FakeWanxing()
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("mode", ["signature", "appcode"])
async def test_both_credentials_pass_the_gateway(fake, mode):
    credentials = (
        GatewayCredentials(app_key=fake.app_key, app_secret=fake.app_secret)
        if mode == "signature"
        else GatewayCredentials(app_code=fake.app_code)
    )
    client = WanxingClient(credentials, base_url=fake.base_url)
    try:
        submission = await client.submit(
            PortraitOrder(template="t", target_url="http://127.0.0.1:9/t.jpg"),
            InputImage(url="http://127.0.0.1:9/s.jpg"),
            "http://127.0.0.1:9/notify",
        )
        # The photos are fetched when the task starts, not at submit: unreachable ones fail it then.
        await fake.wait_for(lambda: fake.jobs[submission.task_id].status == "fail")
        failed = await client.query(submission.task_id)
    finally:
        await client.aclose()
    assert failed.phase is Phase.FAILED and "DownloadImageFailed" in str(failed.error)
    assert fake.auth_used == [mode, mode] and fake.fetched == {}


async def test_arguments_that_are_not_urls_are_refused_at_submit(fake):
    client = WanxingClient(GatewayCredentials(app_code=fake.app_code), base_url=fake.base_url)
    try:
        with pytest.raises(ProviderStatusError) as info:
            await client.submit(
                PortraitOrder(template="t", target_url="not a url"), InputImage(url="http://x/s.jpg"), "http://x/n"
            )
    finally:
        await client.aclose()
    assert info.value.status == 400 and info.value.data["error"] == "InvalidArguments"


async def test_a_wrong_secret_is_refused_by_the_gateway(fake):
    client = WanxingClient(GatewayCredentials(app_key=fake.app_key, app_secret="wrong"), base_url=fake.base_url)
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.query("x")
        assert info.value.status == 400 and info.value.code == "provider_auth"
        assert "Invalid Signature" in str(info.value)
    finally:
        await client.aclose()
    assert fake.auth_used == []


async def test_other_bad_requests_are_not_taken_for_a_credential_problem(fake):
    from tests.fakes.faults import Fault

    fake.server.faults.add("query", Fault.error(400))
    client = WanxingClient(GatewayCredentials(app_code=fake.app_code), base_url=fake.base_url, max_retries=0)
    try:
        with pytest.raises(ProviderStatusError) as info:
            await client.query("x")
        assert info.value.status == 400 and not isinstance(info.value, AuthenticationError)
    finally:
        await client.aclose()


async def test_query_states(fake):
    from tests.fakes.wanxing import Job

    client = WanxingClient(GatewayCredentials(app_code=fake.app_code), base_url=fake.base_url)
    fake.jobs["j"] = Job("j", {})
    try:
        assert (await client.query("j")).phase is Phase.PENDING
        fake.jobs["j"].step = 3
        done = await client.query("j")
        assert done.phase is Phase.DONE and done.images[0].url.endswith("/result/j.jpg")
        fake.jobs["f"] = Job("f", {}, step=3, fail=(-22222, "NoFace"))
        failed = await client.query("f")
        assert failed.phase is Phase.FAILED and "NoFace" in str(failed.error)
    finally:
        await client.aclose()


def _signed_client(fake: FakeWanxing, **kwargs) -> WanxingClient:
    credentials = GatewayCredentials(app_key=fake.app_key, app_secret=fake.app_secret)
    return WanxingClient(credentials, base_url=fake.base_url, backoff=0.01, **kwargs)


async def test_a_retried_query_is_signed_afresh(fake):
    from tests.fakes.wanxing import Job

    fake.jobs["j"] = Job("j", {})
    fake.queries_unavailable = 1  # the gateway took the first nonce, then the backend was down
    client = _signed_client(fake)
    try:
        assert (await client.query("j")).phase is Phase.PENDING
    finally:
        await client.aclose()
    assert fake.refusals == [] and fake.auth_used == ["signature", "signature"]


async def test_the_gateway_refuses_a_reused_nonce(fake):
    import httpx

    from providers.wanxing import gateway_headers as headers_for

    credentials = GatewayCredentials(app_key=fake.app_key, app_secret=fake.app_secret)
    url = f"{fake.base_url}/query"
    body = b'{"job_id": "x"}'
    headers = headers_for(credentials, "POST", url, body)
    async with httpx.AsyncClient() as http:
        first = await http.post(url, content=body, headers=headers)
        again = await http.post(url, content=body, headers=headers)
    assert first.status_code == 200
    assert again.status_code == 400 and again.headers["X-Ca-Error-Message"] == "Nonce Used"


@pytest.mark.parametrize(
    "message", ["Throttled by APP Flow Control", "Throttled by USER Flow Control", "Throttled by API Flow Control"]
)
async def test_flow_control_is_waited_out(fake, message):
    from tests.fakes.wanxing import Job

    fake.jobs["j"] = Job("j", {})
    fake.gateway_errors = [(403, message), (403, message)]
    client = _signed_client(fake)
    try:
        assert (await client.query("j")).phase is Phase.PENDING
    finally:
        await client.aclose()
    assert fake.refusals == [message, message]


@pytest.mark.parametrize("message", ["Quota Exhausted", "Quota Expired", "User Arrears", "Expiry of Authorization"])
async def test_an_account_out_of_calls_is_the_operators_problem_not_a_credential_one(fake, message):
    fake.gateway_errors = [(403, message)]
    client = _signed_client(fake)
    try:
        with pytest.raises(ProviderStatusError) as info:
            await client.query("x")
    finally:
        await client.aclose()
    assert info.value.code == "provider_quota" and not isinstance(info.value, AuthenticationError)


@pytest.mark.parametrize(
    ("status", "message", "code"),
    [
        (403, "Unauthorized", "provider_auth"),
        (400, "Invalid AppKey", "provider_auth"),
        (403, "Bad Domain or Group: stopped", "provider_error"),
    ],
)
async def test_only_credential_messages_are_credential_problems(fake, status, message, code):
    fake.gateway_errors = [(status, message)]
    client = _signed_client(fake, max_retries=0)
    try:
        with pytest.raises(ProviderStatusError) as info:
            await client.query("x")
    finally:
        await client.aclose()
    assert info.value.code == code


async def test_the_fakes_result_urls_live_24_hours(fake):
    """Document 001: "有效期为24小时" (valid 24 hours); the fake serves a result no longer than that."""
    import httpx

    from tests.fakes.clock import ManualClock
    from tests.fakes.wanxing import RESULT_LIFETIME, Job

    fake.clock = clock = ManualClock()
    fake.jobs["j"] = Job("j", {}, step=3, finished=clock())
    url = f"{fake.base_url}/result/j.jpg"
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        clock.advance(RESULT_LIFETIME + 1)
        assert (await http.get(url)).status_code == 404
