"""Builds the Application, registers every handler in one ordered block, runs the bot."""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.config import Settings
from bot.main.wiring import Wiring, open_wiring
from bot.ops.presence import Presences, keep_reporting
from bot.ops.provider_state import SYNC_INTERVAL, ProviderStates
from bot.roles import Role
from bot.services import registry
from bot.storage.albums import Albums
from bot.storage.opening import open_store
from bot.storage.store import DATABASE_ERRORS, Exclusive, Store
from bot.telegram import sessions
from bot.telegram.context import CONTEXT_TYPES, Context, PhotoBotApp, Service
from bot.telegram.conversations import album, invite, menu, operator, orders, past_orders, payments, privacy
from bot.telegram.conversations.common import answer, register_user, user_language
from bot.telegram.inbox import Superseded, Unreadable, read_update
from bot.telegram.persistence import DatabasePersistence
from bot.telegram.polling import poll_into
from bot.telegram.transport import AiohttpRequest
from bot.telegram.ui.callback_data import (
    BuyMenu,
    BuyPack,
    CancelJob,
    ConfirmOrder,
    DropOrder,
    ForgetAnswer,
    NewPhoto,
    OrdersPage,
    RefundAnswer,
    RetryJob,
    SendAgain,
    ServiceChoice,
    ServiceFor,
    SetLanguage,
)
from bot.telegram.ui.i18n import t
from providers.session import tls_context

log = logging.getLogger(__name__)

# Conversations mix message and button steps on purpose, so per_message stays False; PTB warns
# about that on every start.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

#: Telegram's own retry_after is honoured by the rate limiter, then retried this often.
RATE_LIMIT_RETRIES = 3
COMMANDS = ("start", "help", "balance", "orders", "cancel", "language", "privacy", "forget")
#: Shown in the command menu too while credits are sold.
PAYMENT_COMMANDS = ("buy", "paysupport", "terms")
ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query"]

_PHOTO = filters.PHOTO | filters.Document.ALL
_TEXT = filters.TEXT & ~filters.COMMAND


#: Every conversation ends on these: a command that starts over, or a new photo or album; text
#: at a step that takes none is told to use the buttons, and the step stays.
_FALLBACKS: list[BaseHandler[Update, Any, object]] = [
    CommandHandler("cancel", menu.cancel),
    CommandHandler("start", menu.start),
    MessageHandler(album.IN_ALBUM, album.part),
    MessageHandler(_PHOTO, menu.photo),
    MessageHandler(_TEXT, menu.use_buttons),
]
#: Any other message (a video, a sticker, a voice message, a location): told what the bot takes.
_OTHER = filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL & ~filters.COMMAND


#: A handler's callback, as python-telegram-bot calls it.
Entry = Callable[[Update, Any], Coroutine[Any, Any, object]]


def _alone(name: str, callback: Entry) -> Entry:
    """``callback``, an entry into the conversation ``name``; once it entered (a step, or END at a
    summary), the user's other conversations are ended: one dialog is open at a time
    (sessions.end_conversations). A refused entry returns None and ends nothing."""

    async def entered(update: Update, context: Context) -> object:
        step = await callback(update, context)
        chat, user = update.effective_chat, update.effective_user
        # Refused (None: a stale button), the dialog open before stays open.
        if step is not None and chat is not None and user is not None:
            sessions.end_conversations(context.application, chat.id, user.id, keep=name)
        return step

    return entered


def _latest_photo(callback: Entry) -> Entry:
    """``callback``, a service's button on a photo's menu, only if that photo (or album) is the one
    the person sent last: only it is kept, so a menu under an earlier one is told so (before, it
    started a dialog on the latest photo, which a summary does not show: a person paid for another
    photo than the one they pressed under)."""

    async def pressed_under(update: Update, context: Context) -> object:
        press = ServiceFor.parse(update.callback_query.data if update.callback_query else None)
        latest = context.session.menu_key
        if press is None or press.photo != latest:
            # None: a dialog open (this service's too) stays at its step.
            await answer(update, t(context.lang, "menu.older_photo" if latest else "menu.expired"))
            return None
        return await callback(update, context)

    return pressed_under


