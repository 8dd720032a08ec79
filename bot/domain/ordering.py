"""Placing an order: the business half of Confirm, with no Telegram in it.

The order's service must still be served, its stored photo(s) still there; then one transaction
stores the job and holds its price (or refuses: too many unfinished orders, not enough credits),
and the workers are told of it (bot/jobs/runner.py) before anything else can fail. An order with
extras (more ID-photo sizes from the same photo) is one job per part, all stored and held in
that one transaction: one Confirm, one hold of the total split over the parts, each settled on
its own (a part that fails or is refused is given back, the others are charged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from bot.config import Settings
from bot.domain.session import PendingOrder
from bot.jobs.runner import JobRunner
from bot.ops.health import ProviderHealth
from bot.ops.media import MediaStore
from bot.ops.retention import SWEPT_FOLDERS
from bot.storage.jobs import AlreadyPlaced, Job, JobDraft, Jobs, JobState, TooManyJobs, TooManyPreviews
from bot.storage.ledger import InsufficientCredits, OwesCredits
from bot.storage.links import linked_ref
from providers.base import TaskProvider
from providers.orders import Order


class OrderUnavailable(ValueError):
    """An order that cannot be priced any more: what it names left the configuration since it was
    put together (an enhance type the operator removed, read back from a kept session or tried
    again from /orders). Its summary and its Confirm say the service is unavailable."""


class PriceList(Protocol):
    """What pricing an order reads: the settings and each service's price."""

    @property
    def settings(self) -> Settings: ...

    def price(self, service: str, order: Order, provider: str) -> int:
        """Credits for ``order`` of ``service`` made by ``provider``."""
        ...


def extra_price(price: int, share: float) -> int:
    """An extra part's price: ``share`` (``prices.extra_spec``) of its own ``price``, rounded up to
    a whole credit. Worked out on the share as written (0.3 of 10 is 3, where the float product
    3.0000000000000004 would round up to 4)."""
    return math.ceil(Fraction(str(share)) * price)


def part_prices(prices: PriceList, order: PendingOrder, provider: str) -> list[int]:
    """The price of each part of ``order``: the order itself at its own price (an extra size tried
    again, ``as_extra``, at the extra's), then each extra at ``prices.extra_spec`` of its own
    (:func:`extra_price`); an album's photos each at its own full price."""
    if order.album:  # one photo each: every one at its own full price
        return [prices.price(order.service, part, provider) for part in (order.order, *(e.order for e in order.extras))]
    share = prices.settings.prices.extra_spec
    first = prices.price(order.service, order.order, provider)
    first = extra_price(first, share) if order.as_extra else first
    return [first] + [extra_price(prices.price(order.service, e.order, provider), share) for e in order.extras]


def order_again(job: Job, order: Order, first: Job | None, made_key: str | None = None) -> PendingOrder:
    """The order that tries the failed ``job`` again (``order``, as its service makes it again). An
    extra size of an order of several is priced as it was there (``as_extra``), once (its order key
    is the failed job's, so a second Confirm of the same Try again finds the first), while that
    order's ``first`` job, the size at full price, was paid: done or under way. Where it failed or
    was cancelled too, nothing was paid at full price, and the size is a whole order again (a
    review found a full size sold at half price). A photo of an album is a whole order again, at its
    full price. An order whose result its provider made already (``made_key``: a bought local
    preview) is placed with that provider again, under that key: before, it went to whoever served
    the service now, which made another photo (of the finished one) at its own price."""
    if made_key is not None:
        return PendingOrder(job.service, order, job.input_ref, nonce=made_key, provider=job.provider, pinned=True)
    again = PendingOrder(job.service, order, job.input_ref)
    extra = job.order_group is not None and job.order_group != job.id and not job.options.get("album_photo")
    if extra and first is not None and first.state not in (JobState.FAILED, JobState.CANCELLED):
        again.as_extra, again.nonce = True, f"re{job.id}"
    return again


