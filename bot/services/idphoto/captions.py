"""How an ID photo reads: the spec line, the placement the photo was measured to have, and the
finished photo as the user gets it (caption, exact-file name, re-edit buttons)."""

from __future__ import annotations

from typing import Any

from bot import keyboards
from bot.config import Settings
from bot.i18n import t
from bot.images import image_size
from bot.services.base import ResultView
from bot.storage.repo import Job
from providers.orders import IdPhotoOrder
from providers.placement import band_value, load_rules
from providers.specs import Spec, load_catalog


def spec_text(lang: str, spec: Spec) -> str:
    return t(
        lang,
        "idphoto.spec_info",
        title=spec.name(lang),
        mm_w=spec.mm[0],
        mm_h=spec.mm[1],
        px_w=spec.px[0],
        px_h=spec.px[1],
        dpi=spec.dpi,
    )


def _mm(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def placement_text(spec: Spec, placement: dict[str, Any], lang: str) -> str:
    """The rule applied and where the head landed, band by band, in millimetres of the print
    ("head 34 mm of 45 mm (within 32–36 mm)"); says so when the spec has no official rule."""
    rules = load_rules()
    rule = rules.get(str(placement["rule"]), spec.rule)
    shares = placement["shares"]
    parts = []
    for name in rule.priority:
        band = rule.bands[name]
        total = spec.mm[0] if name == "width" else spec.mm[1]
        verdict = t(
            lang, "placement.within" if band.holds(band_value(name, band, shares), 0.0005) else "placement.outside"
        )
        key = "placement.eyes_min" if name == "eyes" and band.max >= 1 else f"placement.{name}"
        parts.append(
            t(
                lang,
                key,
                value=_mm(band_value(name, band, shares) * total),
                total=_mm(total),
                low=_mm(band.min * total),
                high=_mm(band.max * total),
                verdict=verdict,
            )
        )
    official = rule.official and not spec.fallback
    return t(
        lang,
        "placement.official" if official else "placement.fallback",
        rule=rule.title(lang),
        bands=t(lang, "placement.separator").join(parts),
    )


def present(job: Job, index: int, data: bytes, lang: str, settings: Settings) -> ResultView:
    """The photo with its spec, size, DPI and measured placement; a print sheet with its paper."""
    width, height = image_size(data)
    order = IdPhotoOrder.model_validate(job.options)
    spec = load_catalog().for_order(order)
    slug = spec.slug if spec else str(order.spec_id)
    title = spec.name(lang) if spec else slug
    sheet = order.layout_size
    if sheet:
        filename = f"idphoto_{slug}_sheet-{sheet}_{width}x{height}.jpg"
        caption = t(lang, "result.sheet_caption", title=title, size=sheet)
    else:
        filename = f"idphoto_{slug}_{width}x{height}_{order.dpi}dpi.jpg"
        caption = t(lang, "result.idphoto_caption", title=title, width=width, height=height, dpi=order.dpi)
        placement = (job.result or {}).get("placement")
        if spec and placement:
            caption += "\n" + placement_text(spec, placement, lang)
    image_ids = (job.result or {}).get("image_ids") or []
    image_id = image_ids[0] if image_ids else None
    can_rerender = not sheet and (bool(image_id) or (job.provider == "local" and bool(job.input_ref)))
    # A free watermarked preview is made final from PicWish's image id, at the normal price.
    final_price = final_order_price(order, settings) if order.preview and image_id else None
    return ResultView(
        data=data,
        filename=filename,
        caption=caption,
        document_caption=t(lang, "result.document_caption"),
        keyboard=keyboards.idphoto_result(lang, job.id, can_rerender, final_price),
    )


def final_order_price(preview: IdPhotoOrder, settings: Settings) -> int:
    """What the preview costs without its watermark: PicWish's price for the same order."""
    prices = settings.providers.picwish.prices
    total = prices.outfit if preview.clothes_id else prices.base
    if preview.beauty:
        total += prices.beauty + (prices.sharpen if preview.sharpen else 0)
        total += prices.thin_face if preview.thin_face else 0
    if preview.layout_size:
        total += prices.layout + (prices.sheet_vertical if preview.layout_vertical else 0)
        total += prices.sheet_white if preview.layout_bg_color else 0
    total += prices.custom_size if preview.mm_width is not None else 0
    return total + (prices.gradient if preview.bg_color2 else 0)
