"""The ID-photo dialog: category -> spec (paged or searched) -> background colour -> options ->
summary; with the local engine, the free preview instead of the summary (its price, Confirm and
Cancel come under the preview: ``preview.py``).

Finished photos re-enter here too: another background colour or a print sheet re-render
through PicWish's ``last_id`` without a new upload, or from the stored photo for the local engine.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.domain.ordering import PlacedBefore, Refusal
from bot.domain.session import ExtraOrder, PendingOrder
from bot.services.idphoto import buttons
from bot.services.idphoto.album import album_order, check_album, none_made_text
from bot.services.idphoto.buttons import (
    Category,
    Colour,
    FinalFromPreview,
    OptionToggle,
    Outfit,
    OutfitGroup,
    Recolor,
    SpecChoice,
    SpecPage,
)
from bot.services.idphoto.choices import DEFAULT_COLORS, gradient_end, parse_mm, ratio_text, size_refusal
from bot.services.idphoto.fit import frames_from_the_photo, judge
from bot.services.idphoto.report_text import spec_text
from bot.services.idphoto.state import IdPhotoDraft, IdPhotoState, SpecList
from bot.storage.jobs import Job
from bot.telegram.context import Context
from bot.telegram.conversations.common import (
    answer,
    chat_id_of,
    face_findings,
    finished_job,
    message_of,
    order_key_of,
    pressed,
    query_of,
    ready_photo,
    user_id_of,
)
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t
from providers.base import TaskProvider
from providers.errors import EngineBusy, EngineCrashed, EngineTimeout
from providers.localengine.findings import FaceFindings
from providers.orders import IdPhotoOption, IdPhotoOrder
from providers.specs import Spec

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
NAME = "idphoto"
#: The option toggles, in the order they are listed (of those the provider declares).
TOGGLES = tuple(option for option in IdPhotoOption if option != IdPhotoOption.CUSTOM_SIZE)
#: Options that refine another, offered while it is on.
BEAUTY_OPTIONS = (IdPhotoOption.SHARPEN, IdPhotoOption.THIN_FACE)
SHEET_OPTIONS = (IdPhotoOption.SHEET_VERTICAL, IdPhotoOption.SHEET_WHITE)
SHEET_WHITE = "FFFFFF"


def state_of(context: Context) -> IdPhotoState:
    """What this dialog keeps in the user's session (its draft, the spec list on screen)."""
    return context.session.state(NAME, IdPhotoState)


class State(StrEnum):
    PICK_CATEGORY = "idphoto.pick_category"
    PICK_SPEC = "idphoto.pick_spec"
    PICK_COLOR = "idphoto.pick_color"
    CUSTOM_COLOR = "idphoto.custom_color"
    CUSTOM_SIZE = "idphoto.custom_size"
    PICK_OPTIONS = "idphoto.pick_options"
    PICK_OUTFIT = "idphoto.pick_outfit"


async def _show(
    update: Update, text: str, markup: InlineKeyboardMarkup | None, *, new_message: bool = False
) -> int | None:
    """Edit the message whose button was pressed, or reply to a typed message; the message's id."""
    if update.callback_query is not None and not new_message:
        await answer(update)
        edited = await query_of(update).edit_message_text(text, reply_markup=markup)
        return edited.message_id if not isinstance(edited, bool) else None
    return (await message_of(update).reply_text(text, reply_markup=markup)).message_id


def _offered(context: Context, spec: Spec) -> bool:
    """A custom size only where the serving provider declares it can make one."""
    return spec.custom is None or IdPhotoOption.CUSTOM_SIZE in _declared(context)


def _specs_on_screen(context: Context) -> tuple[list[Spec], str]:
    """The spec list behind the current screen and its heading (category or search)."""
    catalog = context.deps.catalog
    source = state_of(context).spec_list or SpecList(query="")
    lang = context.lang
    if source.category is not None:
        category = catalog.categories[source.category]
        specs, heading = catalog.in_category(category), catalog.category_name(category, lang)
    else:
        specs, heading = catalog.search(source.query), t(lang, "idphoto.search_heading", query=source.query)
    return [spec for spec in specs if _offered(context, spec)], heading


def _adding(context: Context) -> IdPhotoDraft | None:
    """The draft of another size for the order on the summary, while one is being chosen."""
    draft = state_of(context).draft
    return draft if draft is not None and draft.extra_for is not None else None


