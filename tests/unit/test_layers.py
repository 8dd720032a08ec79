"""The layers of bot/ (docs/architecture.md), kept by reading every module's imports, those made
only for type checking and inside functions included: imports run one way, down the layers; the
folders below the Telegram layer never import python-telegram-bot; no module reaches itself
through others; services reach the bot's parts through their context, never the composition root."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Each layer by its package, bottom up; a module may import its own layer and those below.
LAYERS: dict[str, int] = {
    "bot.config": 0,
    "bot.roles": 0,
    "bot.storage": 1,
    "bot.ops": 2,
    "bot.domain": 3,
    "bot.jobs": 3,
    "bot.telegram": 4,
    "bot.services": 5,
    "bot.main": 6,
    "bot.__main__": 6,
}
#: The layers that know nothing of Telegram.
TELEGRAM_FREE = 3


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.glob("bot/**/*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports, anywhere in it (a name imported from a package counts as its
    module when it is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                member = f"{node.module}.{alias.name}"
                found.add(member if member in MODULES else node.module)
    return found - {name}


def _layer(name: str) -> int | None:
    return next((rank for package, rank in LAYERS.items() if name == package or name.startswith(package + ".")), None)


def test_every_module_has_a_layer():
    assert [name for name in MODULES if name != "bot" and _layer(name) is None] == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "bot"))
def test_imports_run_down_the_layers(name):
    rank = _layer(name)
    assert rank is not None
    upward = sorted(other for other in _imports(name) if (r := _layer(other)) is not None and r > rank)
    assert upward == []
    if rank <= TELEGRAM_FREE:
        assert sorted(other for other in _imports(name) if other.split(".")[0] == "telegram") == []


def test_no_module_imports_itself_through_others():
    graph = {name: {other for other in _imports(name) if other in MODULES} for name in MODULES}
    circles = []
    for start in graph:  # a path back to ``start``, depth first
        seen, stack = set(), [(start, [start])]
        while stack:
            node, path = stack.pop()
            for other in graph[node]:
                if other == start:
                    circles.append(path)
                elif other not in seen:
                    seen.add(other)
                    stack.append((other, [*path, other]))
    assert circles == []


def test_services_do_not_reach_the_composition_root():
    services = [name for name in MODULES if name.startswith("bot.services")]
    assert services and [name for name in services if any(o.startswith("bot.main") for o in _imports(name))] == []


@pytest.mark.parametrize(
    "module",
    ["bot.jobs.runner", "bot.domain.ordering", "bot.storage.repositories", "bot.ops.stats", "bot.main.cli.studio"],
)
def test_the_telegram_free_layers_load_no_telegram(module):
    """Importing them for real (a fresh interpreter) loads no python-telegram-bot: the command line's
    ``photobot idphoto`` (bot.main.cli.studio) neither, a cold start has its photo to make."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram'))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bot.services")))
def test_services_reach_the_bot_through_their_narrow_deps(name):
    """A service reads ``context.deps`` (bot/telegram/context.ServiceDeps), never the whole wiring."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    reached = sorted(
        {node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "wiring"}
        | {node.lineno for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "Wiring"}
    )
    assert reached == []
