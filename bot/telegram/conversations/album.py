"""An album (a Telegram media group: up to ten photos or image files sent at once) collected into
one: the person is shown it once ("Album of 3 photos"), with the services that make an album into
one order (ID photos), and its photos are checked one by one when the spec is known
(bot/services/idphoto/album.py).

Telegram sends each item as a message of its own, sharing ``media_group_id``, and marks none as
the last. Each is kept in the database as it arrives (bot/storage/albums.py) and the album is
taken to be complete once none came for :data:`QUIET_SECONDS`: a timer of the job queue, put off
by every part. Then each item is taken in (downloaded, checked, stored) as one photo is, the
session holds the album, and the album is closed. A restart at any point carries on from the rows:
the process that handles updates next looks for albums not closed (:func:`resume`) and finishes
them, so parts sent around a restart still end in one album, shown once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ConversationHandler, filters

from bot.domain.session import Album, AlbumPhoto, InputPhoto, menu_key
from bot.storage.albums import MAX_PARTS, AlbumPart, Albums
from bot.telegram.context import Context, PhotoBotApp
from bot.telegram.conversations.common import chat_id_of, message_of, user_id_of
from bot.telegram.conversations.intake import refusal_text, take_in
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)

#: Seconds without a new part after which an album is taken to be complete. Telegram sends an
#: album's messages within a fraction of a second of each other.
QUIET_SECONDS = 1.5
#: Seconds before an album Telegram did not take is shown again.
RETRY_SECONDS = 5.0


class _InAlbum(filters.MessageFilter):
    """A message that is part of a media group, whatever it holds (a video, too)."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


IN_ALBUM = _InAlbum(name="IN_ALBUM")


def _attachment(message: Message) -> tuple[str, str | None, int | None]:
    """What a part holds: its kind (photo, document, other) and its file's id and size."""
    if message.photo:
        return "photo", message.photo[-1].file_id, message.photo[-1].file_size
    if message.document is not None:
        return "document", message.document.file_id, message.document.file_size
    return "other", None, None


async def part(update: Update, context: Context) -> int:
    """One message of an album: kept, and the album's timer put off; ends any conversation."""
    message = message_of(update)
    assert message.media_group_id is not None
    kind, file_id, size = _attachment(message)
    user_id, chat_id = user_id_of(update), chat_id_of(update)
    kept = AlbumPart(user_id, chat_id, message.media_group_id, message.message_id, kind, file_id, size, time.time())
    added = await Albums(context.wiring.db).add_part(kept)
    if added == "added":
        _schedule(context.application, user_id, chat_id, message.media_group_id, QUIET_SECONDS)
    elif added == "late":  # its album was shown already: a second album would surprise
        await message.reply_text(t(context.lang, "album.late"))
    elif added == "full":  # Telegram sends at most ten; a client that sends more is not followed
        log.info("user %s: an album part past the %dth was left out", user_id, MAX_PARTS)
    return ConversationHandler.END


def _schedule(
    app: Application[Any, Any, Any, Any, Any, Any], user_id: int, chat_id: int, group: str, delay: float
) -> None:
    """(Re)start the album's quiet timer."""
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    name = f"album:{user_id}:{group}"
    for job in app.job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    app.job_queue.run_once(
        _quiet, when=max(0.0, delay), data=(user_id, chat_id, group), name=name, user_id=user_id, chat_id=chat_id
    )


async def _quiet(context: Context) -> None:
    assert context.job is not None
    data: tuple[int, int, str] = context.job.data  # type: ignore[assignment]
    user_id, chat_id, group = data
    await finish(context, user_id, chat_id, group)


async def resume(app: PhotoBotApp, predecessor_done_in: float = 0.0) -> int:
    """Finish the albums a process before this one was collecting or taking in (a restart): each
    after the quiet moment, since its last parts may still be on their way, and not within
    ``predecessor_done_in`` seconds, while the process that held the updates right before may still
    be finishing them (it lost the right, and does not know yet: bot/storage/store.Exclusive's
    ``overlap``). Before, both showed the album. How many."""
    albums = await Albums(app.bot_data.wiring.db).open_albums()
    for user_id, chat_id, group in albums:
        _schedule(app, user_id, chat_id, group, max(QUIET_SECONDS, predecessor_done_in))
    if albums:
        log.info("finishing %d albums collected before a restart", len(albums))
    return len(albums)


async def finish(context: Context, user_id: int, chat_id: int, group: str) -> None:
    """The album is complete unless a part came within the quiet moment: each item taken in, the
    album put in the session (the photo or album before it dropped) and shown, then closed."""
    key = (user_id, group)
    finishing = context.bot_data.albums_finishing
    if key in finishing:  # a part came while it was being taken in: look again after it
        _schedule(context.application, user_id, chat_id, group, QUIET_SECONDS)
        return
    task = asyncio.current_task()
    assert task is not None
    finishing[key] = task
    try:
        await _finish(context, user_id, chat_id, group)
    finally:
        del finishing[key]


