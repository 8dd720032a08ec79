"""Parsing YAML text safely, as fast as the installed PyYAML can."""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's C parser where PyYAML was built with it (its wheels are): a tenth of the pure-Python
#: parser's time. The spec catalog alone took 60 ms to parse, on every cold start of the engine.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str) -> Any:
    """The plain data (dicts, lists, strings, numbers) in ``text``; no tags that build objects."""
    return yaml.load(text, Loader=_LOADER)
