"""Result images and job outcomes -> Telegram, once.

A finished job is claimed for delivery with a compare-and-set (``delivery: NULL ->
sending``); each part (photo, document, status edit) is recorded as sent right after
Telegram accepts it, so a restart in the middle sends only the parts still missing. These
writes are the job driver's (``LeasedJobs``): a worker that lost the job's lease to another
stops at the first one refused, leaving the rest to the new holder.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import time
import zipfile
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.jobs.events import DeliveryPostponed
from bot.ops.images import image_size, jpeg_within
from bot.ops.media import MediaStore
from bot.storage.albums import Albums
from bot.storage.invites import Invites, Reward
from bot.storage.jobs import Job, JobState
from bot.storage.leases import LeasedJobs
from bot.storage.users import Users
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t
from bot.telegram.ui.results import Bundle, ResultView

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
#: Telegram's limit of items in one media group.
MAX_ALBUM = 10
#: The largest zip of an album's exact files: Telegram takes documents of up to 50 MB from a bot.
MAX_ZIP_BYTES = 45 * 1024 * 1024
#: Bytes of a zip's headers counted for each file and for the archive.
ZIP_OVERHEAD = 128
#: Telegram's limits of a photo a bot uploads: at most 10 MB, width and height at most 10000 pixels
#: together (and neither side over 20 times the other, which no scaling mends).
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
#: The longest side Telegram shows a photo at: a copy made to fit its limits is no larger.
PHOTO_SHOWN_SIDE = 2560
#: Sends one part of a delivery (a message), when awaited.
Send = Callable[[], Awaitable[object]]


#: Errors whose text tells the user the operator has been told (an admin is alerted: bot/telegram/alerts.py).
TOLD_THE_OPERATOR = frozenset({"provider_auth", "provider_quota", "region_blocked", "request_refused"})


class Delivery:
    """The job runner's events (bot/jobs/events.JobEvents) as Telegram messages."""

    def __init__(
        self,
        bot: Bot,
        users: Users,
        media: MediaStore,
        alerts: OperatorAlerts,
        present: Callable[[Job, int, bytes, str], ResultView],
        *,
        edit_interval: float = 2.0,
        cancellable_providers: frozenset[str] = frozenset(),
        delivered: Callable[[Job, float], None] | None = None,
        label: Callable[[Job, str], str | None] | None = None,
        bundle: Callable[[str, str], Awaitable[Bundle | None]] | None = None,
    ) -> None:
        #: The zip of the exact files of an order (its first job's id), as its service names them
        #: (an album's); None for an order its service makes no zip of.
        self.bundle = bundle
        #: What tells a job from the others of its order (an ID photo's size), for its status.
        self.label = label
        #: Told of each result delivered and the seconds since its order was placed (/metrics).
        self.delivered = delivered
        #: Providers that drop accepted tasks on request: only their running jobs still offer Cancel.
        self.cancellable_providers = cancellable_providers
        self.bot = bot
        self.users = users
        self.media = media
        self.alerts = alerts
        #: How each finished file is shown: its service's ``present``.
        self.present = present
        self.edit_interval = edit_interval
        self._last_edit: dict[str, float] = {}

    async def _language(self, job: Job) -> str:
        return await self.users.language(job.user_id) or "en"

    async def progress(self, job: Job, percent: int, queue_position: int | None) -> None:
        """Edit the status message with progress, at most once per ``edit_interval``."""
        if job.status_message_id is None:
            return
        now = time.monotonic()
        if now - self._last_edit.get(job.id, 0.0) < self.edit_interval:
            return
        self._last_edit[job.id] = now
        if queue_position:
            await self._show_running(job, "job.queue_position", position=queue_position)
        else:
            await self._show_running(job, "job.progress", percent=percent)

    async def accepted(self, job: Job) -> None:
        """The provider took the task and cannot drop it: the status says the result is on its way
        and no longer offers Cancel."""
        if job.status_message_id is not None:
            self._last_edit[job.id] = time.monotonic()
            await self._show_running(job, "job.on_its_way")

    async def trouble(self, job: Job) -> None:
        """Tell the user the provider is failing to answer while the bot keeps asking; the next
        progress edit goes through at once, so the note disappears when the provider recovers."""
        if job.status_message_id is None:
            return
        self._last_edit.pop(job.id, None)
        await self._show_running(job, "job.provider_slow")

    async def _show_running(self, job: Job, key: str, **values: object) -> None:
        """Edit the status message of a running job (text ``key``, Cancel while it can still save
        the provider's work); best effort."""
        lang = await self._language(job)
        markup = keyboards.job_running(lang, job.id) if job.provider in self.cancellable_providers else None
        try:
            await self.bot.edit_message_text(
                t(lang, key, **values),
                chat_id=job.chat_id,
                message_id=job.status_message_id,
                reply_markup=markup,
            )
        except (BadRequest, Forbidden, NetworkError) as err:
            log.debug("status edit for job %s skipped: %s", job.id, err)

    async def deliver(self, job: Job, jobs: LeasedJobs) -> None:
        """Send what ``job`` came to, writing through its driver's ``jobs``."""
        if job.delivery == "done":
            return
        if job.delivery is None:
            if not await jobs.begin_delivery(job.id):
                return
            if job.state == JobState.FAILED:
                await self.alerts.job_failed(job)
        self._last_edit.pop(job.id, None)
        lang = await self._language(job)
        sent = list(job.sent_parts)
        # Off the event loop: the files are read, and a preview's watermark is drawn and encoded.
        parts = await asyncio.to_thread(self._parts, job, lang)
        if job.order_group is not None and self.bundle is not None:  # an album's: its zip, once
            parts.append(("zip", functools.partial(self._zip, job, lang)))
        if job.state == JobState.SUCCEEDED and (reward := await Invites(self.users.db).rewarded_by(job.id)):
            parts += self._reward_parts(job, lang, reward)
        try:
            for name, send in parts:
                if name in sent:
                    continue
                await self._send(send, job, name)
                sent.append(name)
                if not await jobs.record_part(job.id, sent):
                    log.warning("job %s: its lease was taken over; the new holder sends the rest", job.id)
                    return
        except Forbidden:
            log.info("job %s: user %s blocked the bot; delivery dropped", job.id, job.user_id)
        ended = await jobs.end_delivery(job.id)  # refused: another worker holds it and counts it
        if ended and job.state == JobState.SUCCEEDED and self.delivered is not None:
            self.delivered(job, time.time() - job.created_at)

    def _reason(self, error: str | None) -> str:
        """The text of a failed job's error; those that say the operator has been told, only when
        an admin is there to be told (alerts go to telegram.admin_ids alone)."""
        if not error:
            return "error.processing_failed"
        if error in TOLD_THE_OPERATOR and not self.alerts.anyone:
            return f"error.{error}_no_operator"
        return f"error.{error}"

    def _parts(self, job: Job, lang: str) -> list[tuple[str, Send]]:
        parts: list[tuple[str, Send]] = []
        if job.state == JobState.SUCCEEDED and job.result:
            parts = result_messages(self.bot, job, job.chat_id, lang, self.media, self.present)
            text, markup = t(lang, "job.done", price=job.price) if job.price else t(lang, "job.done_free"), None
        elif job.state == JobState.CANCELLED:
            text = t(lang, "job.cancelled", price=job.price) if job.price else t(lang, "job.cancelled_free")
            markup = keyboards.new_photo(lang)
        else:
            reason = t(lang, self._reason(job.error))
            text = t(lang, "job.failed" if job.price else "job.failed_free", reason=reason, price=job.price)
            markup = keyboards.job_failed(lang, job.id)
        # One of several jobs of one order (more sizes of an ID photo): its status names it.
        what = self.label(job, lang) if job.order_group is not None and self.label is not None else None
        if what:
            text = t(lang, "job.part_status", what=what, status=text)
        parts.append(("status", lambda: self._status(job, text, markup)))
        return parts

    def _reward_parts(self, job: Job, lang: str, reward: Reward) -> list[tuple[str, Send]]:
        """The order earned its buyer and the person who invited them an invitation bonus: both told,
        after the order's own files, the inviter last and best effort (an inviter who blocked the
        bot must not cost the buyer anything of their order)."""
        parts: list[tuple[str, Send]] = [
            (
                "bonus",
                functools.partial(self.bot.send_message, job.chat_id, t(lang, "invite.earned", bonus=reward.bonus)),
            )
        ]
        if reward.inviter_chat_id is not None:
            text = t(reward.inviter_language, "invite.earned_inviter", bonus=reward.bonus)
            parts.append(("bonus_inviter", functools.partial(self._tell_inviter, reward.inviter_chat_id, text)))
        return parts

    async def _tell_inviter(self, chat_id: int, text: str) -> None:
        try:
            await self.bot.send_message(chat_id, text)
        except (Forbidden, BadRequest) as err:
            log.info("the inviter's bonus note to chat %s not sent: %s", chat_id, err)

    async def _zip(self, job: Job, lang: str) -> None:
        """The zip of the exact files of the order ``job`` is one of, sent by the job whose delivery
        ends last (bot/storage/albums.Albums.delivered): the others only note that theirs ended."""
        assert job.order_group is not None and self.bundle is not None
        bundle = await self.bundle(job.order_group, lang)  # None: not an album's (several sizes of one photo)
        albums = Albums(self.users.db)
        if bundle is None or not await albums.delivered(job.user_id, job.order_group, job.id, bundle.jobs):
            return
        await send_zip(self.bot, job.chat_id, self.media, bundle, lang)

    async def _status(self, job: Job, text: str, markup: InlineKeyboardMarkup | None) -> None:
        if job.status_message_id is not None:
            try:
                await self.bot.edit_message_text(
                    text, chat_id=job.chat_id, message_id=job.status_message_id, reply_markup=markup
                )
                return
            except BadRequest as err:
                if "not modified" in str(err).lower():
                    return
                log.info("job %s: status message cannot be edited (%s); sending a new one", job.id, err)
        await self.bot.send_message(job.chat_id, text, reply_markup=markup)

    async def _send(self, send: Send, job: Job, part: str) -> None:
        for attempt in range(SEND_ATTEMPTS):
            try:
                await send()
                return
            except RetryAfter as err:
                delay = (
                    err.retry_after if isinstance(err.retry_after, (int, float)) else err.retry_after.total_seconds()
                )
                await asyncio.sleep(delay)
            except BadRequest as err:
                log.warning("job %s: Telegram refused part %s: %s", job.id, part, err)
                return
            except Forbidden:
                raise
            except NetworkError as err:
                log.info("job %s: sending %s failed (%s), attempt %d", job.id, part, err, attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
        raise DeliveryPostponed(f"part {part} of job {job.id} could not be sent")


async def send_zip(bot: Bot, chat_id: int, media: MediaStore, bundle: Bundle, lang: str) -> None:
    """An album's zip of its exact files (as many as fit in ``MAX_ZIP_BYTES``, the caption says
    how many were left out), sent to ``chat_id``; nothing when not one of its files is kept."""
    if not bundle.files:
        return
    data, packed = await asyncio.to_thread(zip_files, media, bundle.files, MAX_ZIP_BYTES)
    if not packed:
        return
    caption = t(lang, "album.zip_caption", count=packed)
    if packed < len(bundle.files):
        caption += "\n" + t(lang, "album.zip_partial", left=len(bundle.files) - packed)
    await bot.send_document(
        chat_id, document=data, filename=bundle.filename, caption=caption, disable_content_type_detection=True
    )


def zip_files(media: MediaStore, files: list[tuple[str, str]], limit: int) -> tuple[bytes, int]:
    """A zip of the stored files (``(name in the zip, stored ref)``), in order, as long as they fit
    in ``limit`` bytes (JPEGs are stored, not compressed: they would not shrink); with how many went
    in. A file no longer stored is left out. Reads the files: call it off the event loop."""
    out = io.BytesIO()
    packed = 0
    used = ZIP_OVERHEAD
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, ref in files:
            if not media.exists(ref):
                continue
            data = media.read(ref)
            used += len(data) + ZIP_OVERHEAD + 2 * len(name.encode())
            if used > limit:
                break
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
            packed += 1
    return out.getvalue(), packed


def as_photo(data: bytes) -> bytes:
    """A finished file as Telegram takes it for a photo: the file itself when it is within Telegram's
    limits, else a smaller JPEG copy (an enhanced photo is often twice the size of one Telegram
    takes: the exact file goes as a document). Decodes a large file: call it off the event loop."""
    width, height = image_size(data)
    if len(data) <= PHOTO_MAX_BYTES and width + height <= PHOTO_MAX_SIDES:
        return data
    return jpeg_within(data, PHOTO_SHOWN_SIDE, PHOTO_MAX_BYTES)


def result_messages(
    bot: Bot,
    job: Job,
    chat_id: int,
    lang: str,
    media: MediaStore,
    present: Callable[[Job, int, bytes, str], ResultView],
) -> list[tuple[str, Send]]:
    """A finished job's files as the messages that show them in ``chat_id``, each named as delivery records it:
    the photo (an album when there are several), then the exact files and by-products, the
    buttons under the last. /orders sends them again the same way. Reads the files (and draws a
    preview's watermark): call it off the event loop."""
    assert job.result is not None
    parts: list[tuple[str, Send]] = []
    files, extras = job.result.files, job.result.extra_files
    views = [present(job, i, media.read(ref), lang) for i, ref in enumerate(files)]
    # By-products (face close-ups of an enhanced photo) follow as files, after the result.
    documents = [(view, view.document_caption) for view in views if view.document_caption is not None] + [
        (present(job, len(files) + i, media.read(ref), lang), t(lang, "result.extra_caption", number=i + 1))
        for i, ref in enumerate(extras)
    ]
    keyboard = views[-1].keyboard if views else None
    if len(views) == 1:  # the buttons go under the last file, the photo when it is the only one
        photo = functools.partial(
            bot.send_photo,
            chat_id,
            photo=as_photo(views[0].data),
            caption=views[0].caption,
            reply_markup=None if documents else keyboard,
        )
        parts.append(("photo0", photo))
    elif views:
        album = [InputMediaPhoto(as_photo(v.data), caption=v.caption) for v in views[:MAX_ALBUM]]
        parts.append(("album", lambda: bot.send_media_group(chat_id, media=album)))
    for index, (view, caption) in enumerate(documents):
        markup = keyboard if index == len(documents) - 1 else None
        document = functools.partial(
            bot.send_document,
            chat_id,
            document=view.data,
            filename=view.filename,
            caption=caption,
            disable_content_type_detection=True,
            reply_markup=markup,
        )
        parts.append((f"document{index}", document))
    return parts
