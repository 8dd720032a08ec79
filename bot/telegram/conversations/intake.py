"""Taking in a photo or image file someone sent: downloaded, validated, normalised and stored, or
refused with what to do instead. One photo (menu.py) and each photo of an album (album.py) pass here."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError

from bot.domain.session import InputPhoto
from bot.ops.images import MAX_INPUT_BYTES, MAX_STORED_BYTES, MAX_STORED_SIDE, ImageRejected, normalise, probe
from bot.telegram.context import Context
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)


async def take_in(context: Context, user_id: int, file_id: str, file_size: int | None) -> InputPhoto | str:
    """A photo or image file sent by ``user_id``: downloaded, validated, normalised and stored; or
    the locale key that says why not (too large, not an image, no room). Nothing else changes."""
    photos = context.wiring.photos
    if file_size and file_size > MAX_INPUT_BYTES:
        return "input.file_too_large"
    if photos.disk_low():
        log.warning("free disk below database.min_free_disk_mb: a new photo was turned away")
        return "input.try_later"
    async with context.wiring.decodes.turn(user_id):
        try:
            telegram_file = await context.bot.get_file(file_id)
            data = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as err:
            log.info("could not download a user photo: %s", err)
            return "input.file_too_large" if "too big" in str(err).lower() else "input.download_failed"
        try:
            cost = (await asyncio.to_thread(probe, data, max_side=MAX_STORED_SIDE)).cost
            async with context.wiring.decodes.reserve(user_id, cost):
                image = await asyncio.to_thread(normalise, data, max_side=MAX_STORED_SIDE, max_bytes=MAX_STORED_BYTES)
        except ImageRejected as err:
            return f"input.{err.code}"
    if await photos.over_cap(user_id, len(image.data)):
        return "input.storage_full"
    ref = await asyncio.to_thread(context.wiring.media.save_input, image.data)
    return InputPhoto(ref=ref, width=image.width, height=image.height)


def refusal_text(context: Context, key: str, lang: str | None = None) -> str:
    """What :func:`take_in` refused a photo with, in the user's language (or ``lang``)."""
    settings = context.wiring.settings.database
    if key == "input.storage_full" and not settings.media_retention_days:  # 0: photos are never deleted
        key = "input.storage_full_kept"
    return t(lang or context.lang, key, mb=f"{settings.max_user_mb:g}", days=f"{settings.media_retention_days:g}")
