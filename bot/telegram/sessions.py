"""Per-user memory between updates: conversations end after ``telegram.conversation_timeout``
seconds without a reply, and the sessions of users quiet that long are dropped.

python-telegram-bot keeps a session (``user_data``) for every user it has ever seen and a
conversation state for everyone who left a menu open; with a hundred thousand users both would
only grow. A session is small and bounded (a photo reference, one order being put together), so
dropping the quiet ones bounds the whole.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ConversationHandler

from bot.ops.photos import PhotoKeeper
from bot.storage.albums import Albums
from bot.telegram.context import Context, PhotoBotApp
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)

#: Seconds between two sweeps of quiet sessions.
SWEEP_INTERVAL = 60.0


async def conversation_timed_out(update: object, context: Context, *, service: str) -> None:
    """``service``'s conversation's TIMEOUT step: its open menu is closed so that its buttons cannot
    act on old choices, and what it was choosing is forgotten. Only its own: an order on a summary
    (Try again, another service's) and the other services' choices stay (before, one dialog's
    timeout emptied the summary another had shown)."""
    context.session.services.pop(service, None)
    if not isinstance(update, Update) or update.callback_query is None:
        return
    lang = context.lang
    try:
        await update.callback_query.edit_message_text(t(lang, "menu.timed_out"), reply_markup=keyboards.new_photo(lang))
    except TelegramError as err:
        log.debug("could not close a timed-out menu: %s", err)


async def forget_quiet_sessions(
    app: PhotoBotApp, quiet_for: float, photos: PhotoKeeper, albums: Albums, now: float | None = None
) -> int:
    """Drop the sessions of users with no update for ``quiet_for`` seconds, and the photos they
    sent but never ordered with, and the albums shown that long ago (the parts' rows, with the
    person's Telegram file ids: before, kept until their next album or /forget). How many
    sessions were dropped."""
    await albums.forget_shown(time.time() - quiet_for)
    now = time.monotonic() if now is None else now
    quiet = [user_id for user_id, session in app.user_data.items() if now - session.touched >= quiet_for]
    for user_id in quiet:
        session = app.user_data.get(user_id)
        app.drop_user_data(user_id)
        for ref in session.unordered_refs() if session is not None else []:
            await photos.discard(ref)
    if quiet:
        log.info("forgot %d quiet sessions", len(quiet))
    return len(quiet)


def end_conversations(
    app: Application[Any, Any, Any, Any, Any, Any], chat_id: int, user_id: int, *, keep: str | None = None
) -> int:
    """End every conversation step the user is at but ``keep``'s (a conversation's name), and its
    time limit: /forget, so that none is written back after its kept row was deleted (python-
    telegram-bot then deletes the kept ones too), and a service's dialog starting, so that one
    dialog is open at a time (before, text typed for one went to another's step, and one's time
    limit closed another's menu). How many. python-telegram-bot has no public way to end a
    conversation from outside its handler: this takes the step and its time limit out of the
    handler's own (tracked) dicts, as ending it there would."""
    ended = 0
    key = (chat_id, user_id)
    for handlers in app.handlers.values():
        for handler in handlers:
            if not isinstance(handler, ConversationHandler) or handler.name == keep:
                continue
            timeout = handler.timeout_jobs.pop(key, None)
            if timeout is not None:
                timeout.schedule_removal()
            if handler._conversations.pop(key, None):
                ended += 1
    return ended
