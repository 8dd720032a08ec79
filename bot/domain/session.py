"""What the bot remembers of one user between updates: the photo they sent and the order they
are putting together. Plain data, kept by python-telegram-bot's persistence (bot/telegram/)."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from providers.localengine.findings import FaceFindings
from providers.orders import IdPhotoOrder, Order


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
    #: Another size for the order on the summary with this nonce (``PendingOrder.extras``): its
    #: colour chosen, it joins that order instead of becoming one.
    extra_for: str | None = None

    def change(self, **fields: object) -> None:
        """The order with ``fields`` changed, validated again."""
        self.order = IdPhotoOrder.model_validate({**self.order.model_dump(), **fields})


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


@dataclass(frozen=True)
class SpecList:
    """Where the spec list on screen came from: a category of the catalog (its index), or a
    search (its text)."""

    category: int | None = None
    query: str = ""

    def stored(self) -> dict[str, int | str]:
        return {"category": self.category} if self.category is not None else {"query": self.query}

    @classmethod
    def from_stored(cls, value: object) -> SpecList | None:
        """As :meth:`stored` keeps it; also the "cat:3" / "q:text" of sessions kept before."""
        if isinstance(value, dict):
            return cls(category=value.get("category"), query=value.get("query", ""))
        if isinstance(value, str) and value.startswith("cat:"):
            return cls(category=int(value[4:]))
        if isinstance(value, str) and value.startswith("q:"):
            return cls(query=value[2:])
        return None


@dataclass
class Session:
    lang: str | None = None
    photo: InputPhoto | None = None
    draft: IdPhotoDraft | None = None
    order: PendingOrder | None = None
    #: The category or search behind the spec list on screen.
    spec_list: SpecList | None = None
    #: The custom spec whose size the user is typing.
    sizing_spec: int | None = None
    anime_style: str = ""
    #: An admin's refund waiting for "yes" (the credits were spent): (charge id, nonce).
    pending_refund: tuple[str, str] | None = None
    #: When the user last sent an update (time.monotonic); quiet sessions are dropped.
    touched: float = field(default_factory=time.monotonic)