def abandon(app: PhotoBotApp) -> None:
    """Stop finishing every album under way at once (the updates right was lost): each stays open,
    as by a process that died, and the process taking over finishes it (:func:`resume`). A job of
    the job queue, not an update: :meth:`bot.telegram.inbox.UpdateInbox.abandon` does not reach it,
    and before, it went on to show the album beside the new holder and to write its session."""
    for task in app.bot_data.albums_finishing.values():
        task.cancel()


async def _finish(context: Context, user_id: int, chat_id: int, group: str) -> None:
    albums = Albums(context.wiring.db)
    parts = await albums.parts(user_id, group)
    if not parts or parts[0].closed_at is not None:
        return
    wait = max(p.received_at for p in parts) + QUIET_SECONDS - time.time()
    if wait > 0:
        _schedule(context.application, user_id, chat_id, group, wait)
        return
    with contextlib.suppress(TelegramError):  # the photos are being fetched: "typing…" meanwhile
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    while waiting := [p for p in parts if not p.taken_in]:
        for each in waiting:
            await _take_in(context, albums, each)
        parts = await albums.parts(user_id, group)  # and any that came meanwhile
    session = context.session
    album = Album(
        group,
        [
            AlbumPhoto(
                number,
                InputPhoto(p.input_ref, p.width or 0, p.height or 0) if p.input_ref is not None else None,
                p.refusal,
            )
            for number, p in enumerate(parts, start=1)
        ],
    )
    previous = [ref for ref in session.unordered_refs() if ref not in album.refs()]
    session.drop_drafts()
    session.photo, session.album = None, album
    for ref in previous:  # only the latest photo or album not yet ordered with is kept
        await context.wiring.photos.discard(ref)
    if not await _show(context, user_id, chat_id, album, parts[0].message_id):
        _schedule(context.application, user_id, chat_id, group, RETRY_SECONDS)
        return
    # The session is written now, not at the next periodic write: once the album is closed, the
    # session is what holds it.
    if context.application.persistence is not None:
        await context.application.persistence.update_user_data(user_id, session)
    for late in await albums.close(user_id, group, [p.message_id for p in parts]):
        await _came_late(context, chat_id, late)


async def _came_late(context: Context, chat_id: int, message_id: int) -> None:
    """A part that came while its album was being shown: not in it, and told so (as one that comes
    after the album was shown is, by :func:`part`), rather than left out unsaid."""
    lang = context.session.lang or "en"
    reply = ReplyParameters(message_id, allow_sending_without_reply=True)
    try:
        await context.bot.send_message(chat_id, t(lang, "album.late"), reply_parameters=reply)
    except TelegramError as err:
        log.info("could not tell chat %s that a photo came after its album: %s", chat_id, err)


async def _take_in(context: Context, albums: Albums, each: AlbumPart) -> None:
    """One item of the album, as one photo is taken in; anything but a photo or a file refused."""
    if each.kind == "other" or each.file_id is None:
        await albums.taken_in(each, refusal="album.not_a_photo")
        return
    taken = await take_in(context, each.user_id, each.file_id, each.file_size)
    if isinstance(taken, str):
        await albums.taken_in(each, refusal=taken)
    else:
        await albums.taken_in(each, ref=taken.ref, size=(taken.width, taken.height))


def numbered_line(lang: str, key: str, numbers: list[int], text: str) -> str:
    """One reason's line: "Photo 3: …" or "Photos 1, 2, 5: …"."""
    named = "album.photo_numbered" if len(numbers) == 1 else "album.photos_numbered"
    photos = t(lang, named, numbers=t(lang, "list.separator").join(map(str, numbers)))
    return t(lang, key, photos=photos, reason=text)


async def _show(context: Context, user_id: int, chat_id: int, album: Album, first_message: int) -> bool:
    """ "Album of N photos", what was refused on the way in and why, and the services that take an
    album, in reply to its first message; False when Telegram could not be reached."""
    lang = context.session.lang or await context.wiring.users.language(user_id) or "en"
    context.session.lang = lang
    count = len(album.photos)
    by_reason: dict[str, list[int]] = {}
    for photo in album.photos:
        if photo.refusal is not None:
            by_reason.setdefault(refusal_text(context, photo.refusal, lang), []).append(photo.number)
    lines = [numbered_line(lang, "album.refused_line", numbers, reason) for reason, numbers in by_reason.items()]
    refused = "\n\n" + "\n".join(lines) if lines else ""
    services = [name for name in context.wiring.enabled_services if context.wiring.services[name].albums]
    markup = None
    if not album.usable:
        text = t(lang, "album.none_taken", count=count) + refused
    elif not services:
        text = t(lang, "album.no_service", count=count) + refused
    else:
        text = t(lang, "album.pick_service", count=count, usable=len(album.usable)) + refused
        markup = keyboards.services_menu(lang, services, menu_key(album.key))
    reply = ReplyParameters(first_message, allow_sending_without_reply=True)
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup, reply_parameters=reply)
    except Forbidden:  # blocked the bot: nothing to show, the album is closed
        return True
    except TelegramError as err:  # the album stays open: shown at the next try
        log.info("could not show an album to chat %s: %s", chat_id, err)
        return False
    return True