async def category_menu(update: Update, context: Context, *, new_message: bool = False) -> None:
    """The categories (and the hint that a search works); choosing another size for an order, a
    way back to it too."""
    catalog = context.deps.catalog
    lang = context.lang
    labels = [catalog.category_name(category, lang) for category in catalog.categories]
    adding = _adding(context) is not None
    text = t(lang, "idphoto.pick_more") if adding else t(lang, "idphoto.pick_category")
    album = context.session.album
    if album is not None and not adding:  # the spec is chosen once, for every photo of the album
        text = t(lang, "album.heading", count=len(album.photos)) + "\n\n" + text
    await _show(update, text, buttons.categories(labels, lang, to_order=adding), new_message=new_message)


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:idphoto: needs a stored photo; asks for a category."""
    state_of(context).draft = None  # a new order, not another size of one left on its summary
    # An album's photos are checked one by one once the spec is known (album.py).
    if context.session.album is None and not await ready_photo(update, context, needs_face=True, id_photo=True):
        await answer(update)
        return ConversationHandler.END
    await category_menu(update, context)
    return State.PICK_CATEGORY


async def pick_category(update: Update, context: Context) -> str:
    """Button i:cat:<index>: lists that category's specs, first page."""
    choice = pressed(update, Category)
    if choice is None or choice.index >= len(context.deps.catalog.categories):
        await answer(update)
        return State.PICK_CATEGORY
    state_of(context).spec_list = SpecList(category=choice.index)
    return await _spec_list(update, context, 0)


async def search(update: Update, context: Context) -> str:
    """Typed text: specs whose id, size, title or category match every word."""
    lang = context.lang
    query = (message_of(update).text or "").strip()[:40]
    if not context.deps.catalog.search(query):
        await message_of(update).reply_text(t(lang, "idphoto.search_none", query=query))
        return State.PICK_SPEC if state_of(context).spec_list else State.PICK_CATEGORY
    state_of(context).spec_list = SpecList(query=query)
    return await _spec_list(update, context, 0)


async def page(update: Update, context: Context) -> str:
    """Button i:pg:<n>: another page of the spec list."""
    choice = pressed(update, SpecPage)
    return await _spec_list(update, context, choice.page if choice else 0)


async def _spec_list(update: Update, context: Context, page_number: int) -> str:
    lang = context.lang
    specs, heading = _specs_on_screen(context)
    text = t(lang, "idphoto.pick_spec", heading=heading, count=len(specs))
    await _show(update, text, buttons.spec_page(lang, specs, page_number))
    return State.PICK_SPEC


async def back_to_categories(update: Update, context: Context) -> str:
    """Button i:back:cat."""
    await category_menu(update, context)
    return State.PICK_CATEGORY


async def back_to_specs(update: Update, context: Context) -> str:
    """Button i:back:spec: the list the spec was chosen from; the categories where there is none
    (the colours of a finished photo's "Other colour" came from no list: "Back" showed an empty
    search for "")."""
    if state_of(context).spec_list is None:
        return await back_to_categories(update, context)
    return await _spec_list(update, context, 0)


async def _color_menu(update: Update, context: Context, spec: Spec, advice: str = "") -> str:
    lang = context.lang
    allowed = spec.colors or DEFAULT_COLORS
    text = spec_text(lang, spec) + "\n\n" + advice + t(lang, "idphoto.pick_color")
    await _show(update, text, buttons.colors(lang, allowed, custom=spec.colors is None))
    return State.PICK_COLOR


async def pick_spec(update: Update, context: Context) -> str | int:
    """Button i:spec:<id>: starts a draft for that spec and asks for the background colour; for
    the custom size, asks for the size first."""
    choice = pressed(update, SpecChoice)
    spec = context.deps.catalog.get(choice.spec_id) if choice else None
    session = context.session
    photo = session.photo is not None or session.album is not None or _adding(context) is not None
    if spec is None or not photo or not _offered(context, spec):
        await answer(update)
        return ConversationHandler.END
    if spec.custom is not None:
        state_of(context).sizing_spec = spec.spec_id
        bounds = spec.custom
        text = t(
            context.lang,
            "idphoto.ask_mm",
            min=bounds.min_mm,
            max=bounds.max_mm,
            low=ratio_text(bounds.min_ratio),
            high=ratio_text(bounds.max_ratio),
        )
        await _show(update, text, buttons.back_to_specs(context.lang))
        return State.CUSTOM_SIZE
    return await _start_draft(update, context, spec)


