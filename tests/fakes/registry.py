"""Every provider the bot has, and what the tests need of each: the one list the tests derive
theirs from (as ``bot/services/registry.py`` lists the services). A new provider is one entry here
(and its fake's module); then

- ``tests/conftest.py`` has a fixture for its fake, named ``fixture``, and a test that names it
  gets a bot with the provider configured by ``section``;
- ``tests/unit/test_structure.py`` checks its client against the config and the services, and keeps
  dialogs from importing the client's module;
- the fault matrix (``tests/bot/test_provider_faults.py``) breaks each of its routes, and
  ``tests/bot/test_https.py`` orders through it over TLS;
- ``tests/unit/test_catalogs.py`` lets its name's Latin words stand in the Chinese texts.

The structure test fails while a provider of the config or of a service is missing here, or a
client module of ``providers/`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.base import TaskProvider
from providers.hili import HiliClient
from providers.local import LocalIdPhoto
from providers.magictiger import MagicTigerClient
from providers.picwish import PicwishClient
from providers.qq_anime import QQAnimeClient
from providers.wanxing import WanxingClient
from tests.fakes.hili import FakeHili
from tests.fakes.magictiger import FakeMagicTiger
from tests.fakes.picwish import FakePicwish
from tests.fakes.qq_anime import FakeQQAnime
from tests.fakes.wanxing import FakeWanxing

#: A provider's config section, pointing at its started fake: (the fake, the bot's web server port,
#: the portrait templates of the test) -> the section under ``providers``.
Section = Callable[[Any, int, list[dict[str, Any]]], dict[str, Any]]


@dataclass(frozen=True)
class ProviderFake:
    """A provider the bot calls over HTTP, and the fake that stands in for it."""

    #: Its name: its section under ``providers`` in the config, in ``Service.providers``, its
    #: client's ``name``.
    name: str
    client: type[TaskProvider[Any]]
    #: Its fake's class (a ``tests.fakes.server.FakeService``) and the fixture that starts one.
    fake: Callable[[], Any]
    fixture: str
    section: Section
    #: Words of its name in Latin letters, which the Chinese texts may show as they are.
    latin: tuple[str, ...]
    # What the fault matrix needs:
    #: The function in tests/bot/flows.py that takes a user from a fresh photo to its summary.
    flow: str
    #: Credits the order of ``flow`` costs.
    price: int
    #: The fake's names of its submit route and of its status routes (its result route is "result").
    submit: str
    polls: tuple[str, ...]
    #: Tasks the fake accepted; None: the provider keeps no tasks and charges nothing, so even its
    #: submission may be sent again.
    accepted: Callable[[Any], int] | None
    #: Files one delivered order brings (MagicTiger's enhanced photo and its one face close-up).
    documents: int = 1

    @property
    def paid(self) -> bool:
        """Whether the provider charges for a submission it accepted: one is never sent twice."""
        return self.accepted is not None

    def __str__(self) -> str:
        return self.fixture


def _picwish(fake: FakePicwish, _port: int, _templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {"enabled": True, "api_key": fake.api_key, "base_url": fake.base_url, "poll_interval": 0.05, "deadline": 20}


def _qq_anime(fake: FakeQQAnime, _port: int, _templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "enabled": True,
        "url": fake.url,
        "retry_backoff": 0.01,
        "styles": [
            {"id": "anime", "title": {"en": "Anime", "zh-Hans": "二次元"}, "busi_id": "ai_painting_anime_entry"},
            {"id": "manga", "title": "Manga", "busi_id": "ai_painting_anime_img_entry"},
        ],
    }


def _hili(fake: FakeHili, _port: int, _templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "third_code": fake.third_code,
        "secret_key": fake.secret_key,
        "base_url": fake.base_url,
        "poll_interval": 0.05,
    }


def _magictiger(fake: FakeMagicTiger, port: int, _templates: list[dict[str, Any]]) -> dict[str, Any]:
    fake.callback_url = f"http://127.0.0.1:{port}/callbacks/magictiger"  # its account-wide callback
    return {
        "base_url": fake.base_url,
        "api_token": fake.token,
        "poll_interval": 0.05,
        "enhance_types": [
            {"id": "enhance", "title": {"en": "Sharpen & enhance", "zh-Hans": "高清增强"}, "type": 1, "price": 9},
            {"id": "colorize", "title": "Colorize black & white", "type": 2, "price": 11, "outputs": "list"},
        ],
        "task_status": {"done": [2], "failed": [3]},
    }


def _wanxing(fake: FakeWanxing, _port: int, templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "base_url": fake.base_url,
        "app_key": fake.app_key,
        "app_secret": fake.app_secret,
        "templates": templates,
        "timeout": 60,
        "poll_interval": 0.05,
    }


#: The providers the bot calls over HTTP, each with its fake.
FAKES: tuple[ProviderFake, ...] = (
    ProviderFake(
        name="picwish",
        client=PicwishClient,
        fake=FakePicwish,
        fixture="picwish",
        section=_picwish,
        latin=("PicWish",),
        flow="order_idphoto",
        price=6,
        submit="create",
        polls=("query",),
        accepted=lambda fake: len(fake.tasks),
    ),
    ProviderFake(
        name="qq_anime",
        client=QQAnimeClient,
        fake=FakeQQAnime,
        fixture="qq",
        section=_qq_anime,
        latin=("QQ",),
        flow="order_anime",
        price=2,
        submit="process",
        polls=(),
        accepted=None,
    ),
    ProviderFake(
        name="hili",
        client=HiliClient,
        fake=FakeHili,
        fixture="hili",
        section=_hili,
        latin=("Hili",),
        flow="order_repair",
        price=8,
        submit="upload",
        polls=("status", "download"),
        accepted=lambda fake: len(fake.uploads),
    ),
    ProviderFake(
        name="magictiger",
        client=MagicTigerClient,
        fake=FakeMagicTiger,
        fixture="tiger",
        section=_magictiger,
        latin=("MagicTiger", "picma"),
        flow="order_enhance",
        price=9,
        submit="createtask",
        polls=("gettask",),
        accepted=lambda fake: len(fake.tasks),
        documents=2,
    ),
    ProviderFake(
        name="wanxing",
        client=WanxingClient,
        fake=FakeWanxing,
        fixture="wanxing",
        section=_wanxing,
        latin=(),  # 玩星
        flow="order_portrait",
        price=20,
        submit="swapface",
        polls=("query",),
        accepted=lambda fake: len(fake.jobs),
    ),
)

#: Providers with no fake: the local engine runs in the bot's own processes (tests/bot/test_local_*.py).
IN_PROCESS: dict[str, type[TaskProvider[Any]]] = {"local": LocalIdPhoto}

#: Every provider's client by name.
CLIENTS: dict[str, type[TaskProvider[Any]]] = {**{fake.name: fake.client for fake in FAKES}, **IN_PROCESS}

#: Modules only the wiring (bot/main/wiring.py) and the runner may import: every client's, the
#: local engine's worker and the web server.
CLIENT_MODULES = frozenset(
    {"bot.telegram.web", "providers.localengine.worker", *(client.__module__ for client in CLIENTS.values())}
)

#: The words in Latin letters of every provider's name.
LATIN_NAMES = frozenset(word for fake in FAKES for word in fake.latin)
