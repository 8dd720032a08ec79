"""/orders: a person's past orders, newest first, a page at a time, each finished one's files
again while they are kept, and each failed one tried again while its photo is kept.

An order is what one Confirm placed: one job, or several sharing ``order_group`` (more sizes of
one photo, an album's photos), listed as one entry: its sizes or "album of N photos", how its
parts ended, and what was charged (the parts delivered; those that failed were given back). Its
files again are every delivered part's, and an album's zip again; Try again stays a part's own.

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

from bot.ops.media import MediaStore
from bot.storage.jobs import Job, JobState
from bot.telegram.context import Context, ServiceDeps, Wiring
from bot.telegram.conversations.common import answer, chat_id_of, message_of, pressed, query_of, user_id_of
from bot.telegram.delivery import result_messages, send_zip
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import OrdersPage, SendAgain
from bot.telegram.ui.i18n import t
from bot.telegram.ui.results import ResultView

log = logging.getLogger(__name__)

#: Orders on one page of /orders.
PAGE = 5
#: Characters of an order's sizes named on /orders, at most: five orders of ten sizes of long
#: names, each fading to another colour, made a page longer than Telegram shows (4,096
#: characters), and /orders failed every time.
SIZES_CHARS = 400


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
    """Button h:get:<job>: the files of the user's finished order again, at no charge: every
    delivered part's (and an album's zip); "no longer kept" once the retention sweep deleted them."""
    lang = context.lang
    wiring = context.wiring
    press = pressed(update, SendAgain)
    job = await wiring.jobs.get(press.job_id) if press else None
    if job is None or job.user_id != user_id_of(update):
        await answer(update, t(lang, "job.not_yours"))
        return
    parts = await wiring.jobs.of_order(job.order_group) if job.order_group is not None else [job]
    finished = [part for part in parts if part.user_id == job.user_id and _finished(part)]
    if not finished:
        await answer(update, t(lang, "job.not_yours"))
        return
    service = wiring.services.get(job.service)
    if service is None:
        await answer(update, t(lang, "order.unavailable"))
        return
    still, _ = await asyncio.to_thread(_stored, finished, [], wiring.media)
    kept = [part for part in finished if part.id in still]
    if not kept:
        await answer(update, t(lang, "orders.gone"))
        return
    await answer(update)

    def present(job: Job, index: int, data: bytes, lang: str) -> ResultView:
        return service.present(job, index, data, lang, wiring.settings)

    chat_id = chat_id_of(update)
    try:  # off the event loop: the files are read, a preview's watermark drawn
        messages = [
            message
            for part in kept
            for message in await asyncio.to_thread(
                result_messages, context.bot, part, chat_id, lang, wiring.media, present
            )
        ]
    except FileNotFoundError:  # swept in the meantime
        await message_of(update).reply_text(t(lang, "orders.gone"))
        return
    log.info("order %s: its files sent again from /orders", job.order_group or job.id)
    for _name, send in messages:
        await send()
    bundle = service.bundle(parts, lang) if len(parts) > 1 and service.bundle is not None else None
    if bundle is not None:  # an album's: its zip again
        await send_zip(context.bot, chat_id, wiring.media, bundle, lang)


def _stored(finished: list[Job], failed: list[Job], media: MediaStore) -> tuple[set[str], set[str]]:
    """The ids of the ``finished`` jobs whose files are all still stored, and of the ``failed``
    jobs whose own photo is: one look at the disk for a whole page, not one a job."""
    return {job.id for job in finished if _kept(job, media)}, {job.id for job in failed if _photo_kept(job, media)}


def _photo_kept(job: Job, media: MediaStore) -> bool:
    """Whether the photo a job was made from is still stored (a job made from a provider's image
    id, with no photo of its own, has none to try again from)."""
    return job.input_ref is not None and media.exists(job.input_ref)


def _finished(job: Job) -> bool:
    return job.state == JobState.SUCCEEDED and job.result is not None


def _kept(job: Job, media: MediaStore) -> bool:
    """Whether every file of a finished job is still stored."""
    refs = [*job.result.files, *job.result.extra_files] if job.result else []
    return bool(refs) and all(media.exists(ref) for ref in refs)


async def _page(context: Context, user_id: int, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of the page of /orders from the ``offset``-th newest order on."""
    lang = context.lang
    wiring = context.wiring
    orders = await wiring.jobs.past_orders(user_id, PAGE + 1, offset)
    older, orders = len(orders) > PAGE, orders[:PAGE]
    if not orders:
        return t(lang, "orders.empty"), keyboards.new_photo(lang)
    lines: list[str] = []
    again: list[tuple[int | str, str]] = []
    retry: list[tuple[int | str, str]] = []
    every = [part for parts in orders for part in parts]
    # What of the page's files is still stored, looked up in one go off the event loop.
    failures = [part for part in every if part.state == JobState.FAILED]
    still, photos_kept = await asyncio.to_thread(
        _stored, [part for part in every if _finished(part)], failures, wiring.media
    )
    for number, parts in enumerate(orders, start=offset + 1):
        finished = [part for part in parts if _finished(part)]
        kept = [part for part in finished if part.id in still]
        if kept:
            again.append((number, parts[0].id))
        # Failed parts made from a photo of their own (not from a provider's image id alone).
        failed = [
            (part.options.get("album_photo") or index, part)  # an album's photo by its number in the album
            for index, part in enumerate(parts, start=1)
            if part.state == JobState.FAILED and part.input_ref is not None and part.service in wiring.services
        ]
        photos = [(index, part) for index, part in failed if part.id in photos_kept]
        for index, part in photos:  # a part of several is named by its place: "2.3"
            retry.append((number if len(parts) == 1 else f"{number}.{index}", part.id))
        gone, photo_gone = bool(finished) and not kept, bool(failed) and not photos
        if len(parts) == 1:
            lines.append(_line(parts[0], number, lang, wiring, gone=gone, photo_gone=photo_gone))
        else:
            lines.append(_order_line(parts, number, lang, context.deps, wiring, gone=gone, photo_gone=photo_gone))
    heading = t(lang, "orders.title", first=offset + 1, last=offset + len(orders))
    hints = ([t(lang, "orders.hint")] if again else []) + ([t(lang, "orders.retry_hint")] if retry else [])
    text = "\n\n".join([heading, *lines, *hints])
    return text, keyboards.past_orders(lang, again, retry, offset, older, PAGE)


