"""Placing an order: the business half of Confirm, with no Telegram in it.

The order's service must still be served, its stored photo still there; then one transaction
stores the job and holds its price (or refuses: too many unfinished jobs, not enough credits),
and the workers are told of it (bot/jobs/runner.py) before anything else can fail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.config import Settings
from bot.domain.session import PendingOrder
from bot.jobs.runner import JobRunner
from bot.ops.health import ProviderHealth
from bot.ops.media import MediaStore
from bot.storage.jobs import AlreadyPlaced, Job, JobDraft, Jobs, TooManyJobs, TooManyPreviews
from bot.storage.ledger import InsufficientCredits, OwesCredits
from providers.base import TaskProvider
from providers.orders import Order


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
    #: pack had been spent: ``owed`` credits must be bought back first), "changed" (another
    #: provider serves it since the summary was shown: failover or recovery), "previews" (as many
    #: free previews in the last hour as one may have: the next in ``wait`` seconds).
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


async def place_order(
    desk: OrderDesk, order: PendingOrder, *, user_id: int, chat_id: int, status_message_id: int | None
) -> Job | Refusal:
    """Store the job, hold its price and start it; or say why not (then nothing is held)."""
    provider = order.provider if order.pinned else desk.enabled_services.get(order.service)
    if provider is None or provider not in desk.providers:
        return Refusal("unavailable")
    if order.provider and provider != order.provider:
        # Failover (or recovery) since the summary: another engine, maybe another price.
        return Refusal("changed")
    if order.input_ref and not desk.media.exists(order.input_ref):
        return Refusal("input_gone")
    draft = JobDraft(
        user_id=user_id,
        chat_id=chat_id,
        service=order.service,
        provider=provider,
        options=order.order.model_dump(mode="json"),
        input_ref=order.input_ref,
        price=desk.price(order.service, order.order, provider),
        deadline_seconds=desk.providers[provider].deadline,
        status_message_id=status_message_id,
        order_key=order.nonce,
    )
    # Free previews that are the finished photo (the local engine's) are bounded, so that they
    # cannot keep the provider busy.
    previews = desk.providers[provider].kept_previews_per_hour
    try:
        job = await desk.jobs.create(draft, max_active=desk.settings.jobs.max_per_user, previews_per_hour=previews)
    except AlreadyPlaced as err:  # confirmed twice (a bot process took over in between): the job stands
        placed = await desk.jobs.get(err.job_id)
        assert placed is not None
        return placed
    except TooManyJobs as err:
        return Refusal("too_many", active=err.active)
    except TooManyPreviews as err:
        return Refusal("previews", made=err.made, wait=err.wait)
    except InsufficientCredits as err:
        return Refusal("not_enough", price=err.price, balance=err.balance)
    except OwesCredits as err:
        return Refusal("owes", owed=err.owed)
    await desk.health.offered_again(provider)  # a provider on trial after being down gets one order
    await desk.runner.announce(job.id)
    return job