def _conversation(service: Service[Any], timeout: float, persistent: bool) -> ConversationHandler:
    """A service's conversation: its menu button (and re-entries) in, its steps, the shared ways out;
    a menu left alone for ``telegram.conversation_timeout`` closes (bot/telegram/sessions.py)."""
    by_photo = CallbackQueryHandler(service.start, pattern=ServiceFor.of_service(service.name))
    entries: list[BaseHandler[Update, Any, object]] = [
        by_photo,
        CallbackQueryHandler(service.start, pattern=ServiceChoice(service.name).exact()),
        *service.reentries(),
    ]
    for entry in entries:
        entry.callback = _alone(service.name, entry.callback)
    by_photo.callback = _latest_photo(by_photo.callback)
    closed = functools.partial(sessions.conversation_timed_out, service=service.name)
    return ConversationHandler(
        entry_points=entries,
        states={ConversationHandler.TIMEOUT: [TypeHandler(Update, closed)], **service.steps()},
        fallbacks=_FALLBACKS,
        allow_reentry=True,
        conversation_timeout=timeout,
        name=service.name,
        persistent=persistent,
    )


def register_handlers(app: PhotoBotApp, conversation_timeout: float) -> None:
    """Every handler, in the order they are tried (group 0 first match wins)."""
    # Every user update first registers its user (and sets the session's language), then passes
    # the per-user request limit.
    app.add_handler(TypeHandler(Update, menu.private_only), group=-4)
    app.add_handler(TypeHandler(Update, register_user), group=-3)
    app.add_handler(TypeHandler(Update, menu.rate_limit), group=-2)
    # Conversations, in menu order: a service's steps win over the generic handlers below.
    for service in registry.SERVICES:
        app.add_handler(_conversation(service, conversation_timeout, persistent=app.persistence is not None))
    # Commands.
    app.add_handler(CommandHandler("start", menu.start))
    app.add_handler(CommandHandler("help", menu.help_command))
    app.add_handler(CommandHandler("balance", menu.balance))
    app.add_handler(CommandHandler("orders", past_orders.orders))
    app.add_handler(CommandHandler("invite", invite.invite))
    app.add_handler(CommandHandler("cancel", menu.cancel))
    app.add_handler(CommandHandler("language", menu.language))
    app.add_handler(CommandHandler("privacy", privacy.privacy))
    app.add_handler(CommandHandler("forget", privacy.forget))
    app.add_handler(CommandHandler("grant", menu.grant))
    app.add_handler(CommandHandler("hili", menu.hili_remaining))
    app.add_handler(CommandHandler("stats", operator.show_stats))
    # Credits for Telegram Stars: packs, checkout, payments and refunds, support and terms.
    app.add_handler(CommandHandler("buy", payments.buy))
    app.add_handler(CommandHandler("refund", payments.refund))
    app.add_handler(CommandHandler("paysupport", payments.paysupport))
    app.add_handler(CommandHandler("terms", payments.terms))
    app.add_handler(PreCheckoutQueryHandler(payments.pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, payments.paid))
    app.add_handler(MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, payments.refunded))
    app.add_handler(CallbackQueryHandler(payments.buy, pattern=BuyMenu().exact()))
    app.add_handler(CallbackQueryHandler(payments.buy_pack, pattern=BuyPack.pattern()))
    app.add_handler(CallbackQueryHandler(payments.refund_answer, pattern=RefundAnswer.pattern()))
    # Orders and jobs: buttons that work whatever the conversation state.
    app.add_handler(CallbackQueryHandler(orders.confirm, pattern=ConfirmOrder.pattern()))
    app.add_handler(CallbackQueryHandler(orders.cancel_order, pattern=DropOrder.pattern()))
    app.add_handler(CallbackQueryHandler(orders.cancel_job, pattern=CancelJob.pattern()))
    app.add_handler(CallbackQueryHandler(orders.retry_job, pattern=RetryJob.pattern()))
    # Past orders (/orders): pages, a finished order's files again, a failed one tried again.
    app.add_handler(CallbackQueryHandler(past_orders.page, pattern=OrdersPage.pattern()))
    app.add_handler(CallbackQueryHandler(past_orders.send_again, pattern=SendAgain.pattern()))
    app.add_handler(CallbackQueryHandler(menu.set_language, pattern=SetLanguage.pattern()))
    app.add_handler(CallbackQueryHandler(privacy.forget_answer, pattern=ForgetAnswer.pattern()))
    # Buttons under a service's finished results (free re-edits of an ID photo).
    for service in registry.SERVICES:
        app.add_handlers(service.handlers())
    app.add_handler(CallbackQueryHandler(menu.new_photo, pattern=NewPhoto().exact()))
    # A photo or an album (each of its messages, videos too) at any time starts a flow; other text
    # gets a hint; stale buttons an answer.
    app.add_handler(MessageHandler(album.IN_ALBUM, album.part))
    app.add_handler(MessageHandler(_PHOTO, menu.photo))
    app.add_handler(MessageHandler(_TEXT, menu.text_without_photo))
    app.add_handler(MessageHandler(_OTHER, menu.not_a_photo))
    app.add_handler(CallbackQueryHandler(menu.expired_button))
    app.add_error_handler(_on_error)


