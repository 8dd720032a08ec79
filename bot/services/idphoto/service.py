"""ID photos (PicWish, else the local engine): the service object, what the service is made of.
Which options the dialog offers (beauty and its refinements, outfit, print sheet, preview,
gradient) is what the serving provider declares (``TaskProvider.features`` and ``catalogs``); a
gradient only where the spec lets the user choose the colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.config import PicwishPrices, Settings
from bot.services.idphoto import album, dialog, preview, reedit, sizes
from bot.services.idphoto.buttons import (
    AskDpi,
    AskMix,
    AskPaper,
    AskSize,
    Back,
    BuyPreview,
    BuyPreviewAt,
    Category,
    Colour,
    DropPreview,
    FinalFromPreview,
    LessSizes,
    MakeDpi,
    MakeMix,
    MakeSheet,
    MakeSize,
    MorePreviewSizes,
    MoreSizes,
    OptionToggle,
    Outfit,
    OutfitGroup,
    Recolor,
    SpecChoice,
    SpecPage,
    outfit_label,
)
from bot.services.idphoto.captions import colour_text, option_price, order_label, present
from bot.services.idphoto.report_text import spec_text
from bot.services.idphoto.state import IdPhotoState
from bot.storage.jobs import Job, purchase_key
from bot.telegram.context import Context, Handlers, Service, ServiceDeps
from bot.telegram.ui.i18n import t
from providers.orders import IdPhotoOption, IdPhotoOrder

_TEXT = filters.TEXT & ~filters.COMMAND


def price(order: IdPhotoOrder, settings: Settings, provider: str) -> int:
    """By the serving provider's price list in the configuration: one priced per option (PicWish's
    ``prices``) charges its base (or outfit) price plus each paid option, or its preview price for a
    watermarked preview; one with a single ``price`` (the local engine) charges that, its preview
    (the photo itself, kept until bought) free."""
    section = getattr(settings.providers, provider)
    if isinstance(prices := getattr(section, "prices", None), PicwishPrices):
        return prices.preview if order.preview else option_price(order, prices)
    return 0 if order.preview else int(section.price)


def again(job: Job) -> IdPhotoOrder:
    """Try again: the same order. A re-render through PicWish's image id (``last_id``) that failed,
    for whatever reason, is made from the stored photo when the job kept it (a preview made
    final): the id may be dead by now (PicWish forgets images), and asking with it again would
    only fail again. (Try again refuses a job whose kept photo is gone.) A photo of an album is an
    order of its own again, no longer the album's: no album zip, and sizes may join it at their
    extra's share (before, its extras came as an "album" and were charged in full when retried)."""
    order = IdPhotoOrder.model_validate(job.options)
    dropped = {"album_photo": None, **({"last_id": None} if order.last_id and job.input_ref else {})}
    return IdPhotoOrder.model_validate({**order.model_dump(), **dropped})


def made_already(order: IdPhotoOrder) -> str | None:
    """A bought local preview's order key (its photo is made: the local engine hands it back)."""
    return purchase_key(order.from_preview) if order.from_preview else None


def describe(order: IdPhotoOrder, lang: str, deps: ServiceDeps) -> str:
    spec = deps.catalog.for_order(order)
    assert spec is not None
    on, off, none = t(lang, "option.on"), t(lang, "option.off"), t(lang, "option.none")
    color = colour_text(order, lang, deps.catalog.palette)
    if order.from_preview or dialog.previews_first(deps.provider_for(SERVICE.name)):  # the local engine's
        return t(lang, "idphoto.details_local", spec=spec_text(lang, spec), color=color)
    return t(
        lang,
        "idphoto.details",
        spec=spec_text(lang, spec),
        color=color,
        beauty=_beauty(order, lang),
        outfit=outfit_label(lang, order.clothes_id) if order.clothes_id else none,
        layout=_sheet(order, lang) if order.layout_size else none,
        preview=on if order.preview else off,
    )


def _beauty(order: IdPhotoOrder, lang: str) -> str:
    """ "on", with its refinements when chosen: "on (sharpen, slim face)"."""
    if not order.beauty:
        return t(lang, "option.off")
    refinements = [t(lang, f"option.{name}_short") for name in dialog.BEAUTY_OPTIONS if getattr(order, name)]
    on = t(lang, "option.on")
    details = t(lang, "list.separator").join(refinements)
    return t(lang, "option.with", value=on, details=details) if refinements else on


def _sheet(order: IdPhotoOrder, lang: str) -> str:
    """The paper, with its refinements when chosen: "6-inch (in a column, white paper)"."""
    paper = t(lang, f"paper.{order.layout_size}")
    chosen = ((IdPhotoOption.SHEET_VERTICAL, order.layout_vertical), (IdPhotoOption.SHEET_WHITE, order.layout_bg_color))
    refinements = [t(lang, f"option.{name}_short") for name, on in chosen if on]
    details = t(lang, "list.separator").join(refinements)
    return t(lang, "option.with", value=paper, details=details) if refinements else paper


