"""Typed python-telegram-bot context: the per-user session and the bot's wiring."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from providers.localengine.findings import FaceFindings
from providers.orders import IdPhotoOrder, Order

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

    def __deepcopy__(self, memo: dict[int, Any]) -> InputPhoto:
        """A copy with a lock of its own (python-telegram-bot copies a session before it writes
        it down, maybe while a face check holds this one)."""
        return InputPhoto(self.ref, self.width, self.height, copy.deepcopy(self.face, memo))


@dataclass
class IdPhotoDraft:
    """The ID photo being put together: its order so far and the photo it is made from."""

    order: IdPhotoOrder
    input_ref: str | None = None
    #: Re-renders of a finished photo skip the options step.
    rerender: bool = False

    def change(self, **fields: object) -> None:
        """The order with ``fields`` changed, validated again."""
        self.order = IdPhotoOrder.model_validate({**self.order.model_dump(), **fields})


@dataclass
class PendingOrder:
    """An order at the summary step: what Confirm turns into a job."""

    #: The service's name (``bot.services.registry``).
    service: str
    order: Order
    input_ref: str | None
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))
    #: The provider the summary named (and priced by); Confirm places it only with that one.
    provider: str = ""
    #: Placed with ``provider`` whichever serves the service now: its photo is made already (a
    #: bought preview), nothing is left for another to do.
    pinned: bool = False


@dataclass
class Session:
    lang: str | None = None
    photo: InputPhoto | None = None
    draft: IdPhotoDraft | None = None
    order: PendingOrder | None = None
    #: Category index or search text behind the spec list on screen.
    spec_source: str = ""
    #: The custom spec whose size the user is typing.
    sizing_spec: int | None = None
    anime_style: str = ""
    #: An admin's refund waiting for "yes" (the credits were spent): (charge id, nonce).
    pending_refund: tuple[str, str] | None = None
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
