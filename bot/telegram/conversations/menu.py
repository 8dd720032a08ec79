"""Commands, incoming photos and the service menu."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ConversationHandler

from bot.domain.session import menu_key
from bot.storage.albums import Albums
from bot.telegram.context import Context
from bot.telegram.conversations import payments
from bot.telegram.conversations.common import answer, chat_id_of, is_admin, message_of, pressed, query_of, user_id_of
from bot.telegram.conversations.intake import refusal_text, take_in
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import SetLanguage
from bot.telegram.ui.i18n import LANGUAGES, pick_language, t
from providers.errors import ProviderError

log = logging.getLogger(__name__)
#: /grant takes at most this many credits at once (a typo of a few extra digits is refused).
MAX_GRANT = 1_000_000
#: Telegram user ids are positive and below 2^52.
MAX_USER_ID = 2**52


async def start(update: Update, context: Context) -> int:
    """/start: greets and lists the enabled services; ends any conversation."""
    lang = context.lang
    name = update.effective_user.first_name if update.effective_user else ""
    services = list(context.wiring.enabled_services)
    if not services:
        await message_of(update).reply_text(t(lang, "start.no_services", name=name))
    else:
        listing = "\n".join(f"• {t(lang, f'service.{s}')}" for s in services)
        await message_of(update).reply_text(
            t(lang, "start.greeting", name=name, services=listing) + "\n\n" + t(lang, "privacy.pointer")
        )
    return ConversationHandler.END


async def help_command(update: Update, context: Context) -> None:
    """/help: how the bot works and the commands."""
    lang = context.lang
    text = t(lang, "help.text", daily=context.wiring.settings.credits.daily_free)
    if context.wiring.settings.payments.enabled:
        text += "\n" + t(lang, "help.buying")
    if bonus := context.wiring.settings.credits.invite_bonus:
        text += "\n" + t(lang, "help.inviting", bonus=bonus)
    await message_of(update).reply_text(text)


async def balance(update: Update, context: Context) -> None:
    """/balance: the user's credits, free and bought, the last purchases, and where to buy."""
    lang = context.lang
    user_id = user_id_of(update)
    credits = await context.wiring.ledger.credits(user_id)
    lines = [t(lang, "balance.text", balance=credits.total, daily=context.wiring.settings.credits.daily_free)]
    if credits.bought > 0:
        lines.append(t(lang, "balance.bought", free=credits.free, bought=credits.bought))
    elif credits.bought < 0:
        lines.append(t(lang, "balance.owes", owed=-credits.bought))
    purchases = await context.wiring.payments.recent(user_id, payments.RECENT)
    if purchases:
        lines.append(payments.purchase_lines(lang, purchases))
    selling = context.wiring.settings.payments.enabled
    markup = keyboards.buy(lang) if selling else None
    await message_of(update).reply_text("\n\n".join(lines), reply_markup=markup)


async def cancel(update: Update, context: Context) -> int:
    """/cancel: forgets the photo and order being put together; ends any conversation."""
    lang = context.lang
    session = context.session
    collecting = await Albums(context.wiring.db).drop_open(user_id_of(update))  # an album arriving
    had_something = session.photo is not None or session.album is not None or session.drafting or collecting > 0
    for ref in session.unordered_refs():
        await context.wiring.photos.discard(ref)
    session.photo = session.album = None
    session.drop_drafts()
    await message_of(update).reply_text(t(lang, "cancel.done" if had_something else "cancel.nothing"))
    return ConversationHandler.END


async def language(update: Update, context: Context) -> None:
    """/language: offers the languages."""
    lang = context.lang
    await message_of(update).reply_text(t(lang, "language.choose"), reply_markup=keyboards.languages())


async def set_language(update: Update, context: Context) -> None:
    """Button l:set:<code>: stores the chosen language."""
    choice = pressed(update, SetLanguage)
    code = choice.code if choice else ""
    if code not in LANGUAGES:  # forged callback data: nothing is stored
        await answer(update)
        return
    await context.wiring.users.set_language(user_id_of(update), code)
    context.session.lang = code
    await answer(update)
    await query_of(update).edit_message_text(t(code, "language.set"))