async def measure(job: Job, photo: Path, deps: ServiceDeps) -> dict[str, Any] | None:
    """Where the head is in a photo a provider made (its stored file; the local engine reports its own), so that
    every ID photo's caption names its rule; a preview's with its checklist, which only a preview's
    caption shows (captions.present); None without the local engine's models. A bought local
    preview is the preview's photo: its measurements are the preview's. The engine busy, slow or
    crashed, or the file gone, raises (ProviderError, OSError): the photo goes without its
    measurements, and says so (bot/jobs/driver.JobDriver._measured)."""
    order = IdPhotoOrder.model_validate(job.options)
    if order.from_preview:
        preview = await deps.jobs.get(order.from_preview)
        mine = preview is not None and preview.user_id == job.user_id
        placement = preview.result.placement if preview is not None and preview.result and mine else None
        return placement if isinstance(placement, dict) else None
    spec = deps.catalog.for_order(order)
    if deps.engine is None or spec is None or order.layout_size:
        return None  # print sheets hold several photos
    limits = deps.settings.providers.local.limits()
    return await deps.engine.report(photo, order.bg_color, spec.rule.rule_id, spec.mm, limits, checklist=order.preview)


def steps() -> dict[object, Handlers]:
    S = dialog.State

    def to_order() -> CallbackQueryHandler[Context, object]:
        """Back to the order another size was being chosen for (sizes.py)."""
        return CallbackQueryHandler(sizes.back_to_order, pattern=Back("order").exact())

    return {
        S.PICK_CATEGORY: [
            CallbackQueryHandler(dialog.pick_category, pattern=Category.pattern()),
            MessageHandler(_TEXT, dialog.search),
            to_order(),
        ],
        S.PICK_SPEC: [
            CallbackQueryHandler(dialog.pick_spec, pattern=SpecChoice.pattern()),
            CallbackQueryHandler(dialog.page, pattern=SpecPage.pattern()),
            CallbackQueryHandler(dialog.back_to_categories, pattern=Back("cat").exact()),
            CallbackQueryHandler(dialog.back_to_specs, pattern=Back("spec").exact()),
            MessageHandler(_TEXT, dialog.search),
            to_order(),
        ],
        S.PICK_COLOR: [
            CallbackQueryHandler(dialog.pick_color, pattern=Colour.pattern()),
            CallbackQueryHandler(dialog.back_to_specs, pattern=Back("spec").exact()),
            to_order(),
        ],
        S.CUSTOM_COLOR: [MessageHandler(_TEXT, dialog.custom_color)],
        S.CUSTOM_SIZE: [
            MessageHandler(_TEXT, dialog.custom_size),
            CallbackQueryHandler(dialog.back_to_specs, pattern=Back("spec").exact()),
            to_order(),
        ],
        S.PICK_OPTIONS: [
            CallbackQueryHandler(dialog.toggle_option, pattern=OptionToggle.pattern()),
            CallbackQueryHandler(dialog.back_to_colors, pattern=Back("color").exact()),
        ],
        S.PICK_OUTFIT: [
            CallbackQueryHandler(dialog.outfit_group, pattern=OutfitGroup.pattern()),
            CallbackQueryHandler(dialog.pick_outfit, pattern=Outfit.pattern()),
            CallbackQueryHandler(dialog.toggle_option, pattern=OptionToggle(IdPhotoOption.OUTFIT).exact()),
        ],
    }


def reentries() -> Handlers:
    """Another background for a finished photo re-enters the dialog at the colour step; another
    size for the order on the summary, or with a local preview, at the category step."""
    return [
        CallbackQueryHandler(dialog.recolor, pattern=Recolor.pattern()),
        CallbackQueryHandler(sizes.more, pattern=MoreSizes.pattern()),
        CallbackQueryHandler(sizes.more_of_preview, pattern=MorePreviewSizes.pattern()),
    ]


def handlers() -> Handlers:
    """The buttons under a finished photo: a preview made final (PicWish's) or bought (the local
    engine's) or left, and the free re-edits (file size, DPI, print sheet)."""
    return [
        CallbackQueryHandler(dialog.final_from_preview, pattern=FinalFromPreview.pattern()),
        CallbackQueryHandler(preview.buy, pattern=BuyPreview.pattern()),
        CallbackQueryHandler(preview.buy, pattern=BuyPreviewAt.pattern()),
        CallbackQueryHandler(preview.drop, pattern=DropPreview.pattern()),
        CallbackQueryHandler(reedit.ask_size, pattern=AskSize.pattern()),
        CallbackQueryHandler(reedit.make_size, pattern=MakeSize.pattern()),
        CallbackQueryHandler(reedit.ask_dpi, pattern=AskDpi.pattern()),
        CallbackQueryHandler(reedit.make_dpi, pattern=MakeDpi.pattern()),
        CallbackQueryHandler(reedit.ask_paper, pattern=AskPaper.pattern()),
        CallbackQueryHandler(reedit.make_sheet, pattern=MakeSheet.pattern()),
        CallbackQueryHandler(reedit.ask_mix, pattern=AskMix.pattern()),
        CallbackQueryHandler(reedit.make_mix, pattern=MakeMix.pattern()),
        CallbackQueryHandler(sizes.less, pattern=LessSizes.pattern()),
    ]


SERVICE = Service(
    name=dialog.NAME,
    providers=("picwish", "local"),
    order_model=IdPhotoOrder,
    state_model=IdPhotoState,
    start=dialog.start,
    steps=steps,
    price=price,
    describe=describe,
    label=order_label,
    present=present,
    measure=measure,
    retry=again,
    made_already=made_already,
    reentries=reentries,
    handlers=handlers,
    part=sizes.part,
    summary_buttons=sizes.summary_buttons,
    albums=True,
    bundle=album.bundle,
)
