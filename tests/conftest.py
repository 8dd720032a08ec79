"""Fixtures: the fake Bot API and provider servers on loopback, settings pointing at the ones a
test uses, the bot."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import trustme
from PIL import Image

from bot.config import Settings, parse_settings
from bot.main.app import running
from bot.telegram.context import Wiring
from tests.fakes.registry import FAKES, ProviderFake
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram


@lru_cache(maxsize=1)
def astronaut() -> Image.Image:
    """scikit-image's public-domain portrait photograph (512x512, one face)."""
    from skimage import data

    return Image.fromarray(data.astronaut())


def portrait_jpeg(width: int = 800, height: int = 1000, **save: Any) -> bytes:
    """A real portrait photograph centred on a ``width`` x ``height`` canvas."""
    img = Image.new("RGB", (width, height), "#8fa3b8")
    side = min(width, height)
    img.paste(astronaut().resize((side, side), Image.Resampling.LANCZOS), ((width - side) // 2, (height - side) // 2))
    out = io.BytesIO()
    img.save(out, "JPEG", **{"quality": 90, **save})
    return out.getvalue()


#: A PostgreSQL server for the tests of both backends (.ci/postgres starts one and prints this).
POSTGRES_URL = os.environ.get("PHOTOBOT_TEST_POSTGRES", "")


async def postgres_schema() -> str:
    """A URL whose tables live in a schema of their own, made for one test; without a server the
    test is skipped (CI sets PHOTOBOT_REQUIRE_POSTGRES, and then it fails instead)."""
    if not POSTGRES_URL:
        if os.environ.get("PHOTOBOT_REQUIRE_POSTGRES"):
            pytest.fail("PHOTOBOT_TEST_POSTGRES is not set: start a server with .ci/postgres")
        pytest.skip("no PostgreSQL server: export PHOTOBOT_TEST_POSTGRES=$(.ci/postgres)")
    return await new_schema(POSTGRES_URL)


async def new_schema(url: str, prefix: str = "t") -> str:
    """``url`` with its tables in a new schema of their own."""
    import asyncpg

    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """The repositories' database, once per backend: the same tests run against both."""
    from bot.storage.opening import open_store

    url = await postgres_schema() if request.param == "postgres" else ""
    db = await open_store(str(tmp_path / "db.sqlite3"), url)
    yield db
    await db.close()


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    """A throwaway certificate authority for fakes served over https (tests.fakes.tls)."""
    return trustme.CA()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    api = FakeTelegram()
    await api.start()
    yield api
    await api.stop()
    assert api.poll_conflicts == 0, "two bot instances polled getUpdates at once"
    assert api.too_long == [], "the bot sent a text or caption over Telegram's limits"


def _fake_fixture(provider: ProviderFake) -> Any:
    """A fixture named ``provider.fixture`` that starts the provider's fake and stops it after the test."""

    @pytest.fixture(name=provider.fixture)
    async def fixture() -> AsyncIterator[Any]:
        fake = provider.fake()
        await fake.start()
        yield fake
        await fake.stop()

    return fixture


# The provider fakes' fixtures (picwish, qq, hili, tiger, wanxing), one per entry of
# tests/fakes/registry.FAKES.
for _provider in FAKES:
    globals()[f"_fixture_{_provider.fixture}"] = _fake_fixture(_provider)
del _provider


@pytest.fixture
def templates(tmp_path: Path) -> list[dict[str, Any]]:
    """Two portrait template files, 900x1200 and 1000x1000 (plain JPEGs: the bot keeps them as they are)."""
    made = []
    for template_id, title, size, colour in (
        ("studio", {"en": "Studio", "zh-Hans": "影棚"}, (900, 1200), "#334455"),
        ("garden", "Garden", (1000, 1000), "#447744"),
    ):
        path = tmp_path / f"{template_id}.jpg"
        Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
        made.append({"id": template_id, "title": title, "category": "Classic", "image": str(path)})
    return made


#: The provider fakes, by fixture name. A test starts only those it asks for (as a parameter, or
#: through a fixture that does); the bot it runs has those providers configured and no others.
PROVIDER_FAKES = tuple(provider.fixture for provider in FAKES)


@pytest.fixture
def make_settings(
    request: pytest.FixtureRequest, tmp_path: Path, telegram: FakeTelegram, templates: list[dict[str, Any]]
) -> Callable[..., Settings]:
    port = free_port()
    # Started here, outside the event loop (an async fixture cannot be started from inside it).
    asked = {name: request.getfixturevalue(name) for name in PROVIDER_FAKES if name in request.fixturenames}

    def make(*more_fakes: str, **overrides: Any) -> Settings:
        """Settings for the test's provider fakes and ``more_fakes``: fixture names of fakes the test
        started itself, picked at run time. ``overrides`` set keys, ``section__key=value``."""
        fakes = {**asked, **{name: request.getfixturevalue(name) for name in more_fakes}}
        raw: dict[str, Any] = {
            "telegram": {
                "token": telegram.token,
                "base_url": telegram.base_url,
                "base_file_url": telegram.base_file_url,
                "poll_timeout": 1,
                "status_edit_interval": 0,
                "admin_ids": [9001],
            },
            "server": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
            "database": {"path": str(tmp_path / "photobot.sqlite3"), "min_free_disk_mb": 16},
            "credits": {"daily_free": 30},
            "limits": {"requests_per_minute": 1000},
            "jobs": {"max_poll_interval": 0.2},
            "network": {"allow_private_addresses": True, "retry_backoff": 0.01},
            "providers": {
                provider.name: provider.section(fakes[provider.fixture], port, templates)
                for provider in FAKES
                if provider.fixture in fakes
            },
        }
        for dotted, value in overrides.items():
            node = raw
            *parents, leaf = dotted.split("__")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return parse_settings(raw, env={})

    return make


@pytest.fixture
async def bot(make_settings: Callable[..., Settings]) -> AsyncIterator[Wiring]:
    async with running(make_settings()) as services:
        yield services
