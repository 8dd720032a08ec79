"""The Bot API server over https with a certificate from a private CA (a local Bot API server
behind the operator's own CA): trusted through ``network.ca_file``, as the providers are, and
refused without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from telegram.error import NetworkError

from bot.main.app import running
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.tls import ca_file, server_context


@pytest.fixture
async def telegram(test_ca: trustme.CA) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API served over https, its certificate issued by ``test_ca``."""
    api = FakeTelegram()
    api.server.serve_tls(server_context(test_ca))
    await api.start()
    yield api
    await api.stop()


async def test_a_bot_api_server_behind_a_private_ca_is_trusted_through_ca_file(
    make_settings, telegram, test_ca, tmp_path: Path
):
    settings = make_settings(network__ca_file=str(ca_file(test_ca, tmp_path)))
    assert settings.telegram.base_url.startswith("https://127.0.0.1:")
    async with running(settings):
        user = telegram.user()
        await user.send_text("/start")
        welcome = await user.next_message()
        assert "photo" in welcome.text.lower()
    assert {scheme for _route, scheme in telegram.server.served} == {"https"}


async def test_without_the_ca_the_bot_api_server_is_refused(make_settings, telegram):
    with pytest.raises(NetworkError):
        async with running(make_settings()):
            pass
