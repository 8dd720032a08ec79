"""Helpers every handler uses: the user's language and answering a button press."""

from __future__ import annotations

import logging
from typing import TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest

from bot.domain.session import InputPhoto
from bot.storage.jobs import Job, JobState
from bot.telegram.context import Context
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import Action
from bot.telegram.ui.i18n import pick_language, t
from providers.errors import EngineBusy, EngineCrashed, EngineTimeout
from providers.localengine.findings import FaceFindings

log = logging.getLogger(__name__)


def message_of(update: Update) -> Message:
    """The message an update is about (the one sent, or the one a pressed button is on)."""
    message = update.effective_message
    assert message is not None, "handlers are registered for updates with a message"
    return message


def query_of(update: Update) -> CallbackQuery:
    """The button press of a callback-query handler's update."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    return query


A = TypeVar("A", bound=Action)


def pressed(update: Update, action: type[A]) -> A | None:
    """The button press as its typed action; None when its data is not that action's (forged or
    from an older version of the bot), which the handler answers and ignores."""
    return action.parse(query_of(update).data)


def user_id_of(update: Update) -> int:
    user = update.effective_user
    assert user is not None, "every update the bot asks for (messages, button presses) has a user"
    return user.id


def order_key_of(update: Update) -> str:
    """The key of an order placed straight from ``update`` (a free preview's): the same when the
    update is handled again, by a bot process taking over from one that died before marking it
    handled, so the store finds it placed instead of making it twice. A button press's id is
    unique; a message's id is unique in its chat, the user's own. (Update ids are not: Telegram
    may start them anew after a week without updates.)"""
    if update.callback_query is not None:
        return f"q{update.callback_query.id}"
    return f"m{message_of(update).message_id}"


def chat_id_of(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None, "every update the bot asks for (messages, button presses) has a chat"
    return chat.id


async def finished_job(update: Update, context: Context, job_id: str | None, service: str) -> Job | None:
    """The user's own finished job of ``service`` that a button under a result names; None for
    anyone else's, another service's, an unfinished one, or forged data."""
    job = await context.wiring.jobs.get(job_id) if job_id else None
    if (
        job is None
        or job.service != service
        or job.user_id != user_id_of(update)
        or job.state != JobState.SUCCEEDED
        or not job.result
    ):
        return None
    return job


async def register_user(update: Update, context: Context) -> None:
    """Runs first for every update (group -3): registers a user on first sight, with today's free
    credits, and puts their language in the session, so that handlers read ``context.lang``."""
    if update.effective_user is not None and update.effective_chat is not None:
        await user_language(update, context)


async def user_language(update: Update, context: Context) -> str:
    """The user's language; registers the user (and today's free credits) on first sight, noting
    an invitation they came through (bot/storage/invites.py)."""
    session = context.session
    if session.lang is None:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None
        record = await context.wiring.users.ensure(
            user.id, chat.id, pick_language(user.language_code), invite_code(update)
        )
        session.lang = record.language
    return session.lang


def invite_code(update: Update) -> str | None:
    """The code of ``/start <code>`` (an invitation link opened), if the update is that."""
    message = update.message
    words = message.text.split() if message is not None and message.text else []
    if len(words) == 2 and words[0].split("@")[0] == "/start":
        return words[1][:64]
    return None


def is_admin(update: Update, context: Context) -> bool:
    """Whether the update is from one of ``telegram.admin_ids``."""
    return user_id_of(update) in context.wiring.settings.telegram.admin_ids


async def answer(update: Update, text: str | None = None) -> None:
    """Acknowledge a button press (stops the client's spinner), optionally with a toast. Telegram
    takes an answer for some seconds only: a press made while the bot was down reaches it when it
    is back, too late to answer, and what the press asked for is done all the same."""
    if update.callback_query is None:
        return
    try:
        await query_of(update).answer(text)
    except BadRequest as err:
        if "query is too old" not in err.message.lower():
            raise
        log.info("button press %s answered too late: %s", update.callback_query.id, err.message)


async def face_findings(context: Context, photo: InputPhoto | None = None) -> FaceFindings:
    """The face check of the session's photo (or ``photo``: one of an album), made once per photo
    (unchecked without the engine)."""
    photo = photo or context.session.photo
    assert photo is not None
    engine = context.wiring.engine
    async with photo.checking:
        if photo.face is None:
            if engine is None:
                photo.face = FaceFindings(checked=False)
            else:
                limits = context.wiring.settings.providers.local.limits()
                try:
                    photo.face = await engine.inspect(context.wiring.media.path(photo.ref), limits)
                except EngineCrashed:
                    # The provider will still refuse a photo without a face.
                    photo.face = FaceFindings(checked=False)
    return photo.face


async def face_ok(update: Update, context: Context, *, id_photo: bool) -> bool:
    """Whether the photo has one usable face (for an ID photo: also a straight, open-eyed, sharp,
    well-lit one); if not, say why. Nothing is charged either way. A button press is its
    caller's to answer: Telegram refuses a second answer."""
    lang = context.lang
    try:
        findings = await face_findings(context)
    except (EngineBusy, EngineTimeout):
        await message_of(update).reply_text(t(lang, "error.engine_busy"))
        return False
    problem = findings.problem or (findings.id_problem if id_photo else None)
    if problem is None:
        return True
    await message_of(update).reply_text(t(lang, f"face.{problem}"), reply_markup=keyboards.new_photo(lang))
    return False


async def ready_photo(update: Update, context: Context, *, needs_face: bool, id_photo: bool = False) -> bool:
    """Whether the stored photo can start a service; if there is none, or (for services that need
    a face) it has no usable one, the user is told so."""
    if context.session.photo is None:
        lang = context.lang
        await message_of(update).reply_text(t(lang, "idphoto.need_photo"))
        return False
    return not needs_face or await face_ok(update, context, id_photo=id_photo)