async def _on_error(update: object, context: Context) -> None:
    if isinstance(context.error, BadRequest) and "message is not modified" in context.error.message.lower():
        # A button pressed twice before its message changed (a double tap): the second edit asks
        # for what the message already shows. Nothing failed, and nothing is to be said.
        log.info("update %s: its message already showed that", getattr(update, "update_id", "?"))
        return
    log.error("handler failed for update %s", getattr(update, "update_id", "?"), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None and context.user_data is not None:
        try:
            lang = await user_language(update, context)
            await context.bot.send_message(update.effective_chat.id, t(lang, "error.internal_error"))
        except Exception:  # the error handler must never raise
            log.debug("could not tell the user about the error", exc_info=True)


def build_application(settings: Settings, store: Store | None = None) -> PhotoBotApp:
    """The configured python-telegram-bot Application with every handler registered; with a
    ``store``, sessions and conversation steps are kept in it (bot/telegram/persistence.py)."""
    tls = tls_context(settings.network.ca_file)
    builder = (
        ApplicationBuilder()
        .token(settings.telegram.token)
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .context_types(CONTEXT_TYPES)
        .request(AiohttpRequest(tls=tls))
        .get_updates_request(AiohttpRequest(connection_pool_size=1, tls=tls))
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.telegram.max_messages_per_second, max_retries=RATE_LIMIT_RETRIES)
        )
        .concurrent_updates(True)
    )
    if store is not None:
        kept = DatabasePersistence(
            store, registry.order_models(), registry.state_models(), settings.telegram.conversation_timeout
        )
        builder = builder.persistence(kept)
    app = builder.build()
    register_handlers(app, settings.telegram.conversation_timeout)
    return app


async def _set_commands(app: PhotoBotApp, settings: Settings) -> None:
    names = COMMANDS + (("invite",) if settings.credits.invite_bonus else ())
    names += PAYMENT_COMMANDS if settings.payments.enabled else ()
    for lang, code in (("en", None), ("zh-Hans", "zh")):
        commands = [BotCommand(name, t(lang, f"commands.{name}")) for name in names]
        await app.bot.set_my_commands(commands, language_code=code)


#: What one process at a time does, by name (Store.exclusive): handle Telegram's updates (long
#: polling, or taking webhook updates from the inbox; another bot process stands by), and the
#: upkeep: sweeping old photos, watching provider accounts and reconciling Star payments.
UPDATES = "updates"
UPKEEP = "upkeep"


class StoppedWhileOpening(Exception):
    """``stop`` came while the process waited for its database (a worker, for the bot process to
    migrate the schema): nothing was started."""


