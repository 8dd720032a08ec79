"""/privacy (what is kept, for how long, who sees a photo) and /forget (delete it all)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.storage.jobs import ActiveJobs
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, chat_id_of, message_of, pressed, query_of, user_id_of
from bot.telegram.sessions import end_conversations
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import ForgetAnswer
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)


def privacy_text(lang: str, context: Context) -> str:
    settings = context.wiring.settings
    days = settings.database.media_retention_days
    retention = t(lang, "privacy.retention_days", days=f"{days:g}") if days else t(lang, "privacy.retention_forever")
    providers = "\n".join(
        t(
            lang,
            "privacy.provider_line",
            service=t(lang, f"service.{service}"),
            provider=t(lang, f"provider_name.{provider}"),
        )
        for service, provider in context.wiring.enabled_services.items()
    )
    return t(
        lang,
        "privacy.text",
        minutes=f"{settings.telegram.conversation_timeout / 60:g}",
        retention=retention,
        providers=providers,
    )


async def privacy(update: Update, context: Context) -> None:
    """/privacy: what is stored, for how long, and which provider sees a photo for which service."""
    lang = context.lang
    await message_of(update).reply_text(privacy_text(lang, context))


async def forget(update: Update, context: Context) -> None:
    """/forget: asks before deleting anything."""
    lang = context.lang
    await message_of(update).reply_text(t(lang, "forget.ask"), reply_markup=keyboards.forget_confirm(lang))


async def forget_answer(update: Update, context: Context) -> None:
    """Buttons m:forget:yes / m:forget:no."""
    lang = context.lang
    choice = pressed(update, ForgetAnswer)
    await answer(update)
    if choice is None or choice.answer != "yes":
        await query_of(update).edit_message_text(t(lang, "forget.kept"))
        return
    services = context.wiring
    user_id = user_id_of(update)
    # Unfinished jobs first, under the same rule as the Cancel button: those the provider is
    # already making run on (and are paid for), and /forget waits for them.
    still_running = [
        job for job in await services.jobs.active(user_id) if not await services.runner.cancel(job.id, user_id)
    ]
    try:
        if still_running:  # nothing is deleted while a provider works on one of them
            raise ActiveJobs(len(still_running))
        refs = await services.users.forget(user_id)
    except ActiveJobs as err:
        await query_of(update).edit_message_text(t(lang, "forget.wait", count=err.count))
        return
    session = context.session
    refs += session.unordered_refs()
    deleted = sum(await asyncio.to_thread(lambda: [services.media.delete(ref) for ref in refs]))
    end_conversations(context.application, chat_id_of(update), user_id)
    context.application.drop_user_data(user_id)
    if context.application.persistence is not None:  # the kept session goes now, not at the next write
        await context.application.persistence.drop_user_data(user_id)
    log.info("a user used /forget: %d files deleted, rows pseudonymised", deleted)
    await query_of(update).edit_message_text(t(lang, "forget.done", files=deleted))
