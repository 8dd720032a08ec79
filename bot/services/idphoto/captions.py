"""How an ID photo reads: the background and the order as the summary and /orders name them, and
the finished photo as the user gets it (caption, exact-file name, re-edit buttons; a free local
preview reduced and watermarked, with Confirm and Cancel). The spec line, the placement and the
checklist as text are in ``report_text.py``."""

from __future__ import annotations

from collections.abc import Collection

from telegram.constants import MessageLimit

from bot.config import PicwishPrices, Settings
from bot.ops.images import image_size, watermarked
from bot.services.idphoto import buttons
from bot.services.idphoto.report_text import checklist_text, placement_text
from bot.storage.jobs import Job
from bot.telegram.ui.i18n import t, telegram_length
from bot.telegram.ui.results import ResultView
from providers.orders import IdPhotoOrder
from providers.specs import MM_PER_INCH, load_catalog


def colour_text(order: IdPhotoOrder, lang: str, palette: Collection[str]) -> str:
    """The background as the summary names it: a palette colour by name, a typed one by its code,
    a gradient with where it fades to."""
    name = order.color_name
    color = t(lang, f"color.{name}") if name in palette else name
    return t(lang, "idphoto.gradient_to", color=color, end=f"#{order.bg_color2}") if order.bg_color2 else color


def part_text(order: IdPhotoOrder, lang: str, palette: Collection[str]) -> str:
    """One size of an order of several: "USA Visa · 51×51 mm, white"."""
    spec = load_catalog().for_order(order)
    title = spec.name(lang) if spec else str(order.spec_id)
    mm_w, mm_h = spec.mm if spec else (order.mm_width, order.mm_height)
    return t(lang, "idphoto.part", title=title, w=mm_w, h=mm_h, color=colour_text(order, lang, palette))


def order_label(order: IdPhotoOrder, lang: str) -> str:
    """The spec an order was for, as /orders names it; with its paper for a print sheet, and its
    number for a photo of an album."""
    spec = load_catalog().for_order(order)
    title = spec.name(lang) if spec else str(order.spec_id)
    paper = t(lang, f"paper.{order.layout_size}") if order.layout_size else None
    label = t(lang, "result.sheet_caption", title=title, size=paper) if paper else title
    return t(lang, "album.photo_part", number=order.album_photo, what=label) if order.album_photo else label


def _caption(*parts: str) -> str:
    """The parts, one paragraph each, as many as Telegram takes in a caption (the first always, as
    many of its lines as fit). Counted as Telegram counts, in UTF-16 code units: counted in
    characters, a caption of 1,023 with its two emoji (👁, 📏) was 1,025 long for Telegram, which
    refused the photo with it, and a free preview never came."""
    caption = _lines_that_fit(parts[0])
    for part in parts[1:]:
        if telegram_length(caption) + 2 + telegram_length(part) <= MessageLimit.CAPTION_LENGTH:
            caption += "\n\n" + part
    return caption


def _lines_that_fit(text: str) -> str:
    """``text``, or as many of its first lines as a caption takes (at least the start of the first)."""
    if telegram_length(text) <= MessageLimit.CAPTION_LENGTH:
        return text
    lines = text.split("\n")
    kept = lines[:1]
    for line in lines[1:]:
        if telegram_length("\n".join([*kept, line])) > MessageLimit.CAPTION_LENGTH:
            break
        kept.append(line)
    units = "\n".join(kept).encode("utf-16-le")[: 2 * MessageLimit.CAPTION_LENGTH]
    return units.decode("utf-16-le", errors="ignore")