async def _open_store(settings: Settings, role: Role, stop: asyncio.Event | None) -> Store:
    """The database; a process that handles updates migrates it, a worker waits for that (until
    ``stop``, which raises StoppedWhileOpening)."""
    database = settings.database
    opening = asyncio.ensure_future(
        open_store(database.path, database.url, database.pool_size, migrate=role != "worker")
    )
    if stop is None:
        return await opening
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((opening, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not opening.done():
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
    if opening.cancelled():
        raise StoppedWhileOpening
    return opening.result()


@asynccontextmanager
async def running(settings: Settings, role: Role = "all", stop: asyncio.Event | None = None) -> AsyncIterator[Wiring]:
    """Run the bot for the body of the ``async with``. Role ``bot`` takes Telegram's updates (long
    polling or the webhook), serves the web paths (provider callbacks, media links, health) and
    creates jobs; ``worker`` runs jobs and delivers them; ``all`` (the default) is both. A
    ``stop`` while the database is being opened raises StoppedWhileOpening."""
    store = await _open_store(settings, role, stop)
    takes_updates = role != "worker"
    app = build_application(settings, store if takes_updates else None)
    tasks: list[asyncio.Task[None]] = []
    presence: asyncio.Task[None] | None = None
    try:
        await app.bot.initialize()  # deliveries and alerts use the bot in every role
        services = await open_wiring(app, settings, store, serve_web=takes_updates)
        try:
            tasks.append(asyncio.create_task(_upkeep(store.exclusive(UPKEEP), services), name="upkeep"))
            if store.shared:
                states = ProviderStates(store)
                tasks.append(asyncio.create_task(_keep_in_step(services, states), name="provider-state"))
                reporting = keep_reporting(
                    Presences(store), services.runner.owner, role, services.engine, services.health
                )
                # Stopped last (below): the jobs this process hands back as it stops stay shown beside it.
                presence = asyncio.create_task(reporting, name="presence")
            if takes_updates:
                tasks.append(await _handle_updates_when_first(app, settings, services, store.exclusive(UPDATES)))
            if role != "bot":
                await services.runner.resume()
            log.info(
                "photobot is running%s; services: %s",
                "" if role == "all" else f" ({role})",
                ", ".join(services.enabled_services) or "none",
            )
            yield services
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:  # the updates task, ended above, stopped its own polling and the Application
                if app.running:
                    await app.stop()
                await services.close()
            finally:
                if presence is not None:
                    presence.cancel()
                    await asyncio.gather(presence, return_exceptions=True)
    finally:
        # The Application writes the sessions as it shuts down: before the store closes. When
        # starting failed (Telegram unreachable) only the bot was opened: its HTTP sessions close.
        await app.shutdown()
        await app.bot.shutdown()
        await store.close()


async def _take_updates(
    app: PhotoBotApp, settings: Settings, services: Wiring, predecessor_done_at: float
) -> asyncio.Task[None]:
    """Start handling Telegram's updates: the Application (reading the kept sessions now, so that
    a process taking over continues every dialogue where it stood), the commands, and the way
    updates come, each into the inbox they wait in until handled: long polling
    (bot/telegram/polling.py), or the webhook (set again; it stays set on stop, so Telegram keeps
    updates while the bot restarts). Returns the task that takes them (and polls).
    ``predecessor_done_at``: as for UpdateInbox.hand_over."""
    # The takeover is counted before the sessions are read, and every session write is fenced by
    # it: a process that lost the right and does not know it yet writes nothing after the count.
    left = await services.inbox.count_takeover()
    if isinstance(app.persistence, DatabasePersistence):
        app.persistence.fence(services.inbox.takeover)
    await app.initialize()
    await _set_commands(app, settings)
    await app.start()
    _forget_quiet_sessions_regularly(app, services)
    # Albums a process before this one was collecting or finishing.
    await album.resume(app, predecessor_done_at - asyncio.get_running_loop().time())
    if settings.telegram.mode == "webhook":
        await app.bot.set_webhook(
            settings.webhook_url(), secret_token=settings.webhook_header_secret(), allowed_updates=ALLOWED_UPDATES
        )
        log.info("handling Telegram's updates from the webhook")
        return asyncio.create_task(services.inbox.hand_over(app, predecessor_done_at, left), name="webhook-inbox")
    await app.bot.delete_webhook()
    log.info("polling Telegram for updates")
    return asyncio.create_task(
        _together(_poll(app, settings, services), services.inbox.hand_over(app, predecessor_done_at, left)),
        name="polled-inbox",
    )


async def _poll(app: PhotoBotApp, settings: Settings, services: Wiring) -> None:
    """Long polling into the inbox, on a connection of its own (a long poll holds one); its
    pre-checkout queries answered as they come (bot/telegram/polling.py)."""

    async def checkout(body: dict[str, Any]) -> None:
        try:
            update = read_update(body, app.bot)
        except Unreadable as err:  # before, it ended the poller: every process after died on it too
            await services.inbox.drop(err)
            return
        await payments.checkout_arrived(update, services)

    async with AiohttpRequest(connection_pool_size=1, tls=tls_context(settings.network.ca_file)) as request:
        await poll_into(
            services.inbox,
            request,
            app.bot.base_url,
            timeout=settings.telegram.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            checkout=checkout,
        )


async def _together(*work: Coroutine[Any, Any, None]) -> None:
    """Each of ``work`` until cancelled, or until one of them fails: then the others stop too, and
    its error is raised as it is, not in an ExceptionGroup (:class:`Superseded` is told apart by
    its type: in polling mode a process another had taken over from logged itself as failed)."""
    try:
        async with asyncio.TaskGroup() as group:
            for one in work:
                group.create_task(one)
    except ExceptionGroup as failed:
        if len(failed.exceptions) == 1:
            raise failed.exceptions[0] from None
        raise


async def _handle_updates_when_first(
    app: PhotoBotApp, settings: Settings, services: Wiring, right: Exclusive
) -> asyncio.Task[None]:
    """Telegram's updates are handled in the one bot process that holds the updates right;
    another bot process stands by (still serving the web paths, and receiving webhook updates
    into the inbox) until the holder dies, then takes over. Returns the task that handles
    updates (or waits to), once this process does or knows it stands by. A process that loses
    the right (its database connection broke, or the inbox found another process took over)
    drops the updates it is handling at once, as if it had died there, and stops altogether
    (``services.halt``), so that two never handle updates at once; its supervisor starts it
    again, as a standby."""
    settled = asyncio.Event()

    def standing_by() -> None:
        log.info("another bot process handles Telegram's updates: standing by to take over")
        settled.set()

    async def handle() -> None:
        await right.acquire(waiting=standing_by)
        predecessor_done_at = asyncio.get_running_loop().time() + right.overlap
        inbox: asyncio.Task[None] | None = None
        try:
            inbox = await _take_updates(app, settings, services, predecessor_done_at)
            settled.set()
            lost = asyncio.create_task(right.lost.wait())
            try:
                await asyncio.wait((lost, inbox), return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
            if not inbox.done():
                # Its handlers under way are dropped, not waited for: the process taking over
                # takes their updates again and would answer them a second time beside them.
                log.error("lost the right to handle Telegram's updates (database connection): stopping this process")
                _abandon(app)
                inbox.cancel()
                services.inbox.abandon()
            elif isinstance(inbox.exception(), Superseded):  # it dropped its handlers itself
                log.error("another bot process took Telegram's updates over: stopping this process")
                _abandon(app)
            else:  # ended by an error it cannot get over: the supervisor starts a new process
                log.error("stopped taking Telegram's updates: stopping this process", exc_info=inbox.exception())
            services.halt.set()
        finally:
            try:
                # Polling ends first, before the right goes: the process taking over would poll
                # beside this one, and Telegram answers one of two pollers with a conflict.
                if inbox is not None:
                    inbox.cancel()
                    await asyncio.gather(inbox, return_exceptions=True)
                # So do the updates under way (a process stopping, not one that lost the right: its
                # were dropped, and it writes no session), and the sessions are written: the process
                # taking over takes again what was taken and not finished (a predecessor that
                # died), and reads the sessions as it starts.
                if app.running:
                    await app.stop()
            finally:
                await right.release()

    task = asyncio.create_task(handle(), name="updates")
    waiting = asyncio.create_task(settled.wait())
    await asyncio.wait((task, waiting), return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # starting failed: raise why
    return task


def _abandon(app: PhotoBotApp) -> None:
    """What the Application does beside handling updates, dropped at once as the updates right is
    lost, as by a process that died there (the process taking over does it again): the job queue
    starts no timer's work (an album's finishing, a conversation's time limit, the quiet-session
    sweep), the albums being finished are dropped, and no session is written, neither half-changed
    by a dropped handler nor over what the new holder wrote after reading them."""
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    app.job_queue.scheduler.pause()
    album.abandon(app)
    if isinstance(app.persistence, DatabasePersistence):
        app.persistence.abandon()


async def _keep_in_step(services: Wiring, states: ProviderStates) -> None:
    """Read what other processes recorded of the providers (down, uses left), regularly."""
    while True:
        try:
            recorded = await states.read()
            services.health.take_on(recorded)
            services.accounts.take_on(recorded)
        except DATABASE_ERRORS as err:  # the last state stands until the database answers again
            log.warning("could not read the providers' state: %s", err)
        await asyncio.sleep(SYNC_INTERVAL)


async def _upkeep(right: Exclusive, services: Wiring) -> None:
    """Sweep old photos, watch the provider accounts and reconcile Star payments with Telegram's
    record of them, in one process at a time."""
    while True:
        await right.acquire()
        try:
            services.sweeper.start()
            services.accounts.start()
            services.reconciler.start()
            await right.lost.wait()
            log.warning("lost the upkeep right (database connection); waiting for it again")
        finally:
            await services.sweeper.stop()
            await services.accounts.stop()
            await services.reconciler.stop()
            await right.release()


def _forget_quiet_sessions_regularly(app: PhotoBotApp, services: Wiring) -> None:
    async def sweep(_context: Context) -> None:
        await sessions.forget_quiet_sessions(
            app, services.settings.telegram.conversation_timeout, services.photos, Albums(services.db)
        )

    assert app.job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    interval = min(sessions.SWEEP_INTERVAL, services.settings.telegram.conversation_timeout)
    app.job_queue.run_repeating(sweep, interval=interval, first=interval, name="forget-quiet-sessions")


async def run_until_stopped(settings: Settings, stop: asyncio.Event, role: Role = "all") -> bool:
    """Run until ``stop`` is set (True), or until the process must stop on its own (False)."""
    try:
        async with running(settings, role, stop) as services:
            stopped = asyncio.create_task(stop.wait())
            halted = asyncio.create_task(services.halt.wait())
            await asyncio.wait((stopped, halted), return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            halted.cancel()
            return stop.is_set()
    except StoppedWhileOpening:
        return True
