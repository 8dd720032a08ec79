"""Locale catalogs (``bot/telegram/ui/texts/<lang>.yaml``): call sites use a key and named placeholders."""

from __future__ import annotations

import os
import string
from functools import cache
from importlib import resources
from typing import Any

from providers import yamltext

LANGUAGES = ("en", "zh-Hans")
DEFAULT_LANGUAGE = "en"


def telegram_length(text: str) -> int:
    """Length as Telegram counts a message's text or a caption: in UTF-16 code units (an emoji
    such as 📏 counts two)."""
    return len(text.encode("utf-16-le")) // 2


def pick_language(telegram_code: str | None) -> str:
    """Map a Telegram ``language_code`` onto a catalog: any Chinese is Simplified Chinese."""
    if telegram_code and telegram_code.lower().startswith("zh"):
        return "zh-Hans"
    return DEFAULT_LANGUAGE


def environment_language() -> str:
    """The catalog for the command line: Chinese when the locale (LC_ALL, LC_MESSAGES, LANG) is."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return pick_language(value)
    return DEFAULT_LANGUAGE


@cache
def catalog(language: str) -> dict[str, str]:
    text = (resources.files("bot.telegram.ui.texts") / f"{language}.yaml").read_text(encoding="utf-8")
    return _flatten(yamltext.parse(text))


def _flatten(node: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


class _Formatter(string.Formatter):
    """``str.format`` plus plural forms: ``{n:credit|credits}`` is "credit" when n is 1, else
    "credits" (English has two forms; Chinese templates need none). A number may come as text,
    formatted by the caller (days and minutes of the settings, which may be fractions: "1", "0.5")."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            return one if _is_one(value) else other
        return str(super().format_field(value, format_spec))


def _is_one(value: object) -> bool:
    if isinstance(value, str):
        try:
            return float(value) == 1
        except ValueError:
            return False
    return value == 1


_FORMATTER = _Formatter()


def t(language: str, key: str, /, **values: object) -> str:
    """The text for ``key`` in ``language`` (English when the key is missing there)."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    template = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE)[key]
    if not values:
        return template
    # str.format is what the plural-aware formatter does for every other field, about four times
    # faster (menus format dozens of texts and labels per update); only a "|" may need the latter.
    return _FORMATTER.format(template, **values) if "|" in template else template.format(**values)


def known(key: str) -> bool:
    """Whether the catalogs have a text for ``key``."""
    return key in catalog(DEFAULT_LANGUAGE)


def localized(title: str | dict[str, str], language: str) -> str:
    """A configured title: a plain string, or one per language."""
    if isinstance(title, str):
        return title
    return title.get(language) or title.get(DEFAULT_LANGUAGE) or next(iter(title.values()), "")
