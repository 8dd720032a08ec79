"""The layout the architecture promises: services in one registry, dialogs that reach providers
only through what the providers declare, orders that are typed and survive the job row."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import ProviderSettings
from bot.services import registry
from bot.telegram.ui.i18n import LANGUAGES, catalog
from providers.hili import HiliClient
from providers.local import LocalIdPhoto
from providers.magictiger import MagicTigerClient
from providers.orders import IdPhotoOrder, RepairOrder
from providers.picwish import PicwishClient
from providers.qq_anime import QQAnimeClient
from providers.wanxing import WanxingClient
from tests.fakes.registry import CLIENT_MODULES, CLIENTS, FAKES, IN_PROCESS

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *ROOT.glob("bot/services/**/*.py"),
            *ROOT.glob("bot/telegram/conversations/*.py"),
            ROOT / "bot/telegram/ui/keyboards.py",
        ]
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_dialogs_import_no_provider_client_and_no_web_server(path):
    assert _imports(path) & CLIENT_MODULES == set()


def test_the_registry_lists_each_service_once_with_known_providers_and_texts():
    names = [service.name for service in registry.SERVICES]
    assert len(set(names)) == len(names) and names == list(registry.BY_NAME)
    configurable = set(ProviderSettings.model_fields)
    # tests/fakes/registry.py lists every provider once, with its client (and a fake, but for the
    # local engine, which runs in-process).
    assert configurable == set(CLIENTS) == set(registry.provider_names())
    assert len(FAKES) + len(IN_PROCESS) == len(CLIENTS)
    assert len({fake.fixture for fake in FAKES}) == len(FAKES)
    assert all(client.name == name for name, client in CLIENTS.items())
    for service in registry.SERVICES:
        assert service.providers and set(service.providers) <= configurable
        for lang in LANGUAGES:
            assert f"service.{service.name}" in catalog(lang)


def _defines_a_client(path: Path) -> bool:
    """Whether the module defines a class of ``TaskProvider[...]``."""
    return any(
        isinstance(node, ast.ClassDef) and any("TaskProvider" in ast.unparse(base) for base in node.bases)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def test_every_client_module_is_one_the_dialogs_may_not_import():
    """A module of providers/ that defines a client is in CLIENT_MODULES, which the test above
    reads: so a provider missing from tests/fakes/registry.py fails here too."""
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in ROOT.glob("providers/**/*.py")
        if _defines_a_client(path)
    }
    assert modules == {client.__module__ for client in CLIENTS.values()}
    assert modules < CLIENT_MODULES


def test_each_client_declares_what_its_dialog_reads():
    assert {"beauty", "sharpen", "thin_face", "outfit", "layout", "preview", "gradient", "custom_size"} < (
        PicwishClient.features
    )
    assert {"sheet_vertical", "sheet_white"} < PicwishClient.features
    assert "man_1" in PicwishClient.catalogs["outfits"] and PicwishClient.input_limits.max_side == 4096
    assert LocalIdPhoto.features == {"gradient", "custom_size"}
    assert HiliClient.catalogs["repair_modes"] == ("upscale", "repair", "colorize", "background")
    assert WanxingClient.input_limits.min_side == 640 and WanxingClient.input_limits.max_side == 2500
    templates = WanxingClient.reference_limits
    assert templates is not None and (templates.min_side, templates.max_side) == (800, 2000)
    # No provider's document says a task it accepted is free once dropped: a running job is cancelled
    # with a refund only where the operator says so (providers.magictiger.cancellable).
    assert not any(c.cancellable for c in CLIENTS.values())
    assert MagicTigerClient.drops_tasks and not any(
        c.drops_tasks for c in CLIENTS.values() if c is not MagicTigerClient
    )
    assert QQAnimeClient.input_limits.max_side == 1600
    assert all("JPEG" in client.input_limits.formats for client in CLIENTS.values())  # what the bot stores


def test_an_order_is_checked_when_built_and_read_back_from_its_row_unchanged():
    order = IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="438EDB", beauty=True)
    stored = json.loads(json.dumps(order.model_dump(mode="json")))  # as the job row keeps it
    assert IdPhotoOrder.model_validate(stored) == order
    with pytest.raises(ValidationError):
        IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, bg_color="#12345")
    with pytest.raises(ValidationError):
        RepairOrder(mode="background", rgb="red")
    # A row written by an older version, with a key no longer used, still reads.
    assert RepairOrder.model_validate({"mode": "repair", "repair_type": "sr,repair"}) == RepairOrder(mode="repair")
