"""Typed python-telegram-bot context: the per-user session and the bot's wiring."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from providers.localengine.findings import FaceFindings

if TYPE_CHECKING:
    from bot.wiring import Wiring


@dataclass
class InputPhoto:
    """A user photo that passed validation, normalised and stored."""

    ref: str
    width: int
    height: int
    #: What the face check found, once made.
    face: FaceFindings | None = None
    #: Held while the face check runs: a second tap waits for the first check instead of
    #: starting another.
    checking: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)


@dataclass
class IdPhotoDraft:
    """The ID photo order being put together; becomes the job's options on confirm."""

    spec_id: int
    bg_color: str = "FFFFFF"
    color_name: str = "white"
    #: Bottom colour of a top-to-bottom gradient background.
    bg_color2: str | None = None
    beauty: bool = False
    clothes_id: str | None = None
    layout_size: str | None = None
    preview: bool = False
    last_id: str | None = None
    input_ref: str | None = None
    #: Re-renders of a finished photo skip the options step.
    rerender: bool = False

    def options(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id,
            "bg_color": self.bg_color,
            "bg_color2": self.bg_color2,
            "color_name": self.color_name,
            "beauty": self.beauty,
            "clothes_id": self.clothes_id,
            "layout_size": self.layout_size,
            "preview": self.preview,
            "last_id": self.last_id,
        }


@dataclass
class Order:
    """An order at the summary step: what Confirm turns into a job."""

    service: str
    options: dict[str, Any]
    input_ref: str | None
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))


@dataclass
class Session:
    lang: str | None = None
    photo: InputPhoto | None = None
    draft: IdPhotoDraft | None = None
    order: Order | None = None
    #: Category index or search text behind the spec list on screen.
    spec_source: str = ""
    anime_style: str = ""
    #: When the user last sent an update (time.monotonic); quiet sessions are dropped.
    touched: float = field(default_factory=time.monotonic)


class BotData:
    """python-telegram-bot creates this empty; :func:`bot.wiring.open_wiring` fills it."""

    wiring: Wiring


class Context(CallbackContext[ExtBot, Session, dict, BotData]):
    @property
    def wiring(self) -> Wiring:
        return self.bot_data.wiring

    @property
    def session(self) -> Session:
        assert self.user_data is not None
        return self.user_data

    @property
    def lang(self) -> str:
        """The user's language, set for every update by ``conversations.common.register_user``."""
        return self.session.lang or "en"


CONTEXT_TYPES = ContextTypes(context=Context, user_data=Session, chat_data=dict, bot_data=BotData)
PhotoBotApp = Application[ExtBot, Context, Session, dict, BotData, Any]