async def custom_size(update: Update, context: Context) -> str | int:
    """Typed size after "Custom size": checked against the spec's bounds, then as any spec."""
    lang = context.lang
    spec = context.deps.catalog.get(state_of(context).sizing_spec or -1)
    session = context.session
    photo = session.photo is not None or session.album is not None or _adding(context) is not None
    if spec is None or spec.custom is None or not photo:
        return ConversationHandler.END
    text = (message_of(update).text or "").strip()
    size = parse_mm(text)
    if size is None:
        await message_of(update).reply_text(t(lang, "idphoto.bad_mm", text=text[:20]))
        return State.CUSTOM_SIZE
    refusal = size_refusal(lang, spec.custom, size)
    if refusal is not None:
        await message_of(update).reply_text(refusal)
        return State.CUSTOM_SIZE
    return await _start_draft(update, context, spec.sized(*size))


async def _start_draft(update: Update, context: Context, spec: Spec) -> str | int:
    """A draft for ``spec`` unless the photo's face cannot make it; then the colour menu. Another
    size for an order is checked on the order's photo, and keeps the first size's retouching."""
    adding = _adding(context)
    source = adding.input_ref if adding is not None else None
    lang = context.lang
    album = context.session.album
    if album is not None and adding is None:  # each photo is checked for the spec on the summary
        state_of(context).draft = IdPhotoDraft(order=IdPhotoOrder.model_validate(_size(spec)), album=album.key)
        return await _color_menu(update, context, spec, "")
    try:
        findings = await _findings(context, source)
    except (EngineBusy, EngineTimeout):  # nothing is charged; the same button works in a minute
        await _show(update, t(lang, "error.engine_busy"), buttons.spec_refused(lang, to_order=adding is not None))
        return State.CUSTOM_SIZE if spec.custom is not None else State.PICK_SPEC
    verdict = judge(spec, findings, frames_from_the_photo=frames_from_the_photo(context.deps.provider_for(NAME)))
    if verdict.refusal is not None:
        text = t(lang, verdict.refusal, title=spec.name(lang), width=spec.px[0], height=spec.px[1])
        await _show(update, text, buttons.spec_refused(lang, to_order=adding is not None))
        # A custom size can be typed again (smaller), a listed spec picked anew.
        return State.CUSTOM_SIZE if spec.custom is not None else State.PICK_SPEC
    advice = "".join(t(lang, key) + "\n\n" for key in verdict.advice)
    size = _size(spec)
    if adding is not None:
        order = IdPhotoOrder.model_validate({**adding.order.model_dump(), **size})
        state_of(context).draft = IdPhotoDraft(order=order, input_ref=source, extra_for=adding.extra_for)
    else:
        photo = context.session.photo
        assert photo is not None
        state_of(context).draft = IdPhotoDraft(order=IdPhotoOrder.model_validate(size), input_ref=photo.ref)
    return await _color_menu(update, context, spec, advice)


def _size(spec: Spec) -> dict[str, int | None]:
    """An order's fields that come from the spec: its pixels, DPI and (a custom size) millimetres."""
    mm = spec.mm if spec.custom is not None else (None, None)
    size: dict[str, int | None] = {"spec_id": spec.spec_id, "px_width": spec.px[0], "px_height": spec.px[1]}
    return size | {"dpi": spec.dpi, "mm_width": mm[0], "mm_height": mm[1]}


async def _findings(context: Context, ref: str | None) -> FaceFindings:
    """The face check of the session's photo, or of the stored photo ``ref`` when it is another
    (an order's photo, another size being added to it: checked now, not kept)."""
    photo = context.session.photo
    if ref is None or (photo is not None and photo.ref == ref):
        return await face_findings(context)
    engine = context.deps.engine
    if engine is None:
        return FaceFindings(checked=False)
    try:
        return await engine.inspect(context.deps.media.path(ref), context.deps.settings.providers.local.limits())
    except EngineCrashed:  # the provider will still refuse a photo without a face
        return FaceFindings(checked=False)


