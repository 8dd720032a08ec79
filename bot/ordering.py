"""Placing an order: the business half of Confirm, with no Telegram in it.

The order's service must still be served, its stored photo still there; then one transaction
stores the job and holds its price (or refuses: too many unfinished jobs, not enough credits),
and the runner starts it before anything else can fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import offers
from bot.context import Order
from bot.storage.repo import Job, JobDraft

if TYPE_CHECKING:
    from bot.wiring import Wiring


class OrderUnavailable(Exception):
    """The order's service is no longer served (its provider was switched off)."""


class InputGone(Exception):
    """The order's stored photo was deleted meanwhile (retention, /forget)."""


async def place_order(
    services: Wiring, order: Order, *, user_id: int, chat_id: int, status_message_id: int | None
) -> Job:
    """Store the job, hold its price and start it; raises OrderUnavailable, InputGone, or the
    repository's TooManyJobs and InsufficientCredits (then nothing is held)."""
    provider = services.enabled_services.get(order.service)
    if provider is None or provider not in services.providers:
        raise OrderUnavailable(order.service)
    if order.input_ref and not services.media.exists(order.input_ref):
        raise InputGone(order.input_ref)
    draft = JobDraft(
        user_id=user_id,
        chat_id=chat_id,
        service=order.service,
        provider=provider,
        options=order.options,
        input_ref=order.input_ref,
        price=offers.price(order.service, order.options, services.settings),
        deadline_seconds=services.providers[provider].deadline,
        status_message_id=status_message_id,
    )
    job = await services.repo.create_job(draft, max_active=services.settings.jobs.max_per_user)
    services.runner.start(job.id)
    return job