def _local_preview(job: Job, order: IdPhotoOrder, data: bytes, lang: str, settings: Settings) -> ResultView:
    """A free local preview: reduced and watermarked, with its checklist, Confirm (the normal price)
    and Cancel. The exact file is not sent: it is what Confirm buys."""
    width, height = image_size(data)
    spec = load_catalog().for_order(order)
    title = spec.name(lang) if spec else str(order.spec_id)
    mm_w, mm_h = spec.mm if spec else (round(width * MM_PER_INCH / order.dpi), round(height * MM_PER_INCH / order.dpi))
    heading = t(
        lang, "idphoto.preview_caption", title=title, mm_w=mm_w, mm_h=mm_h, width=width, height=height, dpi=order.dpi
    )
    placement = job.result.placement if job.result else None
    checks = checklist_text(spec, placement, lang) if spec and placement else ""
    price = settings.providers.local.price
    return ResultView(
        data=watermarked(data),
        filename=f"idphoto_{spec.slug if spec else order.spec_id}_preview.jpg",
        caption=_caption(heading + ("\n" + checks if checks else ""), t(lang, "idphoto.preview_confirm", price=price)),
        document_caption=None,
        keyboard=buttons.local_preview(lang, job.id, price, more=settings.limits.extra_specs > 0),
    )


def is_kept_preview(job: Job) -> bool:
    """A free preview whose exact file is what Confirm buys, never handed out before."""
    return job.result is not None and job.result.kept_preview


def present(job: Job, index: int, data: bytes, lang: str, settings: Settings) -> ResultView:
    """The photo with its spec, size, DPI and measured placement; a print sheet with its paper."""
    order = IdPhotoOrder.model_validate(job.options)
    if is_kept_preview(job):
        return _local_preview(job, order, data, lang, settings)
    width, height = image_size(data)
    spec = load_catalog().for_order(order)
    slug = spec.slug if spec else str(order.spec_id)
    title = spec.name(lang) if spec else slug
    sheet = order.layout_size
    if sheet:
        filename = f"idphoto_{slug}_sheet-{sheet}_{width}x{height}.jpg"
        caption = t(lang, "result.sheet_caption", title=title, size=t(lang, f"paper.{sheet}"))
    else:
        # One photo of an album: its number in the album, on its file and caption.
        number = f"_{order.album_photo}" if order.album_photo else ""
        filename = f"idphoto_{slug}_{width}x{height}_{order.dpi}dpi{number}.jpg"
        caption = t(lang, "result.idphoto_caption", title=title, width=width, height=height, dpi=order.dpi)
        if order.album_photo:
            caption = t(lang, "album.photo_part", number=order.album_photo, what=caption)
        placement = job.result.placement if job.result else None
        if spec and placement:  # a preview, to judge before paying, with its checklist
            shown = checklist_text if order.preview else placement_text
            caption = _caption(caption + "\n" + shown(spec, placement, lang))
        elif spec and job.result is not None and job.result.unmeasured:  # said, not left out in silence
            missing = "idphoto.checklist_unavailable" if order.preview else "idphoto.placement_unavailable"
            caption = _caption(caption + "\n" + t(lang, missing))
    image_ids = job.result.image_ids if job.result else []
    image_id = image_ids[0] if image_ids else None
    can_rerender = not sheet and bool(image_id or job.input_ref)
    # A free watermarked preview is made final from PicWish's image id, at the normal price.
    final_price = final_order_price(order, settings) if order.preview and image_id else None
    return ResultView(
        data=data,
        filename=filename,
        caption=caption,
        document_caption=t(lang, "result.document_caption"),
        keyboard=buttons.idphoto_result(lang, job.id, can_rerender, final_price),
    )


def final_order_price(preview: IdPhotoOrder, settings: Settings) -> int:
    """What a PicWish preview costs without its watermark: PicWish's price for the same order."""
    return option_price(preview, settings.providers.picwish.prices)


def option_price(order: IdPhotoOrder, prices: PicwishPrices) -> int:
    """An order by a price list per option: the base (or outfit) price plus each paid option."""
    total = prices.outfit if order.clothes_id else prices.base
    if order.beauty:
        total += prices.beauty + (prices.sharpen if order.sharpen else 0)
        total += prices.thin_face if order.thin_face else 0
    if order.layout_size:
        total += prices.layout + (prices.sheet_vertical if order.layout_vertical else 0)
        total += prices.sheet_white if order.layout_bg_color else 0
    total += prices.custom_size if order.mm_width is not None else 0
    return total + (prices.gradient if order.bg_color2 else 0)
