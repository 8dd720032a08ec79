"""Confirming or cancelling an order, cancelling or retrying a job."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
from telegram import Update
from telegram.error import TelegramError

from bot.domain.ordering import PlacedBefore, Refusal, announce_order, order_again, place_order
from bot.domain.session import PendingOrder
from bot.storage.jobs import Job, JobState
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, chat_id_of, pressed, query_of, user_id_of
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import CancelJob, ConfirmOrder, DropOrder, RetryJob
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)


async def confirm(update: Update, context: Context) -> None:
    """Button o:ok:<nonce>: places the order (bot.domain.ordering: hold, store, start), then says so,
    in the user's order turn (a Cancel of the same summary waits for it: :func:`cancel_order`)."""
    async with context.wiring.order_turns.turn(user_id_of(update)):
        order = _claim(context, pressed(update, ConfirmOrder))
        placed = await _place(update, context, order) if order else None
        try:
            await _tell_placed(update, context, order, placed)
        finally:
            # The workers hear of it once the summary says queued: told before, a job done before
            # that edit went through (a bought photo's stored file, a slow network to Telegram) had
            # its "Done!" turned back to "queued" for good.
            # A job placed before and still queued too: its placer may have died before telling.
            job = placed.job if isinstance(placed, PlacedBefore) else placed
            if isinstance(job, Job) and job.state == JobState.QUEUED:
                await announce_order(context.wiring, job)


def _claim(context: Context, press: ConfirmOrder | None) -> PendingOrder | None:
    """The session's order if the button is its Confirm. Claimed at once, before any await: a
    second tap on Confirm finds no order and holds nothing."""
    order = context.session.order
    if order is None or press is None or order.nonce != press.nonce:
        return None
    context.session.order = None
    return order


async def _place(update: Update, context: Context, order: PendingOrder) -> Job | PlacedBefore | Refusal:
    """The order placed for the user who pressed, with the summary as the job's status message
    (which tells this very press handled again after a takeover: Jobs._place_once)."""
    message = query_of(update).message
    return await place_order(
        context.wiring,
        order,
        user_id=user_id_of(update),
        chat_id=chat_id_of(update),
        status_message_id=message.message_id if message else None,
        announce=False,
    )


async def _tell_placed(
    update: Update, context: Context, order: PendingOrder | None, placed: Job | PlacedBefore | Refusal | None
) -> None:
    lang = context.lang
    if order is None or placed is None:
        await answer(update, t(lang, "order.expired"))
    elif isinstance(placed, Job):
        await _show_queued(update, context, order, placed)
    elif isinstance(placed, PlacedBefore):
        await _tell_placed_before(update, context, order, placed.job)
    elif placed.reason == "too_many":  # the same order stays on screen, to confirm once one ends
        context.session.order = order
        await answer(update)
        await query_of(update).edit_message_text(
            t(lang, "order.too_many", active=placed.active), reply_markup=keyboards.summary(lang, order.nonce)
        )
    elif placed.reason in ("not_enough", "owes"):
        # The order stays: bought credits arrive in this chat, and Confirm works again.
        context.session.order = order
        await answer(update)
        daily = context.wiring.settings.credits.daily_free
        selling = context.wiring.settings.payments.enabled
        key = "order.not_enough_buy" if selling and placed.reason == "not_enough" else f"order.{placed.reason}"
        text = t(lang, key, price=placed.price, balance=placed.balance, daily=daily, owed=placed.owed)
        markup = keyboards.short_of_credits(lang, order.nonce) if selling else None
        await query_of(update).edit_message_text(text, reply_markup=markup)
    elif placed.reason == "changed":  # the summary again, with who makes it now and the price
        await show_order(update, context, order)
    elif placed.reason == "bought_alone":  # its preview was bought from another copy meanwhile
        await answer(update)
        text = t(lang, "idphoto.bought_alone")
        await query_of(update).edit_message_text(text, reply_markup=keyboards.new_photo(lang))
    elif placed.reason == "previews":  # a free preview again (Try again): when the next may be had
        await answer(update)
        await query_of(update).edit_message_text(
            t(lang, "order.previews", count=placed.made, minutes=placed.minutes), reply_markup=keyboards.new_photo(lang)
        )
    else:
        await answer(update, t(lang, "order.unavailable" if placed.reason == "unavailable" else "idphoto.job_gone"))


