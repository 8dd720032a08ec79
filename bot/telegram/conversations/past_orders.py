"""/orders: a person's past orders, newest first, a page at a time, each finished one's files
again while they are kept, and each failed one tried again while its photo is kept.

The files are sent again from the stored results, shown by the job's service (``present``) and
sent as delivery sends them (``delivery.result_messages``): no provider is called and nothing is
charged. A free preview whose exact file is sold (``JobResult.kept_preview``) comes again as its
preview, with Confirm, never as the exact file; once bought, its purchase is listed instead
(``Jobs.past_orders``). Try again puts the failed order on a new summary, as a fresh order
with today's price and provider: its Confirm places it with every check of an order; the failed
one cost nothing. Buttons name the job, not the session, so they keep working after a restart;
the job must be the presser's own.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from pydantic import ValidationError
from telegram import InlineKeyboardMarkup, Update

from bot.domain.ordering import order_again
from bot.ops.media import MediaStore
from bot.storage.jobs import Job, JobState
from bot.telegram.context import Context, Wiring
from bot.telegram.conversations.common import answer, chat_id_of, message_of, pressed, query_of, user_id_of
from bot.telegram.conversations.summary import show_order
from bot.telegram.delivery import result_messages
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import OrdersPage, RetryOrder, SendAgain
from bot.telegram.ui.i18n import t
from bot.telegram.ui.results import ResultView

log = logging.getLogger(__name__)

#: Orders on one page of /orders.
PAGE = 5


async def orders(update: Update, context: Context) -> None:
    """/orders: the newest page of the user's orders, with a button for each one's files."""
    text, markup = await _page(context, user_id_of(update), 0)
    await message_of(update).reply_text(text, reply_markup=markup)


async def page(update: Update, context: Context) -> None:
    """Button h:page:<offset>: another page, on the same message."""
    press = pressed(update, OrdersPage)
    await answer(update)
    if press is None:
        return
    text, markup = await _page(context, user_id_of(update), press.offset)
    await query_of(update).edit_message_text(text, reply_markup=markup)


async def send_again(update: Update, context: Context) -> None:
    """Button h:get:<job>: the user's finished order's files again, at no charge; "no longer
    kept" once the retention sweep deleted them."""
    lang = context.lang
    wiring = context.wiring
    press = pressed(update, SendAgain)
    job = await wiring.jobs.get(press.job_id) if press else None
    if job is None or job.user_id != user_id_of(update) or job.state != JobState.SUCCEEDED or job.result is None:
        await answer(update, t(lang, "job.not_yours"))
        return
    service = wiring.services.get(job.service)
    if service is None:
        await answer(update, t(lang, "order.unavailable"))
        return
    if not _kept(job, wiring.media):
        await answer(update, t(lang, "orders.gone"))
        return
    await answer(update)

    def present(job: Job, index: int, data: bytes, lang: str) -> ResultView:
        return service.present(job, index, data, lang, wiring.settings)

    try:  # off the event loop: the files are read, a preview's watermark drawn
        parts = await asyncio.to_thread(
            result_messages, context.bot, job, chat_id_of(update), lang, wiring.media, present
        )
    except FileNotFoundError:  # swept in the meantime
        await message_of(update).reply_text(t(lang, "orders.gone"))
        return
    log.info("job %s: its files sent again from /orders", job.id)
    for _name, send in parts:
        await send()


async def try_again(update: Update, context: Context) -> None:
    """Button h:retry:<job>: the user's failed order again, from the photo it was made from, on a
    new summary with today's price (Confirm places it as any order); "no longer kept" once the
    retention sweep deleted the photo."""
    lang = context.lang
    wiring = context.wiring
    press = pressed(update, RetryOrder)
    job = await wiring.jobs.get(press.job_id) if press else None
    if job is None or job.user_id != user_id_of(update) or job.state != JobState.FAILED:
        await answer(update, t(lang, "job.not_yours"))
        return
    service = wiring.services.get(job.service)
    if service is None or job.service not in wiring.enabled_services:
        await answer(update, t(lang, "order.unavailable"))
        return
    if not await asyncio.to_thread(_photo_kept, job, wiring.media):
        await answer(update, t(lang, "orders.retry_gone"))
        return
    try:
        order = service.again(job)
    except ValidationError:  # stored before its order model changed: it cannot be placed as it was
        await answer(update, t(lang, "order.unavailable"))
        return
    log.info("job %s: tried again from /orders", job.id)
    await show_order(update, context, order_again(job, order), new_message=True)


