"""The one place callback data is built and parsed: one typed class per kind of button.

Callback data is ``prefix:action[:arg...]``, at most 64 bytes (Telegram's limit). Each action is
a frozen dataclass whose fields are its arguments, ``str`` or ``int``:

    SpecChoice(3108).data()            -> "i:spec:3108"
    SpecChoice.parse("i:spec:3108")    -> SpecChoice(spec_id=3108)
    SpecChoice.parse("i:spec:x")       -> None (forged or stale: the handler answers and stops)
    SpecChoice.pattern()               -> what its CallbackQueryHandler is registered with

A service may declare its own actions beside its dialog; the prefix and action pair must be new.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self

MAX_BYTES = 64
#: Whole numbers in callback data: ASCII digits, short (no "١٢", "+5", "1e9" or 500 digits).
_NUMBER = re.compile(r"[0-9]{1,18}")


class Prefix(StrEnum):
    """The prefixes of the buttons outside any service; each service declares its own ``PREFIX``
    beside its buttons (bot/services/idphoto/buttons.py: "i", anime "a", repair "r", enhance "e",
    portrait "p")."""

    MENU = "m"  # service menu
    ORDER = "o"  # summary: confirm / cancel
    JOB = "j"  # running or finished job: cancel, retry
    LANG = "l"  # language switch
    BUY = "b"  # credit packs, and an admin's refund
    HISTORY = "h"  # /orders: past orders, their files again


class Action:
    """Base of every button's callback data; see the module docstring."""

    prefix: ClassVar[str]
    action: ClassVar[str]
    _types: ClassVar[tuple[type, ...]]
    _taken: ClassVar[set[tuple[str, str]]] = set()

    def __init_subclass__(cls, *, prefix: str, action: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (str(prefix), action) in Action._taken:
            raise TypeError(f"callback action {prefix}:{action} is declared twice")
        Action._taken.add((str(prefix), action))
        cls.prefix, cls.action = str(prefix), action

    @classmethod
    def _arg_types(cls) -> tuple[type, ...]:
        if "_types" not in cls.__dict__:
            hints = typing.get_type_hints(cls)
            types = tuple(hints[field.name] for field in dataclasses.fields(cls))  # type: ignore[arg-type]
            if not set(types) <= {str, int}:
                raise TypeError(f"{cls.__name__}: callback arguments are str or int")
            cls._types = types
        return cls._types

    def data(self) -> str:
        """The callback data of this button."""
        values = [str(getattr(self, field.name)) for field in dataclasses.fields(self)]  # type: ignore[arg-type]
        if any(":" in value or not value for value in values):
            raise ValueError(f"{type(self).__name__}: an argument is empty or holds ':': {values!r}")
        data = ":".join([self.prefix, self.action, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data longer than {MAX_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        """The action ``data`` stands for, or None when it is not this action's (well-formed) data."""
        if not data:
            return None
        prefix, _, rest = data.partition(":")
        action, _, args = rest.partition(":")
        if (prefix, action) != (cls.prefix, cls.action):
            return None
        values = args.split(":") if args else []
        types = cls._arg_types()
        if len(values) != len(types):
            return None
        converted: list[object] = []
        for value, kind in zip(values, types, strict=True):
            if kind is int:
                if not _NUMBER.fullmatch(value):
                    return None
                converted.append(int(value))
            elif not value:
                return None
            else:
                converted.append(value)
        return cls(*converted)

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """For ``CallbackQueryHandler``: every press of this kind of button (the handler parses it)."""
        return re.compile(rf"^{re.escape(cls.prefix)}:({re.escape(cls.action)})(:|$)")

    def exact(self) -> re.Pattern[str]:
        """For ``CallbackQueryHandler``: this one button only."""
        return re.compile("^" + re.escape(self.data()) + "$")


# --- menu and commands --------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceChoice(Action, prefix=Prefix.MENU, action="svc"):
    service: str


@dataclass(frozen=True)
class ServiceFor(Action, prefix=Prefix.MENU, action="svcp"):
    """A service's button on the menu under one photo or album (``photo``: its menu key,
    bot/domain/session.menu_key); a menu of before the key was on it is a ServiceChoice."""

    service: str
    photo: str

    @classmethod
    def of_service(cls, service: str) -> re.Pattern[str]:
        """For ``CallbackQueryHandler``: every photo's button of ``service``."""
        return re.compile(rf"^{re.escape(cls.prefix)}:{re.escape(cls.action)}:{re.escape(service)}:[^:]+$")


@dataclass(frozen=True)
class NewPhoto(Action, prefix=Prefix.MENU, action="new"):
    pass


@dataclass(frozen=True)
class ForgetAnswer(Action, prefix=Prefix.MENU, action="forget"):
    answer: str  # "yes" or "no"


@dataclass(frozen=True)
class SetLanguage(Action, prefix=Prefix.LANG, action="set"):
    code: str


# --- buying credits ------------------------------------------------------------------------


@dataclass(frozen=True)
class BuyMenu(Action, prefix=Prefix.BUY, action="menu"):
    """ "Buy credits": the packs."""


@dataclass(frozen=True)
class BuyPack(Action, prefix=Prefix.BUY, action="pack"):
    pack_id: str


@dataclass(frozen=True)
class RefundAnswer(Action, prefix=Prefix.BUY, action="refund"):
    """An admin's answer to "refund although the credits were spent?"."""

    nonce: str
    answer: str  # "yes" | "no"


# --- summary and jobs -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmOrder(Action, prefix=Prefix.ORDER, action="ok"):
    nonce: str


@dataclass(frozen=True)
class DropOrder(Action, prefix=Prefix.ORDER, action="no"):
    nonce: str


@dataclass(frozen=True)
class CancelJob(Action, prefix=Prefix.JOB, action="cancel"):
    job_id: str


@dataclass(frozen=True)
class RetryJob(Action, prefix=Prefix.JOB, action="retry"):
    job_id: str


# --- past orders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersPage(Action, prefix=Prefix.HISTORY, action="page"):
    """/orders from its ``offset``-th newest order on."""

    offset: int


@dataclass(frozen=True)
class SendAgain(Action, prefix=Prefix.HISTORY, action="get"):
    """A finished order's files again, at no charge."""

    job_id: str
