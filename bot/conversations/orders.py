"""Confirming or cancelling an order, cancelling or retrying a job, provider wake-ups."""

from __future__ import annotations

from telegram import Update

from bot import keyboards
from bot.callback_data import parse
from bot.context import Context, IdPhotoDraft
from bot.conversations.common import answer, user_language
from bot.conversations.idphoto import job_options, show_summary
from bot.i18n import t
from bot.pricing import idphoto_price
from bot.storage.repo import InsufficientCredits, JobDraft
from bot.web import ProviderCallback


def _arg(update: Update) -> str:
    callback = parse(update.callback_query.data)
    return callback.arg() if callback and callback.args else ""


async def confirm(update: Update, context: Context) -> None:
    """Button o:ok:<nonce>: holds the credits, stores the job and starts it."""
    lang = await user_language(update, context)
    services = context.services
    draft = context.session.draft
    if draft is None or draft.nonce != _arg(update):
        await answer(update, t(lang, "order.expired"))
        return
    # Claimed before the next await: a second tap on Confirm finds no draft and holds nothing.
    context.session.draft = None
    provider = services.enabled_services.get("idphoto")
    spec = services.catalog.get(draft.spec_id)
    if provider is None or spec is None:
        await answer(update, t(lang, "order.unavailable"))
        return
    if draft.input_ref and not services.media.exists(draft.input_ref):
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    options = job_options(draft, spec)
    price = idphoto_price(options, services.settings.providers.picwish.prices)
    message = update.callback_query.message
    try:
        job = await services.repo.create_job(JobDraft(
            user_id=update.effective_user.id, chat_id=update.effective_chat.id,
            service="idphoto", provider=provider, options=options,
            input_ref=None if draft.last_id else draft.input_ref, price=price,
            deadline_seconds=services.providers[provider].deadline,
            status_message_id=message.message_id if message else None,
        ))
    except InsufficientCredits as err:
        await answer(update)
        await update.callback_query.edit_message_text(t(
            lang, "order.not_enough", price=err.price, balance=err.balance,
            daily=services.settings.credits.daily_free))
        return
    await answer(update)
    await update.callback_query.edit_message_text(t(lang, "job.queued"), reply_markup=keyboards.job_running(lang, job.id))
    services.runner.start(job.id)


async def cancel_order(update: Update, context: Context) -> None:
    """Button o:no:<nonce>: drops the order; nothing was held."""
    lang = await user_language(update, context)
    draft = context.session.draft
    if draft is not None and draft.nonce == _arg(update):
        context.session.draft = None
    await answer(update)
    await update.callback_query.edit_message_text(t(lang, "order.cancelled"), reply_markup=keyboards.new_photo(lang))


async def cancel_job(update: Update, context: Context) -> None:
    """Button j:cancel:<job>: releases the credits of the user's unfinished job."""
    lang = await user_language(update, context)
    job = await context.services.repo.get_job(_arg(update))
    if job is None or job.user_id != update.effective_user.id:
        await answer(update, t(lang, "job.not_yours"))
        return
    if not await context.services.runner.cancel(job.id, job.user_id):
        await answer(update, t(lang, "job.cancel_too_late"))
        return
    await answer(update)


async def retry_job(update: Update, context: Context) -> None:
    """Button j:retry:<job>: the same order again, back at the summary."""
    lang = await user_language(update, context)
    job = await context.services.repo.get_job(_arg(update))
    if job is None or job.user_id != update.effective_user.id or job.service != "idphoto":
        await answer(update, t(lang, "job.not_yours"))
        return
    if job.input_ref and not context.services.media.exists(job.input_ref):
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    options = job.options
    context.session.draft = IdPhotoDraft(
        spec_id=int(options["spec_id"]), bg_color=options["bg_color"], color_name=options["color_name"],
        beauty=bool(options["beauty"]), clothes_id=options.get("clothes_id"),
        layout_size=options.get("layout_size"), preview=bool(options["preview"]),
        last_id=options.get("last_id"), input_ref=job.input_ref,
    )
    await answer(update)
    await show_summary(update, context, new_message=True)


async def provider_callback(update: ProviderCallback, context: Context) -> None:
    """A verified provider callback: wake the job's driver (it re-queries the provider)."""
    context.services.runner.wake(update.job_id)