async def _tell_placed_before(update: Update, context: Context, order: PendingOrder, job: Job) -> None:
    """The order was placed already. From this very summary (its Confirm handled again after a
    takeover, often seconds later) the summary shows the job's own status by now ("Done!", a
    progress), which "queued" would turn back; from another copy of it (Try again pressed twice)
    that copy says so."""
    message = query_of(update).message
    if message is not None and message.message_id != job.status_message_id:
        await answer(update)
        try:
            await query_of(update).edit_message_text(
                t(context.lang, "order.placed_before"), reply_markup=keyboards.new_photo(context.lang)
            )
        except TelegramError as err:  # the order stands all the same
            log.info("job %s: could not say its order was placed before: %s", job.id, err)
    elif job.state == JobState.QUEUED:
        await _show_queued(update, context, order, job)
    else:
        await answer(update)


async def _show_queued(update: Update, context: Context, order: PendingOrder, job: Job) -> None:
    lang = context.lang
    queued = t(lang, "job.queued_parts", count=1 + len(order.extras)) if order.extras else t(lang, "job.queued")
    try:
        await answer(update)
        await query_of(update).edit_message_text(queued, reply_markup=keyboards.job_running(lang, job.id))
    except TelegramError as err:  # the job runs anyway; its next status edit refreshes the message
        log.info("job %s: could not show it as queued: %s", job.id, err)


async def cancel_order(update: Update, context: Context) -> None:
    """Button o:no:<nonce>: drops the order; nothing was held. Pressed right after the summary's
    Confirm (before its edit reached the chat), it waits for that Confirm and, where it placed the
    order, says the order stands: before, "cancelled, nothing charged" was written over the queued
    status of an order being made and paid for."""
    lang = context.lang
    press = pressed(update, DropOrder)
    user_id = user_id_of(update)
    async with context.wiring.order_turns.turn(user_id):
        order = context.session.order
        if order is not None and press is not None and order.nonce == press.nonce:
            context.session.order = None
        elif press is not None and await context.wiring.jobs.placed(user_id, press.nonce):
            await answer(update, t(lang, "order.already_placed"))
            return
        await answer(update)
        await query_of(update).edit_message_text(t(lang, "order.cancelled"), reply_markup=keyboards.new_photo(lang))


async def cancel_job(update: Update, context: Context) -> None:
    """Button j:cancel:<job>: releases the credits of the user's unfinished job; under an order of
    several (its first job's status), of every job of it that can still be cancelled."""
    lang = context.lang
    press = pressed(update, CancelJob)
    jobs_repo = context.wiring.jobs
    job = await jobs_repo.get(press.job_id) if press else None
    if job is None or job.user_id != user_id_of(update):
        await answer(update, t(lang, "job.not_yours"))
        return
    jobs = await jobs_repo.of_order(job.id) if job.order_group == job.id else [job]
    cancelled = [await context.wiring.runner.cancel(each.id, job.user_id) for each in jobs]
    if not any(cancelled):
        await answer(update, t(lang, "job.cancel_too_late"))
        return
    await answer(update)


async def retry_job(update: Update, context: Context) -> None:
    """Button j:retry:<job>, under a failed job's status and in /orders: the user's failed order
    again, from the photo it was made from, on a new summary with today's price (Confirm places it
    as any order); "no longer kept" once the retention sweep deleted the photo."""
    lang = context.lang
    wiring = context.wiring
    press = pressed(update, RetryJob)
    job = await wiring.jobs.get(press.job_id) if press else None
    if job is None or job.user_id != user_id_of(update) or job.state != JobState.FAILED:
        await answer(update, t(lang, "job.not_yours"))
        return
    service = wiring.services.get(job.service)
    if service is None or job.service not in wiring.enabled_services:
        await answer(update, t(lang, "order.unavailable"))
        return
    if job.input_ref and not await asyncio.to_thread(wiring.media.exists, job.input_ref):
        await answer(update, t(lang, "orders.retry_gone"))
        return
    try:
        order = service.again(job)
    except ValidationError:  # stored before its order model changed: it cannot be placed as it was
        await answer(update, t(lang, "order.unavailable"))
        return
    made_key = service.made_already(order) if service.made_already is not None else None
    if made_key is not None and job.provider not in wiring.providers:  # only it has the photo
        await answer(update, t(lang, "order.unavailable"))
        return
    first = await wiring.jobs.get(job.order_group) if job.order_group not in (None, job.id) else None
    log.info("job %s: tried again", job.id)
    await show_order(update, context, order_again(job, order, first, made_key), new_message=True)