async def pick_color(update: Update, context: Context) -> str | int:
    """Button i:col:<name>: sets a colour the spec allows ("custom" asks for a hex code)."""
    lang = context.lang
    draft = state_of(context).draft
    if draft is None:
        await answer(update, t(lang, "menu.expired"))
        return ConversationHandler.END
    spec = context.deps.catalog.for_order(draft.order)
    assert spec is not None
    choice = pressed(update, Colour)
    name = choice.name if choice else ""
    if name == "custom" and spec.colors is None:
        await _show(update, t(lang, "idphoto.ask_hex"), None)
        return State.CUSTOM_COLOR
    if name not in (spec.colors or DEFAULT_COLORS):
        await answer(update)
        return State.PICK_COLOR
    _set_colour(draft, name, context.deps.catalog.palette[name])
    return await _after_color(update, context)


def _set_colour(draft: IdPhotoDraft, name: str, colour: str) -> None:
    """The background colour; a gradient keeps going, from the new colour."""
    draft.change(color_name=name, bg_color=colour, bg_color2=gradient_end(colour) if draft.order.bg_color2 else None)


async def custom_color(update: Update, context: Context) -> str | int:
    """Typed hex code after "Custom…": validates it."""
    lang = context.lang
    draft = state_of(context).draft
    text = (message_of(update).text or "").strip()
    match = _HEX.match(text)
    if draft is None:
        return ConversationHandler.END
    if match is None:
        await message_of(update).reply_text(t(lang, "idphoto.bad_hex", text=text[:20]))
        return State.CUSTOM_COLOR
    colour = match.group(1).upper()
    _set_colour(draft, f"#{colour}", colour)
    return await _after_color(update, context)


async def _after_color(update: Update, context: Context) -> str | int:
    draft = state_of(context).draft
    assert draft is not None
    if draft.extra_for is not None:  # another size: its options are the first size's
        return await _add_to_order(update, context, draft)
    if draft.rerender:
        return await show_summary(update, context)
    return await _options_menu(update, context)


def same_photo(one: IdPhotoOrder, other: IdPhotoOrder) -> bool:
    """Whether two orders make the same photo: the same size in the same background."""
    fields = ("spec_id", "px_width", "px_height", "dpi", "mm_width", "mm_height", "bg_color", "bg_color2")
    sheet = one.layout_size or other.layout_size
    return not sheet and all(getattr(one, name) == getattr(other, name) for name in fields)


async def _add_to_order(update: Update, context: Context, draft: IdPhotoDraft) -> int:
    """Another size, its colour chosen, joins the order it was chosen for, back at its summary
    (once: the same size in the same colour twice is one, and the person is told so)."""
    state_of(context).draft = None
    order = context.session.order
    if order is None or order.nonce != draft.extra_for:
        await answer(update, t(context.lang, "order.expired"))
        return ConversationHandler.END
    parts = [order.order, *(extra.order for extra in order.extras)]
    same = any(isinstance(part, IdPhotoOrder) and same_photo(part, draft.order) for part in parts)
    if not same and len(order.extras) < context.deps.settings.limits.extra_specs:
        order.extras.append(ExtraOrder(draft.order, draft.input_ref))
    await show_order(update, context, order, toast=t(context.lang, "idphoto.size_already_in") if same else None)
    return ConversationHandler.END


def _price(context: Context, draft: IdPhotoDraft) -> int:
    deps = context.deps
    return deps.price(NAME, draft.order, deps.enabled_services.get(NAME, ""))


def _declared(context: Context) -> frozenset[str]:
    provider = context.deps.provider_for(NAME)
    return provider.features if provider is not None else frozenset()


def _features(context: Context) -> tuple[IdPhotoOption, ...]:
    """The options the serving provider declares it can do, for the spec being made: a gradient
    only where the spec lets the user choose the background colour (an office asking for one
    plain colour wants that colour)."""
    declared = _declared(context)
    draft = state_of(context).draft
    spec = context.deps.catalog.get(draft.order.spec_id) if draft is not None else None
    colour_choice = spec is None or spec.colors is None or len(spec.colors) > 1
    beauty = draft is not None and draft.order.beauty
    sheet = draft is not None and draft.order.layout_size is not None
    album = draft is not None and draft.album is not None
    return tuple(
        name
        for name in TOGGLES
        if name in declared
        and (name != IdPhotoOption.GRADIENT or colour_choice)
        # An album's photos are checked before the summary and delivered as exact files, zipped:
        # not as watermarked previews.
        and (name != IdPhotoOption.PREVIEW or not album)
        and (name not in BEAUTY_OPTIONS or beauty)
        and (name not in SHEET_OPTIONS or sheet)
    )


