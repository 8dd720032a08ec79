"""End-to-end over https: every provider's fake is served over TLS on 127.0.0.1, with a
certificate from a throwaway CA the bot is told to trust the way an operator would
(``network.ca_file``, or OpenSSL's ``SSL_CERT_FILE``). Orders go through, every call and the
result download included; a certificate the bot does not trust fails the order as an unreachable
provider does, and it is refunded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from bot.main.app import running
from tests.bot.flows import order_repair
from tests.bot.test_provider_faults import PROVIDERS, order_through
from tests.fakes.registry import FAKES, ProviderFake
from tests.fakes.tls import ca_file, server_context

UNREACHABLE = "cannot be reached right now"


@pytest.fixture
def issuer(request: pytest.FixtureRequest, test_ca: trustme.CA) -> trustme.CA:
    """The CA the fakes' certificates come from: the one the bot is told to trust, or with
    ``indirect`` "untrusted" one it knows nothing of."""
    return trustme.CA() if getattr(request, "param", "trusted") == "untrusted" else test_ca


@pytest.fixture
def trusted(test_ca: trustme.CA, tmp_path: Path) -> str:
    """The trusted CA's certificate in a PEM file, for network.ca_file or SSL_CERT_FILE."""
    return str(ca_file(test_ca, tmp_path))


def _over_https(provider: ProviderFake) -> Any:
    """The conftest fixture of the provider's fake, its fake served over https instead."""

    @pytest.fixture(name=provider.fixture)
    async def fixture(issuer: trustme.CA) -> AsyncIterator[Any]:
        fake = provider.fake()
        fake.server.serve_tls(server_context(issuer))
        await fake.start()
        yield fake
        await fake.stop()

    return fixture


# Every provider fake's fixture (tests/fakes/registry.FAKES), over https in this module.
for _provider in FAKES:
    globals()[f"_https_{_provider.fixture}"] = _over_https(_provider)
del _provider


@pytest.fixture
def fake(request: pytest.FixtureRequest, provider: ProviderFake) -> Any:
    """The fake of the provider a test is parametrized with, started outside the event loop."""
    return request.getfixturevalue(provider.fixture)


def _url(settings: Any, provider: ProviderFake) -> str:
    section = getattr(settings.providers, provider.name)
    return str(getattr(section, "base_url", None) or section.url)


@pytest.mark.parametrize("provider", list(PROVIDERS.values()), ids=str)
async def test_every_provider_works_over_https_with_the_ca_in_ca_file(fake, make_settings, telegram, provider, trusted):
    settings = make_settings(provider.fixture, network__ca_file=trusted)
    assert _url(settings, provider).startswith("https://127.0.0.1:")
    async with running(settings) as services:
        user = telegram.user()
        summary = await order_through(provider, user)
        await user.press(summary, "Confirm")
        await user.edited(summary, "Done!", timeout=30)
        await services.runner.idle()
        assert len(user.messages("document")) == provider.documents
        assert await services.ledger.balance(user.id) == 30 - provider.price
    # Submission, status queries and the result download all went over TLS, none over http.
    assert {scheme for _route, scheme in fake.server.served} == {"https"}
    assert {provider.submit, *provider.polls, "result"} <= {route for route, _scheme in fake.server.served}


async def test_ssl_cert_file_in_the_environment_is_enough(make_settings, telegram, hili, trusted, monkeypatch):
    """No network.ca_file: the CA is trusted through OpenSSL's variable, set for the process."""
    monkeypatch.setenv("SSL_CERT_FILE", trusted)
    async with running(make_settings()) as services:
        user = telegram.user()
        summary = await order_repair(user)
        await user.press(summary, "Confirm")
        await user.edited(summary, "Done! 8 credits used.", timeout=30)
        assert await services.ledger.balance(user.id) == 22
    assert {"upload", "status", "download", "result"} <= {route for route, _scheme in hili.server.served}


@pytest.mark.parametrize("issuer", ["untrusted"], indirect=True)
async def test_an_untrusted_certificate_fails_the_order_and_refunds_it(make_settings, telegram, hili, trusted, caplog):
    caplog.set_level(logging.WARNING, logger="bot.jobs.driver")
    async with running(make_settings(network__ca_file=trusted)) as services:
        user = telegram.user()
        summary = await order_repair(user)
        await user.press(summary, "Confirm")
        await user.edited(summary, UNREACHABLE, timeout=30)
        await services.runner.idle()
        assert "Your 8 credits were returned." in summary.text
        assert user.messages("document") == []
        assert await services.ledger.balance(user.id) == 30
        assert await services.ledger.problems() == []
    # Nothing reached Hili: no request was answered, no use was taken.
    assert hili.server.served == [] and hili.upload_calls == 0 and hili.nums == 100
    logged = [record.getMessage() for record in caplog.records if record.name == "bot.jobs.driver"]
    assert any("hili: TLS certificate refused: unable to get local issuer certificate" in line for line in logged)
