"""How a finished job's files are shown: caption, exact-file name and follow-up buttons."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import t
from bot.images import image_extension, image_size
from bot.storage.repo import Job
from providers.specs import load_catalog


@dataclass(frozen=True)
class ResultView:
    data: bytes
    filename: str
    caption: str
    document_caption: str
    keyboard: InlineKeyboardMarkup | None


def present(job: Job, index: int, data: bytes, lang: str) -> ResultView:
    width, height = image_size(data)
    if job.service == "idphoto":
        return _idphoto(job, data, width, height, lang)
    return ResultView(
        data=data,
        filename=f"{job.service}_{job.id[:8]}_{index + 1}_{width}x{height}.{image_extension(data)}",
        caption=t(lang, "result.caption_generic", width=width, height=height),
        document_caption=t(lang, "result.document_caption"),
        keyboard=keyboards.new_photo(lang),
    )


def _idphoto(job: Job, data: bytes, width: int, height: int, lang: str) -> ResultView:
    spec = load_catalog().get(int(job.options["spec_id"]))
    slug = spec.slug if spec else str(job.options["spec_id"])
    dpi = job.options.get("dpi", spec.dpi if spec else 300)
    title = spec.title if spec else slug
    sheet = job.options.get("layout_size")
    if sheet:
        filename = f"idphoto_{slug}_sheet-{sheet}_{width}x{height}.jpg"
        caption = t(lang, "result.sheet_caption", title=title, size=sheet)
    else:
        filename = f"idphoto_{slug}_{width}x{height}_{dpi}dpi.jpg"
        caption = t(lang, "result.idphoto_caption", title=title, width=width, height=height, dpi=dpi)
    image_ids = (job.result or {}).get("image_ids") or []
    can_rerender = not sheet and (bool(image_ids and image_ids[0]) or (job.provider == "local" and bool(job.input_ref)))
    return ResultView(
        data=data,
        filename=filename,
        caption=caption,
        document_caption=t(lang, "result.document_caption"),
        keyboard=keyboards.idphoto_result(lang, job.id, can_rerender),
    )