def _photo_kept(job: Job, media: MediaStore) -> bool:
    """Whether the photo a job was made from is still stored (a job made from a provider's image
    id, with no photo of its own, has none to try again from)."""
    return job.input_ref is not None and media.exists(job.input_ref)


def _kept(job: Job, media: MediaStore) -> bool:
    """Whether every file of a finished job is still stored."""
    refs = [*job.result.files, *job.result.extra_files] if job.result else []
    return bool(refs) and all(media.exists(ref) for ref in refs)


async def _page(context: Context, user_id: int, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of the page of /orders from the ``offset``-th newest order on."""
    lang = context.lang
    wiring = context.wiring
    jobs = await wiring.jobs.past_orders(user_id, PAGE + 1, offset)
    older, jobs = len(jobs) > PAGE, jobs[:PAGE]
    if not jobs:
        return t(lang, "orders.empty"), keyboards.new_photo(lang)
    lines, again, retry = [], [], []
    for number, job in enumerate(jobs, start=offset + 1):
        finished = job.state == JobState.SUCCEEDED and job.result is not None
        kept = finished and await asyncio.to_thread(_kept, job, wiring.media)
        if kept:
            again.append((number, job.id))
        # A failed order made from a photo of its own (not from a provider's image id alone).
        failed = job.state == JobState.FAILED and job.input_ref is not None and job.service in wiring.services
        photo = failed and await asyncio.to_thread(_photo_kept, job, wiring.media)
        if photo:
            retry.append((number, job.id))
        lines.append(_line(job, number, lang, wiring, gone=finished and not kept, photo_gone=failed and not photo))
    heading = t(lang, "orders.title", first=offset + 1, last=offset + len(jobs))
    hints = ([t(lang, "orders.hint")] if again else []) + ([t(lang, "orders.retry_hint")] if retry else [])
    text = "\n\n".join([heading, *lines, *hints])
    return text, keyboards.past_orders(lang, again, retry, offset, older, PAGE)


def _line(job: Job, number: int, lang: str, wiring: Wiring, *, gone: bool, photo_gone: bool) -> str:
    """One order: what it was (service, and what tells it apart: an ID photo's spec), when, how it
    ended and what it cost."""
    service = wiring.services.get(job.service)
    what = t(lang, f"service.{job.service}") if service is not None else job.service  # a service since removed
    if service is not None and service.label is not None:
        try:
            what += " · " + service.label(service.order(job.options), lang)
        except ValidationError:  # an order stored before its model changed: the service's name says it
            log.debug("job %s: its order no longer reads", job.id)
    when = datetime.fromtimestamp(job.created_at, UTC)
    date = t(lang, "orders.date", day=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M"))
    if job.state == JobState.SUCCEEDED:
        preview = job.result is not None and job.result.kept_preview
        state = t(lang, "orders.state_preview" if preview else "orders.state_succeeded")
        if gone:
            state += " · " + t(lang, "orders.not_kept")
        price = t(lang, "orders.price", price=job.price) if job.price else t(lang, "orders.free")
    elif job.state in (JobState.FAILED, JobState.CANCELLED):
        state = t(lang, f"orders.state_{job.state}")
        if photo_gone:
            state += " · " + t(lang, "orders.photo_gone")
        price = t(lang, "orders.returned", price=job.price) if job.price else t(lang, "orders.free")
    else:
        state = t(lang, "orders.state_running")
        price = t(lang, "orders.held", price=job.price) if job.price else t(lang, "orders.free")
    return t(lang, "orders.line", number=number, what=what, date=date, state=state, price=price)