def outfits(context: Context) -> tuple[str, ...]:
    provider = context.deps.provider_for(NAME)
    return provider.catalogs.get("outfits", ()) if provider is not None else ()


def layout_sizes(context: Context) -> tuple[str, ...]:
    provider = context.deps.provider_for(NAME)
    return provider.catalogs.get("layout_sizes", ()) if provider is not None else ()


async def _options_menu(update: Update, context: Context) -> str:
    lang = context.lang
    draft = state_of(context).draft
    assert draft is not None
    text = t(lang, "idphoto.pick_options", price=_price(context, draft))
    await _show(update, text, buttons.options(lang, draft.order, _features(context)))
    return State.PICK_OPTIONS


async def toggle_option(update: Update, context: Context) -> str | int:
    """Button i:opt:<beauty|layout|preview|outfit|done>: changes one option or moves on."""
    lang = context.lang
    draft = state_of(context).draft
    if draft is None:
        await answer(update, t(lang, "menu.expired"))
        return ConversationHandler.END
    choice = pressed(update, OptionToggle)
    option = choice.name if choice else ""
    if option not in (*_features(context), "done"):
        await answer(update)
        return State.PICK_OPTIONS
    order = draft.order
    if option == IdPhotoOption.GRADIENT:
        draft.change(bg_color2=None if order.bg_color2 else gradient_end(order.bg_color))
    elif option == IdPhotoOption.BEAUTY:  # its refinements go with it
        draft.change(beauty=not order.beauty, sharpen=False, thin_face=False)
    elif option == IdPhotoOption.SHARPEN:
        draft.change(sharpen=not order.sharpen)
    elif option == IdPhotoOption.THIN_FACE:
        draft.change(thin_face=not order.thin_face)
    elif option == IdPhotoOption.PREVIEW:
        draft.change(preview=not order.preview)
    elif option == IdPhotoOption.LAYOUT:
        cycle = [None, *layout_sizes(context)]
        current = cycle.index(order.layout_size) if order.layout_size in cycle else 0
        size = cycle[(current + 1) % len(cycle)]
        # A sheet's refinements go when the sheet does.
        draft.change(layout_size=size, **({} if size else {"layout_vertical": False, "layout_bg_color": None}))
    elif option == IdPhotoOption.SHEET_VERTICAL:
        draft.change(layout_vertical=not order.layout_vertical)
    elif option == IdPhotoOption.SHEET_WHITE:
        draft.change(layout_bg_color=None if order.layout_bg_color else SHEET_WHITE)
    elif option == IdPhotoOption.OUTFIT:
        await _show(update, t(lang, "idphoto.pick_outfit"), buttons.outfit_groups(lang, outfits(context)))
        return State.PICK_OUTFIT
    elif option == "done":
        return await show_summary(update, context)
    return await _options_menu(update, context)


async def outfit_group(update: Update, context: Context) -> str:
    """Button i:outfit:<group>: the numbered outfits of that group."""
    lang = context.lang
    choice = pressed(update, OutfitGroup)
    items = buttons.outfit_items(lang, choice.group if choice else "", outfits(context))
    await _show(update, t(lang, "idphoto.pick_outfit_item"), items)
    return State.PICK_OUTFIT


async def pick_outfit(update: Update, context: Context) -> str | int:
    """Button i:cloth:<clothes_id|none>: sets the outfit; back to the options."""
    draft = state_of(context).draft
    if draft is None:
        await answer(update)
        return ConversationHandler.END
    choice = pressed(update, Outfit)
    value = choice.outfit if choice else ""
    if value != "none" and value not in outfits(context):
        await answer(update)
        return State.PICK_OUTFIT
    draft.change(clothes_id=None if value == "none" else value)
    return await _options_menu(update, context)


async def back_to_colors(update: Update, context: Context) -> str | int:
    """Button i:back:color."""
    draft = state_of(context).draft
    spec = context.deps.catalog.for_order(draft.order) if draft else None
    if spec is None:
        await answer(update)
        return ConversationHandler.END
    return await _color_menu(update, context, spec)


