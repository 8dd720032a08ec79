"""What the bot remembers of one user between updates: the photo they sent, the order on the
summary and each service's own dialog state (``ServiceState``, declared by the service). Plain
data, kept by python-telegram-bot's persistence (bot/telegram/)."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from providers.localengine.findings import FaceFindings
from providers.orders import Order


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
class AlbumPhoto:
    """One item of an album (a Telegram media group), numbered as it was sent: its stored photo,
    or why it could not be taken (a locale key: too large, not a photo...)."""

    number: int
    photo: InputPhoto | None = None
    refusal: str | None = None


@dataclass
class Album:
    """The album the person sent last (bot/storage/albums.py), made into one order of ID photos:
    its ``media_group_id`` and its items, those refused on the way in among them."""

    key: str
    photos: list[AlbumPhoto]

    @property
    def usable(self) -> list[AlbumPhoto]:
        return [photo for photo in self.photos if photo.photo is not None]

    def refs(self) -> list[str]:
        return [photo.photo.ref for photo in self.photos if photo.photo is not None]


@dataclass(frozen=True)
class ExtraOrder:
    """One more order of the same service placed with a :class:`PendingOrder` by the same Confirm
    (another ID-photo size from the same photo), with the stored photo it is made from."""

    order: Order
    input_ref: str | None


@dataclass
class PendingOrder:
    """An order at the summary step: what Confirm turns into a job (one per part: the order and
    its ``extras``)."""

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
    #: More orders placed with it, each its own job, priced at ``prices.extra_spec`` of its own
    #: price (bot/domain/ordering.part_prices).
    extras: list[ExtraOrder] = field(default_factory=list)
    #: Try again of an extra size that failed: priced as it was in its order, as an extra.
    as_extra: bool = False
    #: An album's order (one photo per part, each at its own full price), and what its summary
    #: says of the album's photos: which are made, which were refused and why.
    album: bool = False
    notes: str = ""
    #: The total the person was shown (the summary's price, or the one on a preview's Confirm):
    #: Confirm places the order only at it; a price changed since shows the summary again.
    quoted: int | None = None


class ServiceState(BaseModel):
    """One service's own part of a session: what its dialog remembers between two steps (the ID
    photo's draft, the anime style chosen). Each service declares its model
    (``Service.state_model``, bot/telegram/context.py); the session keeps one per service by name,
    the shared session knows none of their fields, and persistence writes them as JSON and reads
    them back through the registry (bot/services/registry.state_models)."""

    # A kept state written by an older version may carry a key no longer used; it still reads.
    model_config = ConfigDict(extra="ignore")

    @classmethod
    def from_old_session(cls, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Its fields as a session kept before services had states of their own held them (at the
        session's top level), to be validated as this model; None when that session held none."""
        return None

    @property
    def drafting(self) -> bool:
        """Whether it holds an order being put together (/cancel then says it was dropped)."""
        return False

    def drop_draft(self) -> None:
        """Forget the order being put together (a new photo, /cancel); what the dialog shows around
        it (the spec list it came from) stays. By default nothing: a choice is not a draft."""


StateT = TypeVar("StateT", bound=ServiceState)


#: Characters of a photo's (or an album's) key on its service menu's buttons.
MENU_KEY_CHARS = 10


def menu_key(name: str) -> str:
    """A short key of a stored photo's ref (``inputs/<uuid hex>.jpg``) or an album's key (its media
    group id), for its service menu's buttons: a menu under an earlier photo, which is no longer
    kept, must not start a dialog on the latest one."""
    return "".join(ch for ch in name.rsplit("/", 1)[-1].split(".", 1)[0] if ch.isalnum())[-MENU_KEY_CHARS:]


@dataclass
class Session:
    lang: str | None = None
    photo: InputPhoto | None = None
    #: The album sent last instead of one photo (the two never stand together: each drops the other).
    album: Album | None = None
    order: PendingOrder | None = None
    #: Each service's own dialog state by the service's name, as the service declares it
    #: (``ServiceState``); a service's is made when its dialog first stores something.
    services: dict[str, ServiceState] = field(default_factory=dict)
    #: An admin's refund waiting for "yes" (the credits were spent): (charge id, nonce).
    pending_refund: tuple[str, str] | None = None
    #: When the user last sent an update (time.monotonic); quiet sessions are dropped.
    touched: float = field(default_factory=time.monotonic)

    def state(self, service: str, model: type[StateT]) -> StateT:
        """The state ``service`` keeps in this session (its model ``model``), made empty on first use."""
        state = self.services.get(service)
        if not isinstance(state, model):
            state = self.services[service] = model()
        return state

    @property
    def menu_key(self) -> str | None:
        """The key of the photo (or album) a service menu now acts on: :func:`menu_key` of it."""
        if self.album is not None:
            return menu_key(self.album.key)
        return menu_key(self.photo.ref) if self.photo is not None else None

    def unordered_refs(self) -> list[str]:
        """The stored photos this session holds: the photo sent, or the album's."""
        refs = [self.photo.ref] if self.photo is not None else []
        return refs + (self.album.refs() if self.album is not None else [])

    @property
    def drafting(self) -> bool:
        """Whether an order is being put together: on the summary, or in a service's dialog."""
        return self.order is not None or any(state.drafting for state in self.services.values())

    def drop_drafts(self) -> None:
        """Forget the orders being put together (a new photo, /cancel): the summary's and each
        service's draft; the photo and what the dialogs show around their drafts stay."""
        self.order = None
        for state in self.services.values():
            state.drop_draft()