def _whole(text: str) -> int:
    """A plain whole number written in ASCII digits (not "١٢", "+5", "1e9" or 500 digits), else 0."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0


async def grant(update: Update, context: Context) -> None:
    """/grant <user_id> <credits>: admins add credits to a user."""
    lang = context.lang
    if not is_admin(update, context):
        await message_of(update).reply_text(t(lang, "admin.not_allowed"))
        return
    args = context.args or []
    user_id, amount = (_whole(a) for a in args) if len(args) == 2 else (0, 0)
    if not (0 < user_id <= MAX_USER_ID and 0 < amount <= MAX_GRANT):
        await message_of(update).reply_text(t(lang, "admin.grant_usage", max=MAX_GRANT))
        return
    await context.wiring.users.ensure(user_id, user_id, lang)
    new_balance = await context.wiring.ledger.admin_grant(user_id, amount, f"by {user_id_of(update)}")
    await message_of(update).reply_text(t(lang, "admin.granted", amount=amount, user_id=user_id, balance=new_balance))


async def photo(update: Update, context: Context) -> int | None:
    """A photo or image document: validates and stores it, then asks which service (one of an
    album, a media group, never comes here: album.part takes it first, bot/main/app.py). A file
    refused changes nothing: an open menu or summary stays as it was (a text file sent by mistake
    at a summary made its Confirm "expired")."""
    message = message_of(update)
    lang = context.lang
    session = context.session
    attachment = message.photo[-1] if message.photo else message.document
    assert attachment is not None  # the handler's filter is photos and documents
    taken = await take_in(context, user_id_of(update), attachment.file_id, attachment.file_size)
    if isinstance(taken, str):
        await message.reply_text(refusal_text(context, taken))
        return None  # in a dialog: its step stays
    session.drop_drafts()
    # Only the latest photo (or album) not yet ordered with is kept.
    previous, session.photo, session.album = session.unordered_refs(), taken, None
    for ref in previous:
        await context.wiring.photos.discard(ref)
    services = list(context.wiring.enabled_services)
    if not services:
        name = update.effective_user.first_name if update.effective_user else ""
        await message.reply_text(t(lang, "start.no_services", name=name))
        return ConversationHandler.END
    text = t(lang, "menu.pick_service", width=taken.width, height=taken.height)
    if message.photo:
        text += "\n" + t(lang, "menu.tip_file")
    await message.reply_text(text, reply_markup=keyboards.services_menu(lang, services, menu_key(taken.ref)))
    return ConversationHandler.END


async def new_photo(update: Update, context: Context) -> int:
    """Button m:new: asks for a new photo."""
    lang = context.lang
    await answer(update)
    await message_of(update).reply_text(t(lang, "menu.send_new_photo"))
    return ConversationHandler.END


async def text_without_photo(update: Update, context: Context) -> None:
    """Any other text: explains that a photo comes first."""
    lang = context.lang
    await message_of(update).reply_text(t(lang, "menu.send_photo_first"))


async def use_buttons(update: Update, context: Context) -> None:
    """Text at a dialog's step that takes only buttons: it says so, and the step stays (it was told
    to send a photo it had just sent)."""
    await message_of(update).reply_text(t(context.lang, "menu.use_buttons"))


async def not_a_photo(update: Update, context: Context) -> None:
    """A message of another kind (a video, a sticker, a voice message): what the bot takes."""
    await message_of(update).reply_text(t(context.lang, "menu.only_photos"))


async def expired_button(update: Update, context: Context) -> None:
    """A button from a menu that no longer applies."""
    lang = context.lang
    await answer(update, t(lang, "menu.expired"))


async def hili_remaining(update: Update, context: Context) -> None:
    """/hili: admins see how many Hili uses are left."""
    lang = context.lang
    if not is_admin(update, context):
        await message_of(update).reply_text(t(lang, "admin.not_allowed"))
        return
    client = context.wiring.providers.get("hili")
    try:
        nums = await client.uses_left() if client is not None else None
    except ProviderError as err:
        await message_of(update).reply_text(t(lang, "admin_hili.failed", error=err.code))
        return
    if nums is None:
        await message_of(update).reply_text(t(lang, "admin_hili.not_configured"))
        return
    await message_of(update).reply_text(t(lang, "admin_hili.remaining", nums=nums))


def _about_money(update: Update) -> bool:
    """A checkout Telegram waits on, or a payment or refund it reports: never dropped."""
    message = update.message
    return update.pre_checkout_query is not None or (
        message is not None and (message.successful_payment is not None or message.refunded_payment is not None)
    )


async def private_only(update: Update, context: Context) -> None:
    """Runs first of all: the bot works in private chats. In a group, a command or a button is told
    so (in the presser's language) and nothing else happens: no user is registered with the group
    as their chat (an invitation's news would go there), and nobody presses another's menu."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    lang = pick_language(update.effective_user.language_code if update.effective_user else None)
    if update.callback_query is not None:
        await answer(update, t(lang, "menu.private_only"))
    elif update.message is not None and (update.message.text or "").startswith("/"):
        await update.message.reply_text(t(lang, "menu.private_only"))
    raise ApplicationHandlerStop


async def rate_limit(update: Update, context: Context) -> None:
    """Runs before every other handler: drops updates from a user over the per-minute limit."""
    user = update.effective_user
    if user is None:
        return
    context.session.touched = time.monotonic()
    if user.id in context.wiring.settings.telegram.admin_ids or _about_money(update):
        return
    limiter = context.wiring.limiter
    if limiter.allow(user.id, update.message.media_group_id if update.message is not None else None):
        return
    if limiter.should_warn(user.id) and update.effective_chat is not None:
        lang = context.lang
        await context.bot.send_message(chat_id_of(update), t(lang, "limits.slow_down"))
    await answer(update)
    raise ApplicationHandlerStop
