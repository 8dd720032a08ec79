"""Placing an order: the business half of Confirm, with no Telegram in it.

The order's service must still be served, its stored photo still there; then one transaction
stores the job and holds its price (or refuses: too many unfinished jobs, not enough credits),
and the runner starts it before anything else can fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.context import PendingOrder
from bot.storage.repo import Job, JobDraft

if TYPE_CHECKING:
    from bot.wiring import Wiring


class OrderUnavailable(Exception):
    """The order's service is no longer served (its provider was switched off)."""


class InputGone(Exception):
    """The order's stored photo was deleted meanwhile (retention, /forget)."""


async def place_order(
    wiring: Wiring, order: PendingOrder, *, user_id: int, chat_id: int, status_message_id: int | None
) -> Job:
    """Store the job, hold its price and start it; raises OrderUnavailable, InputGone, or the
    repository's TooManyJobs and InsufficientCredits (then nothing is held)."""
    provider = wiring.enabled_services.get(order.service)
    if provider is None or provider not in wiring.providers:
        raise OrderUnavailable(order.service)
    if order.input_ref and not wiring.media.exists(order.input_ref):
        raise InputGone(order.input_ref)
    draft = JobDraft(
        user_id=user_id,
        chat_id=chat_id,
        service=order.service,
        provider=provider,
        options=order.order.model_dump(mode="json"),
        input_ref=order.input_ref,
        price=wiring.services[order.service].price(order.order, wiring.settings),
        deadline_seconds=wiring.providers[provider].deadline,
        status_message_id=status_message_id,
    )
    job = await wiring.repo.create_job(draft, max_active=wiring.settings.jobs.max_per_user)
    wiring.runner.start(job.id)
    return job