async def _draft_from_result(update: Update, context: Context) -> IdPhotoDraft | None:
    """A re-render draft from the user's finished job named in the button: through the provider's
    image id (PicWish's ``last_id``: no new upload) where it gave one, else from the stored photo."""
    choice = pressed(update, Recolor)
    job = await finished_job(update, context, choice.job_id if choice else None, NAME)
    if job is None or not job.result:
        return None
    # The same photo again: no print sheet (a re-render is one photo), the stored file or
    # PicWish's image id as its source.
    draft = IdPhotoDraft(order=IdPhotoOrder.model_validate(job.options), rerender=True)
    draft.change(layout_size=None, last_id=None, from_preview=None)
    image_ids = job.result.image_ids
    if image_ids and image_ids[0]:
        draft.change(last_id=image_ids[0])
        return draft
    source = await _source_photo(context, job)
    if source is None or not context.deps.media.exists(source):
        return None
    draft.input_ref = source
    return draft


async def _source_photo(context: Context, job: Job) -> str | None:
    """The stored photo a local job was made from: a bought preview's input is the preview's
    finished photo, so the photo is the preview job's input."""
    bought = IdPhotoOrder.model_validate(job.options).from_preview
    if not bought:
        return job.input_ref
    preview = await context.deps.jobs.get(bought)
    return preview.input_ref if preview is not None and preview.user_id == job.user_id else None


async def recolor(update: Update, context: Context) -> str | int | None:
    """Button i:recolor:<job>: same photo, another background colour, no new upload. Refused (the
    job gone), it changes nothing: None leaves an open dialog at its step."""
    lang = context.lang
    draft = await _draft_from_result(update, context)
    spec = context.deps.catalog.for_order(draft.order) if draft else None
    if draft is None or spec is None:
        await answer(update, t(lang, "idphoto.job_gone"))
        return None
    state_of(context).draft = draft
    await answer(update)
    await message_of(update).reply_text(
        spec_text(lang, spec) + "\n\n" + t(lang, "idphoto.pick_color"),
        reply_markup=buttons.colors(lang, spec.colors or DEFAULT_COLORS, custom=spec.colors is None),
    )
    return State.PICK_COLOR


def previews_first(provider: TaskProvider[Any] | None) -> bool:
    """Whether the provider's free preview is the finished photo (the local engine's): the person
    sees it, with its checklist, before the price and Confirm."""
    return provider is not None and provider.kept_previews_per_hour is not None


async def show_summary(update: Update, context: Context) -> str | int:
    """Turns the draft into an order and shows it with its price and Confirm / Cancel; with the
    local engine, makes its free preview instead (the price and Confirm come under it)."""
    draft = state_of(context).draft
    assert draft is not None
    state_of(context).draft = None
    source = None if draft.order.last_id else draft.input_ref
    if draft.album is not None:  # every photo checked, then one summary (no free preview)
        return await _album_summary(update, context, draft)
    if previews_first(context.deps.provider_for(NAME)):
        return await _preview(update, context, draft, source)
    await show_order(update, context, PendingOrder(NAME, draft.order, source))
    return ConversationHandler.END


async def _album_summary(update: Update, context: Context, draft: IdPhotoDraft) -> str | int:
    """Every photo of the album checked for the draft's spec (services/idphoto/album.py), then the
    summary of those that pass, naming those refused; when none passes, nothing is ordered."""
    lang = context.lang
    album = context.session.album
    spec = context.deps.catalog.for_order(draft.order)
    if album is None or album.key != draft.album or spec is None:  # a newer photo or album came
        await answer(update, t(lang, "menu.expired"))
        return ConversationHandler.END
    shown = message_of(update).message_id
    # The button is answered once, by what follows the checks (show_order, or below).
    await _edit(context, update, shown, t(lang, "album.checking", count=len(album.photos)), None)
    try:
        checked = await check_album(context, album, spec)
    except (EngineBusy, EngineTimeout):  # nothing is charged; the same button works in a minute
        state_of(context).draft = draft
        await answer(update)
        await _edit(context, update, shown, t(lang, "error.engine_busy"), _step_keyboard(context, draft))
        return State.PICK_OPTIONS
    if not checked.accepted:
        await answer(update)
        await _edit(context, update, shown, none_made_text(lang, spec, checked), keyboards.new_photo(lang))
        return ConversationHandler.END
    await show_order(update, context, album_order(draft, checked, lang))
    return ConversationHandler.END


