"""How a finished file reaches the user: the photo, its caption, the exact file and the buttons.
Each service says how its files look (``Service.present``); delivery sends what this holds."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.config import Settings
from bot.ops.images import image_extension, image_size
from bot.storage.jobs import Job
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t


@dataclass(frozen=True)
class ResultView:
    """One finished file as the user gets it: a photo with its caption, then the exact file (none
    where ``document_caption`` is None: a free preview, whose exact file is what it sells), and
    the buttons under the last of them."""

    data: bytes
    filename: str
    caption: str
    document_caption: str | None
    keyboard: InlineKeyboardMarkup | None


@dataclass(frozen=True)
class Bundle:
    """The jobs of one order (an album's photos) as one zip, after each was delivered: each exact
    file's stored reference and its name in the zip, and the zip's own name."""

    files: list[tuple[str, str]]
    filename: str
    #: How many jobs the order has (those that failed too): the zip waits for every one.
    jobs: int


def plain_result(job: Job, index: int, data: bytes, lang: str, settings: Settings) -> ResultView:
    """The result of most services: its size in the caption, a "new photo" button below."""
    width, height = image_size(data)
    return ResultView(
        data=data,
        filename=f"{job.service}_{job.id[:8]}_{index + 1}_{width}x{height}.{image_extension(data)}",
        caption=t(lang, "result.caption_generic", width=width, height=height),
        document_caption=t(lang, "result.document_caption"),
        keyboard=keyboards.new_photo(lang),
    )
