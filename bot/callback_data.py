"""The one place callback_data is built and parsed: ``prefix:action[:arg...]``, at most 64 bytes.

Handlers register with the ``pattern()`` of the same constants they build with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64


class Prefix(StrEnum):
    MENU = "m"  # service menu
    IDPHOTO = "i"  # ID photo conversation
    ANIME = "a"  # anime conversation
    REPAIR = "r"  # repair conversation
    ENHANCE = "e"  # enhance conversation
    PORTRAIT = "p"  # AI portrait conversation
    ORDER = "o"  # summary: confirm / cancel
    JOB = "j"  # running or finished job: cancel, retry
    LANG = "l"  # language switch


@dataclass(frozen=True)
class Callback:
    prefix: Prefix
    action: str
    args: tuple[str, ...] = ()

    def arg(self, index: int = 0) -> str:
        return self.args[index]


def build(prefix: Prefix, action: str, *args: object) -> str:
    data = ":".join([prefix.value, action, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data longer than {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> Callback | None:
    if not data:
        return None
    parts = data.split(":")
    if len(parts) < 2:
        return None
    try:
        prefix = Prefix(parts[0])
    except ValueError:
        return None
    return Callback(prefix, parts[1], tuple(parts[2:]))


def pattern(prefix: Prefix, *actions: str) -> re.Pattern[str]:
    """Regex for ``CallbackQueryHandler``: the prefix and, if given, one of the actions."""
    if actions:
        return re.compile(rf"^{prefix.value}:({'|'.join(map(re.escape, actions))})(:|$)")
    return re.compile(rf"^{prefix.value}:")