async def _preview(update: Update, context: Context, draft: IdPhotoDraft, source: str | None) -> str | int:
    """The local engine's free preview of the draft: a free job, whose finished photo comes back
    reduced and watermarked with its checklist (services/idphoto/captions.py). The message the
    person pressed on says it is being made (the job's status); a refusal says why there, and
    the step stays, to press again.

    The update handled again (a bot process taking over from one that died before marking it
    handled) makes nothing twice: the preview's key is the press's (or message's), and a preview
    placed under it, whatever became of it, is left as it is. "Making" is shown before the preview
    is placed (from then on its job edits the message: shown after, it could land over the job's
    "Done!" or failure); the press is answered once it is placed."""
    lang = context.lang
    provider = context.deps.enabled_services.get(NAME, "")
    preview = draft.order.model_copy(update={"preview": True})
    order = PendingOrder(NAME, preview, source, provider=provider, nonce=order_key_of(update))
    if await context.deps.jobs.first_of_order(user_id_of(update), order.nonce) is not None:
        await answer(update)
        return ConversationHandler.END
    making = t(lang, "idphoto.preview_making")
    standing_in = context.deps.standing_in(NAME)
    if standing_in is not None:  # its first provider is down: say who makes it instead
        making = t(lang, "order.failover", usual=t(lang, f"provider_short.{standing_in}"), summary=making)
    if update.callback_query is not None:
        await query_of(update).edit_message_text(making)
        status: int | None = message_of(update).message_id
    else:
        status = await _show(update, making, None)
    placed = await context.deps.place_order(
        order, user_id=user_id_of(update), chat_id=chat_id_of(update), status_message_id=status
    )
    await answer(update)
    if isinstance(placed, (Job, PlacedBefore)):
        return ConversationHandler.END
    if placed.reason in ("unavailable", "changed", "input_gone"):
        key = "idphoto.job_gone" if placed.reason == "input_gone" else "order.unavailable"
        await _edit(context, update, status, t(lang, key), keyboards.new_photo(lang))
        return ConversationHandler.END
    state_of(context).draft = draft  # the choices stay: the same button makes the preview later
    await _edit(context, update, status, _refusal_text(lang, placed, context), _step_keyboard(context, draft))
    return State.PICK_COLOR if draft.rerender else State.PICK_OPTIONS


def _refusal_text(lang: str, refusal: Refusal, context: Context) -> str:
    if refusal.reason == "previews":
        return t(lang, "order.previews", count=refusal.made, minutes=refusal.minutes)
    if refusal.reason == "too_many":
        return t(lang, "idphoto.preview_too_many", active=refusal.active)
    daily = context.deps.settings.credits.daily_free
    return t(lang, f"order.{refusal.reason}", price=0, balance=refusal.balance, daily=daily, owed=refusal.owed)


def _step_keyboard(context: Context, draft: IdPhotoDraft) -> InlineKeyboardMarkup:
    """The buttons of the step the draft was on: its colours for a re-render, else its options."""
    lang = context.lang
    if draft.rerender:
        spec = context.deps.catalog.for_order(draft.order)
        colours = spec.colors if spec and spec.colors else DEFAULT_COLORS
        return buttons.colors(lang, colours, custom=spec is None or spec.colors is None)
    return buttons.options(lang, draft.order, _features(context))


async def _edit(
    context: Context, update: Update, message_id: int | None, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    if message_id is not None:
        await context.bot.edit_message_text(
            text, chat_id=chat_id_of(update), message_id=message_id, reply_markup=markup
        )
    else:
        await message_of(update).reply_text(text, reply_markup=markup)


async def final_from_preview(update: Update, context: Context) -> None:
    """Button i:final:<job>: the user's free watermarked preview, made final through PicWish's
    image id at the normal price, back at the summary; no new upload."""
    lang = context.lang
    press = pressed(update, FinalFromPreview)
    job = await finished_job(update, context, press.job_id if press else None, NAME)
    image_ids = job.result.image_ids if job and job.result else []
    if job is None or not image_ids or not image_ids[0]:
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    preview = IdPhotoOrder.model_validate(job.options)
    if not preview.preview:
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    final = IdPhotoOrder.model_validate({**preview.model_dump(), "preview": False, "last_id": image_ids[0]})
    # The stored photo goes along (not sent): if PicWish forgot the preview, Try again makes it anew.
    kept = job.input_ref if job.input_ref and context.deps.media.exists(job.input_ref) else None
    await show_order(update, context, PendingOrder(NAME, final, kept), new_message=True)
