"""The buttons under a free local preview: Confirm buys its finished photo, Cancel leaves it.

The preview job stored the exact photo (``results/<preview job>_0.jpg``); only a reduced,
watermarked copy was shown. Confirm places a paid job whose input is that file: the local engine
hands it back unchanged (``IdPhotoOrder.from_preview``), so the person gets the very file they saw
measured, as a photo and the exact file, without the engine making it again. One hold on the
ledger, settled as any job's; a second Confirm finds the same job (its order key is the
preview's). Both buttons name the preview's job, so they work after a restart.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.domain.ordering import PlacedBefore
from bot.domain.session import PendingOrder
from bot.services.idphoto.buttons import BuyPreview, BuyPreviewAt, DropPreview
from bot.services.idphoto.captions import is_kept_preview
from bot.services.idphoto.dialog import NAME
from bot.storage.jobs import Job, purchase_key
from bot.telegram.context import Context
from bot.telegram.conversations.common import (
    answer,
    chat_id_of,
    finished_job,
    message_of,
    pressed,
    query_of,
    user_id_of,
)
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t
from providers.orders import IdPhotoOrder

log = logging.getLogger(__name__)


async def own_preview(update: Update, context: Context, job_id: str | None) -> tuple[Job, str] | None:
    """The user's own finished local preview named in the button, and its stored exact file."""
    job = await finished_job(update, context, job_id, NAME)
    files = job.result.files if job is not None and job.result is not None else []
    if job is None or not is_kept_preview(job) or not files or not context.deps.media.exists(files[0]):
        return None
    return job, files[0]


async def drop_buttons(update: Update) -> None:
    """The preview's Confirm and Cancel are spent: they go (best effort; a second press is harmless)."""
    try:
        await query_of(update).edit_message_reply_markup(reply_markup=None)
    except TelegramError as err:
        log.info("could not take the buttons off a preview: %s", err)


def bought_order(job: Job, exact: str) -> PendingOrder:
    """The order that buys the preview ``job`` (its stored exact file ``exact``). Its key is the
    preview's, and it is placed with the engine that made it, whoever makes new ID photos now:
    the photo is made."""
    preview = IdPhotoOrder.model_validate(job.options)
    bought = preview.model_copy(update={"preview": False, "from_preview": job.id})
    return PendingOrder(NAME, bought, exact, nonce=purchase_key(job.id), provider=job.provider, pinned=True)


async def buy(update: Update, context: Context) -> None:
    """Button i:bp:<job>:<price>: the preview's photo at the price on the button, delivered from its
    stored file (on a preview made before that button, i:buy:<job> shows the summary first). In
    the user's order turn: a Cancel pressed right after it waits for it (:func:`drop`)."""
    async with context.deps.order_turns.turn(user_id_of(update)):
        await _buy(update, context)


async def _buy(update: Update, context: Context) -> None:
    lang = context.lang
    press = pressed(update, BuyPreviewAt) or pressed(update, BuyPreview)
    found = await own_preview(update, context, press.job_id if press else None)
    if found is None:
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    job, exact = found
    order = bought_order(job, exact)
    if not isinstance(press, BuyPreviewAt):  # a button of before its price was on it: today's shown first
        await _show_summary(update, context, order)
        return
    order.quoted = press.price
    placed = await context.deps.place_order(
        order, user_id=user_id_of(update), chat_id=chat_id_of(update), status_message_id=None
    )
    if isinstance(placed, (Job, PlacedBefore)):
        await answer(update, t(lang, "idphoto.preview_bought"))
        await drop_buttons(update)
    elif placed.reason == "too_many":  # Confirm again once one is done
        await answer(update)
        await message_of(update).reply_text(t(lang, "order.too_many", active=placed.active))
    elif placed.reason in ("not_enough", "owes"):
        # The order waits in the session: credits bought in this chat, then Confirm under this text.
        context.session.order = order
        await answer(update)
        daily = context.deps.settings.credits.daily_free
        selling = context.deps.settings.payments.enabled
        key = "order.not_enough_buy" if selling and placed.reason == "not_enough" else f"order.{placed.reason}"
        text = t(lang, key, price=placed.price, balance=placed.balance, daily=daily, owed=placed.owed)
        markup = keyboards.short_of_credits(lang, order.nonce) if selling else None
        await message_of(update).reply_text(text, reply_markup=markup)
    elif placed.reason == "changed":  # its price changed since the preview: the summary, with the new one
        await _show_summary(update, context, order)
    else:  # the local engine no longer serves ID photos, or the file went
        await answer(update, t(lang, "idphoto.job_gone" if placed.reason == "input_gone" else "order.unavailable"))


async def _show_summary(update: Update, context: Context, order: PendingOrder) -> None:
    """The summary of buying the preview, with today's price, under it; the preview's buttons go
    (the summary's Confirm is the one now)."""
    await show_order(update, context, order, new_message=True)
    await drop_buttons(update)


async def drop(update: Update, context: Context) -> None:
    """Button i:drop:<job>: the preview is left; it was free, so nothing was charged. Pressed right
    after Confirm (before its answer reached the chat), it waits for that Confirm and, where it
    bought the photo, says so: before, "cancelled, nothing charged" came with a photo bought."""
    lang = context.lang
    press = pressed(update, DropPreview)
    user_id = user_id_of(update)
    async with context.deps.order_turns.turn(user_id):
        found = await own_preview(update, context, press.job_id if press else None)
        if found is None:
            await answer(update, t(lang, "idphoto.job_gone"))
        elif await context.deps.jobs.bought(user_id, found[0].id):
            await answer(update, t(lang, "order.already_placed"))
        else:
            await answer(update)
            await drop_buttons(update)
            await message_of(update).reply_text(t(lang, "order.cancelled"), reply_markup=keyboards.new_photo(lang))
