"""Builds the Application, registers every handler in one ordered block, runs the bot."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import sessions
from bot.callback_data import Prefix, build, pattern
from bot.config import Settings
from bot.context import CONTEXT_TYPES, Context, PhotoBotApp
from bot.conversations import anime, enhance, idphoto, menu, orders, portrait, privacy, reedit, repair
from bot.conversations.common import register_user, user_language
from bot.i18n import t
from bot.jobs import ProviderCallback, on_provider_callback
from bot.telegram_http import AiohttpRequest
from bot.wiring import Wiring, open_wiring

log = logging.getLogger(__name__)

# Conversations mix message and button steps on purpose, so per_message stays False; PTB warns
# about that on every start.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

#: Telegram's own retry_after is honoured by the rate limiter, then retried this often.
RATE_LIMIT_RETRIES = 3
COMMANDS = ("start", "help", "balance", "cancel", "language", "privacy", "forget")
ALLOWED_UPDATES = ["message", "callback_query"]

_PHOTO = filters.PHOTO | filters.Document.ALL
_TEXT = filters.TEXT & ~filters.COMMAND


#: Every conversation ends on these: a command that starts over, or a new photo.
_FALLBACKS: list[BaseHandler[Update, Any, object]] = [
    CommandHandler("cancel", menu.cancel),
    CommandHandler("start", menu.start),
    MessageHandler(_PHOTO, menu.photo),
]


#: A menu left alone for ``telegram.conversation_timeout`` closes (see bot/sessions.py).
_TIMEOUT: dict[object, list[BaseHandler]] = {
    ConversationHandler.TIMEOUT: [TypeHandler(Update, sessions.conversation_timed_out)],
}


def _exact(prefix: Prefix, action: str, *args: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(build(prefix, action, *args)) + "$")


def _idphoto_conversation(timeout: float) -> ConversationHandler:
    S = idphoto.State
    i = Prefix.IDPHOTO
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(idphoto.start, pattern=_exact(Prefix.MENU, "svc", "idphoto")),
            CallbackQueryHandler(idphoto.recolor, pattern=pattern(i, "recolor")),
        ],
        states={
            **_TIMEOUT,
            S.PICK_CATEGORY: [
                CallbackQueryHandler(idphoto.pick_category, pattern=pattern(i, "cat")),
                MessageHandler(_TEXT, idphoto.search),
            ],
            S.PICK_SPEC: [
                CallbackQueryHandler(idphoto.pick_spec, pattern=pattern(i, "spec")),
                CallbackQueryHandler(idphoto.page, pattern=pattern(i, "pg")),
                CallbackQueryHandler(idphoto.back_to_categories, pattern=_exact(i, "back", "cat")),
                CallbackQueryHandler(idphoto.back_to_specs, pattern=_exact(i, "back", "spec")),
                MessageHandler(_TEXT, idphoto.search),
            ],
            S.PICK_COLOR: [
                CallbackQueryHandler(idphoto.pick_color, pattern=pattern(i, "col")),
                CallbackQueryHandler(idphoto.back_to_specs, pattern=_exact(i, "back", "spec")),
            ],
            S.CUSTOM_COLOR: [MessageHandler(_TEXT, idphoto.custom_color)],
            S.PICK_OPTIONS: [
                CallbackQueryHandler(idphoto.toggle_option, pattern=pattern(i, "opt")),
                CallbackQueryHandler(idphoto.back_to_colors, pattern=_exact(i, "back", "color")),
            ],
            S.PICK_OUTFIT: [
                CallbackQueryHandler(idphoto.outfit_group, pattern=pattern(i, "outfit")),
                CallbackQueryHandler(idphoto.pick_outfit, pattern=pattern(i, "cloth")),
                CallbackQueryHandler(idphoto.toggle_option, pattern=_exact(i, "opt", "outfit")),
            ],
        },
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name="idphoto",
    )


def _anime_conversation(timeout: float) -> ConversationHandler:
    S = anime.State
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(anime.start, pattern=_exact(Prefix.MENU, "svc", "anime"))],
        states={
            **_TIMEOUT,
            S.PICK_STYLE: [CallbackQueryHandler(anime.pick_style, pattern=pattern(Prefix.ANIME, "style"))],
            S.PICK_LAYOUT: [CallbackQueryHandler(anime.pick_layout, pattern=pattern(Prefix.ANIME, "lay"))],
        },
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name="anime",
    )


def _repair_conversation(timeout: float) -> ConversationHandler:
    S = repair.State
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(repair.start, pattern=_exact(Prefix.MENU, "svc", "repair"))],
        states={
            **_TIMEOUT,
            S.PICK_MODE: [CallbackQueryHandler(repair.pick_mode, pattern=pattern(Prefix.REPAIR, "mode"))],
            S.PICK_BACKGROUND: [CallbackQueryHandler(repair.pick_background, pattern=pattern(Prefix.REPAIR, "bg"))],
            S.CUSTOM_BACKGROUND: [MessageHandler(_TEXT, repair.custom_background)],
        },
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name="repair",
    )


def _enhance_conversation(timeout: float) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(enhance.start, pattern=_exact(Prefix.MENU, "svc", "enhance"))],
        states={
            **_TIMEOUT,
            enhance.State.PICK_TYPE: [CallbackQueryHandler(enhance.pick_type, pattern=pattern(Prefix.ENHANCE, "type"))],
        },
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name="enhance",
    )


def _portrait_conversation(timeout: float) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(portrait.start, pattern=_exact(Prefix.MENU, "svc", "portrait"))],
        states={
            **_TIMEOUT,
            portrait.State.BROWSE: [
                CallbackQueryHandler(portrait.browse, pattern=pattern(Prefix.PORTRAIT, "nav")),
                CallbackQueryHandler(portrait.choose, pattern=pattern(Prefix.PORTRAIT, "pick")),
            ],
        },
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name="portrait",
    )


def register_handlers(app: PhotoBotApp, conversation_timeout: float) -> None:
    """Every handler, in the order they are tried (group 0 first match wins)."""
    # Every user update first registers its user (and sets the session's language), then passes
    # the per-user request limit.
    app.add_handler(TypeHandler(Update, register_user), group=-3)
    app.add_handler(TypeHandler(Update, menu.rate_limit), group=-2)
    # Provider callbacks from the web server: wake the job.
    app.add_handler(TypeHandler(ProviderCallback, on_provider_callback), group=-1)
    # Conversations: a service's steps win over the generic handlers below.
    app.add_handler(_idphoto_conversation(conversation_timeout))
    app.add_handler(_anime_conversation(conversation_timeout))
    app.add_handler(_portrait_conversation(conversation_timeout))
    app.add_handler(_repair_conversation(conversation_timeout))
    app.add_handler(_enhance_conversation(conversation_timeout))
    # Commands.
    app.add_handler(CommandHandler("start", menu.start))
    app.add_handler(CommandHandler("help", menu.help_command))
    app.add_handler(CommandHandler("balance", menu.balance))
    app.add_handler(CommandHandler("cancel", menu.cancel))
    app.add_handler(CommandHandler("language", menu.language))
    app.add_handler(CommandHandler("privacy", privacy.privacy))
    app.add_handler(CommandHandler("forget", privacy.forget))
    app.add_handler(CommandHandler("grant", menu.grant))
    app.add_handler(CommandHandler("hili", menu.hili_remaining))
    # Orders and jobs: buttons that work whatever the conversation state.
    app.add_handler(CallbackQueryHandler(orders.confirm, pattern=pattern(Prefix.ORDER, "ok")))
    app.add_handler(CallbackQueryHandler(orders.cancel_order, pattern=pattern(Prefix.ORDER, "no")))
    app.add_handler(CallbackQueryHandler(orders.cancel_job, pattern=pattern(Prefix.JOB, "cancel")))
    app.add_handler(CallbackQueryHandler(orders.retry_job, pattern=pattern(Prefix.JOB, "retry")))
    app.add_handler(CallbackQueryHandler(menu.set_language, pattern=pattern(Prefix.LANG, "set")))
    app.add_handler(CallbackQueryHandler(privacy.forget_answer, pattern=pattern(Prefix.MENU, "forget")))
    # Free re-edits of a finished ID photo.
    app.add_handler(CallbackQueryHandler(reedit.ask_size, pattern=pattern(Prefix.IDPHOTO, "kb")))
    app.add_handler(CallbackQueryHandler(reedit.make_size, pattern=pattern(Prefix.IDPHOTO, "kbw")))
    app.add_handler(CallbackQueryHandler(reedit.ask_dpi, pattern=pattern(Prefix.IDPHOTO, "dpi")))
    app.add_handler(CallbackQueryHandler(reedit.make_dpi, pattern=pattern(Prefix.IDPHOTO, "dpis")))
    app.add_handler(CallbackQueryHandler(reedit.ask_paper, pattern=pattern(Prefix.IDPHOTO, "sheet")))
    app.add_handler(CallbackQueryHandler(reedit.make_sheet, pattern=pattern(Prefix.IDPHOTO, "shc")))
    app.add_handler(CallbackQueryHandler(menu.new_photo, pattern=_exact(Prefix.MENU, "new")))
    # A photo at any time starts a flow; other text gets a hint; stale buttons an answer.
    app.add_handler(MessageHandler(_PHOTO, menu.photo))
    app.add_handler(MessageHandler(_TEXT, menu.text_without_photo))
    app.add_handler(CallbackQueryHandler(menu.expired_button))
    app.add_error_handler(_on_error)


async def _on_error(update: object, context: Context) -> None:
    log.error("handler failed for update %s", getattr(update, "update_id", "?"), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None and context.user_data is not None:
        try:
            lang = await user_language(update, context)
            await context.bot.send_message(update.effective_chat.id, t(lang, "error.internal_error"))
        except Exception:  # the error handler must never raise
            log.debug("could not tell the user about the error", exc_info=True)


def build_application(settings: Settings) -> PhotoBotApp:
    """The configured python-telegram-bot Application with every handler registered."""
    app = (
        ApplicationBuilder()
        .token(settings.telegram.token)
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .context_types(CONTEXT_TYPES)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.telegram.max_messages_per_second, max_retries=RATE_LIMIT_RETRIES)
        )
        .concurrent_updates(True)
        .build()
    )
    register_handlers(app, settings.telegram.conversation_timeout)
    return app


async def _set_commands(app: PhotoBotApp) -> None:
    for lang, code in (("en", None), ("zh-Hans", "zh")):
        commands = [BotCommand(name, t(lang, f"commands.{name}")) for name in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Wiring]:
    """Run the bot (long polling, web server, job runner) for the body of the ``async with``."""
    app = build_application(settings)
    try:
        async with app:
            services = await open_wiring(app, settings)
            try:
                await _set_commands(app)
                await app.start()
                if settings.telegram.mode == "webhook":
                    # The webhook stays set on stop, so Telegram keeps updates while the bot restarts.
                    await app.bot.set_webhook(
                        settings.webhook_url(),
                        secret_token=settings.webhook_header_secret(),
                        allowed_updates=ALLOWED_UPDATES,
                    )
                else:
                    assert app.updater is not None
                    await app.updater.start_polling(
                        timeout=settings.telegram.poll_timeout, allowed_updates=ALLOWED_UPDATES
                    )
                await services.runner.resume()
                services.sweeper.start()
                _forget_quiet_sessions_regularly(app, services)
                log.info("photobot is running; services: %s", ", ".join(services.enabled_services) or "none")
                yield services
            finally:
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await services.close()
    finally:
        # When starting fails (Telegram unreachable), the Application skips shutting the bot
        # down, which would leave its HTTP sessions open; this does nothing after a normal stop.
        await app.bot.shutdown()


def _forget_quiet_sessions_regularly(app: PhotoBotApp, services: Wiring) -> None:
    async def sweep(_context: Context) -> None:
        await sessions.forget_quiet_sessions(app, services.settings.telegram.conversation_timeout, services.photos)

    assert app.job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    interval = min(sessions.SWEEP_INTERVAL, services.settings.telegram.conversation_timeout)
    app.job_queue.run_repeating(sweep, interval=interval, first=interval, name="forget-quiet-sessions")


async def run_until_stopped(settings: Settings, stop: asyncio.Event) -> None:
    async with running(settings):
        await stop.wait()