def _what(job: Job, lang: str, wiring: Wiring) -> str:
    """The service of an order, since removed or not."""
    return t(lang, f"service.{job.service}") if job.service in wiring.services else job.service


def _date(job: Job, lang: str) -> str:
    when = datetime.fromtimestamp(job.created_at, UTC)
    return t(lang, "orders.date", day=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M"))


def _line(job: Job, number: int, lang: str, wiring: Wiring, *, gone: bool, photo_gone: bool) -> str:
    """One order: what it was (service, and what tells it apart: an ID photo's spec), when, how it
    ended and what it cost."""
    service = wiring.services.get(job.service)
    what = _what(job, lang, wiring)
    if service is not None and service.label is not None:
        try:
            what += " · " + service.label(service.order(job.options), lang)
        except ValidationError:  # an order stored before its model changed: the service's name says it
            log.debug("job %s: its order no longer reads", job.id)
    date = _date(job, lang)
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


def _names(names: list[str], lang: str) -> str:
    """The sizes' names, as many as fit in :data:`SIZES_CHARS`, then "…" (their count says how many)."""
    separator = t(lang, "orders.separator")
    shown = names[:1]
    for name in names[1:]:
        if len(separator.join([*shown, name])) > SIZES_CHARS:
            return separator.join([*shown, "…"])
        shown.append(name)
    return separator.join(shown)


def _order_line(
    parts: list[Job], number: int, lang: str, deps: ServiceDeps, wiring: Wiring, *, gone: bool, photo_gone: bool
) -> str:
    """An order of several jobs: its service and sizes (or "album of N photos"), when, how its
    parts ended and what it cost: the parts delivered, charged; those that failed or were
    cancelled, given back; those still in the works, on hold."""
    first = parts[0]
    what = _what(first, lang, wiring)
    service = wiring.services.get(first.service)
    if service is not None:
        try:
            if (
                first.options.get("album_photo") is not None and service.label is not None
            ):  # an album: its spec, how many
                label = service.label(service.order({**first.options, "album_photo": None}), lang)
                what += " · " + t(lang, "orders.album", label=label, count=len(parts))
            elif service.part is not None:  # sizes of one photo: each
                named = [service.part(service.order(part.options), lang, deps) for part in parts]
                what += " · " + t(lang, "orders.sizes", count=len(parts), sizes=_names(named, lang))
        except ValidationError:  # an order stored before its model changed: the service's name says it
            log.debug("order %s: its orders no longer read", first.id)
    counts = {state: sum(part.state == state for part in parts) for state in JobState}
    ended = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
    running = len(parts) - sum(counts[state] for state in ended)
    if counts[JobState.SUCCEEDED] == len(parts):
        state = t(lang, "orders.state_succeeded")
    elif counts[JobState.FAILED] == len(parts) or counts[JobState.CANCELLED] == len(parts):
        state = t(lang, f"orders.state_{first.state}")
    elif running == len(parts):
        state = t(lang, "orders.state_running")
    else:
        state = t(lang, "orders.parts_done", done=counts[JobState.SUCCEEDED], total=len(parts))
        for key, count in (
            ("parts_failed", counts[JobState.FAILED]),
            ("parts_cancelled", counts[JobState.CANCELLED]),
            ("parts_running", running),
        ):
            if count:
                state += t(lang, "orders.parts_separator") + t(lang, f"orders.{key}", count=count)
    if gone:
        state += " · " + t(lang, "orders.not_kept")
    if photo_gone:
        state += " · " + t(lang, "orders.photo_gone")
    charged = sum(part.price for part in parts if part.state == JobState.SUCCEEDED)
    returned = sum(part.price for part in parts if part.state in (JobState.FAILED, JobState.CANCELLED))
    held = sum(part.price for part in parts if part.state not in ended)
    prices = [t(lang, "orders.price", price=charged)] if charged else []
    prices += [t(lang, "orders.returned", price=returned)] if returned else []
    prices += [t(lang, "orders.held", price=held)] if held else []
    price = " · ".join(prices) or t(lang, "orders.free")
    return t(lang, "orders.line", number=number, what=what, date=_date(first, lang), state=state, price=price)