class OrderDesk(Protocol):
    """What placing an order reaches (the bot's wiring has it all)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def jobs(self) -> Jobs: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def health(self) -> ProviderHealth: ...

    @property
    def runner(self) -> JobRunner: ...

    @property
    def providers(self) -> Mapping[str, TaskProvider[Any]]: ...

    @property
    def enabled_services(self) -> Mapping[str, str]: ...

    def price(self, service: str, order: Order, provider: str) -> int:
        """Credits for ``order`` of ``service`` made by ``provider``."""
        ...


@dataclass(frozen=True)
class Refusal:
    """Why an order was not placed; nothing was held."""

    #: "unavailable" (its provider was switched off), "input_gone" (its photo was deleted meanwhile:
    #: retention, /forget), "too_many" (unfinished jobs), "not_enough" (credits), "owes" (a refunded
    #: pack had been spent: ``owed`` credits must be bought back first), "changed" (a price changed
    #: since the person saw it, or another
    #: provider serves it since the summary was shown: failover or recovery), "previews" (as many
    #: free previews in the last hour as one may have: the next in ``wait`` seconds), "bought_alone"
    #: (other sizes with a preview that was bought on its own since, from another copy of it).
    reason: str
    active: int = 0
    made: int = 0
    wait: float = 0.0
    price: int = 0
    balance: int = 0
    owed: int = 0

    @property
    def minutes(self) -> int:
        """``wait`` in whole minutes, rounded up."""
        return max(1, math.ceil(self.wait / 60))


@dataclass(frozen=True)
class PlacedBefore:
    """The order had been placed already, and stands: its Confirm handled a second time (by a bot
    process taking over from one that died before marking the press handled), another copy of its
    summary confirmed (Try again pressed twice), a preview's Buy pressed again. Nothing new was
    held or started; ``job`` (the first part's) is as it stands now, maybe long delivered, so the
    summary it owns is not shown as queued again."""

    job: Job


async def place_order(
    desk: OrderDesk,
    order: PendingOrder,
    *,
    user_id: int,
    chat_id: int,
    status_message_id: int | None,
    announce: bool = True,
) -> Job | PlacedBefore | Refusal:
    """Store the job (one per part), hold its price and start it; or say why not (then nothing is
    held). The first part's job, whose status message is the summary. Without ``announce`` the
    workers are told by :func:`announce_order`, once the caller has shown the status message as it
    wants it before the job's own edits begin."""
    provider = order.provider if order.pinned else desk.enabled_services.get(order.service)
    if provider is None or provider not in desk.providers:
        return Refusal("unavailable")
    if order.provider and provider != order.provider:
        # Failover (or recovery) since the summary: another engine, maybe another price.
        return Refusal("changed")
    parts = [(order.order, order.input_ref), *((extra.order, extra.input_ref) for extra in order.extras)]
    if any(ref and not desk.media.claim(ref) for _, ref in parts):  # claim: see bot/ops/retention.py
        return Refusal("input_gone")
    try:
        prices = part_prices(desk, order, provider)
    except OrderUnavailable:
        return Refusal("unavailable")
    if order.quoted is not None and sum(prices) != order.quoted:
        # The operator changed a price since the person saw it: they see the new one first.
        return Refusal("changed")
    # One job per part; only the first has the summary as its status message (each extra says
    # how it went in a message of its own, naming its size).
    drafts = [
        JobDraft(
            user_id=user_id,
            chat_id=chat_id,
            service=order.service,
            provider=provider,
            options=part.model_dump(mode="json"),
            input_ref=input_ref,
            price=price,
            deadline_seconds=desk.providers[provider].deadline,
            status_message_id=status_message_id if index == 0 else None,
            order_key=order.nonce,
        )
        for index, ((part, input_ref), price) in enumerate(zip(parts, prices, strict=True))
    ]
    # Photos the options stand for (a portrait's source) are claimed too: the sweep keeps them.
    linked_photos = {ref for draft in drafts for value in draft.options.values() if (ref := linked_ref(value))}
    if not all(desk.media.claim(ref) for ref in linked_photos if ref.split("/")[0] in SWEPT_FOLDERS):
        return Refusal("input_gone")
    # Free previews that are the finished photo (the local engine's) are bounded, so that they
    # cannot keep the provider busy.
    previews = desk.providers[provider].kept_previews_per_hour
    try:
        jobs = await desk.jobs.create_many(
            drafts, max_active=desk.settings.jobs.max_per_user, previews_per_hour=previews
        )
    except AlreadyPlaced as err:  # confirmed twice (a bot process took over in between): the job stands
        if err.parts < len(drafts):  # its preview was bought on its own meanwhile (another copy of it)
            return Refusal("bought_alone")
        placed = await desk.jobs.get(err.job_id)
        assert placed is not None
        return PlacedBefore(placed)
    except TooManyJobs as err:
        return Refusal("too_many", active=err.active)
    except TooManyPreviews as err:
        return Refusal("previews", made=err.made, wait=err.wait)
    except InsufficientCredits as err:
        return Refusal("not_enough", price=err.price, balance=err.balance)
    except OwesCredits as err:
        return Refusal("owes", owed=err.owed)
    await desk.health.offered_again(provider)  # a provider on trial after being down gets one order
    if announce:
        for job in jobs:
            await desk.runner.announce(job.id)
    return jobs[0]


async def announce_order(desk: OrderDesk, first: Job) -> None:
    """Tell the workers of every job of the order whose first part is ``first`` (placed without
    announcing it). A worker that missed it finds it at its next look for jobs."""
    parts = await desk.jobs.of_order(first.order_group) if first.order_group else [first]
    for job in parts:
        await desk.runner.announce(job.id)
