"""The ID-photo service's buttons: the callback data of each (its own prefix) and the keyboards
they make up. Button texts come from the locale catalogs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot.telegram.ui.callback_data import Action, NewPhoto
from bot.telegram.ui.i18n import known, t
from bot.telegram.ui.keyboards import in_rows, on_off
from providers.orders import IdPhotoOption, IdPhotoOrder
from providers.specs import Spec

#: This service's callback data: "i:<action>[:arg...]" (bot/telegram/ui/callback_data.py).
PREFIX = "i"

#: How much of the other job's id a mixed sheet's buttons carry.
MIX_ID_CHARS = 8


@dataclass(frozen=True)
class Category(Action, prefix=PREFIX, action="cat"):
    index: int


@dataclass(frozen=True)
class SpecChoice(Action, prefix=PREFIX, action="spec"):
    spec_id: int


@dataclass(frozen=True)
class SpecPage(Action, prefix=PREFIX, action="pg"):
    page: int


@dataclass(frozen=True)
class Back(Action, prefix=PREFIX, action="back"):
    to: str  # "cat", "spec", "color", or "order" (the summary another size was being chosen for)


@dataclass(frozen=True)
class Colour(Action, prefix=PREFIX, action="col"):
    name: str  # a palette name, or "custom"


@dataclass(frozen=True)
class OptionToggle(Action, prefix=PREFIX, action="opt"):
    name: str  # a provider feature, or "done"


@dataclass(frozen=True)
class OutfitGroup(Action, prefix=PREFIX, action="outfit"):
    group: str


@dataclass(frozen=True)
class Outfit(Action, prefix=PREFIX, action="cloth"):
    outfit: str  # a provider's outfit id, or "none"


@dataclass(frozen=True)
class Recolor(Action, prefix=PREFIX, action="recolor"):
    job_id: str


@dataclass(frozen=True)
class FinalFromPreview(Action, prefix=PREFIX, action="final"):
    job_id: str


@dataclass(frozen=True)
class BuyPreview(Action, prefix=PREFIX, action="buy"):
    """Confirm under a local preview made before its price was on the button's data: its finished
    photo, after a summary with the price now."""

    job_id: str


@dataclass(frozen=True)
class BuyPreviewAt(Action, prefix=PREFIX, action="bp"):
    """Confirm under a local preview: its finished photo, at the price on the button (a price
    changed since shows the summary with the new one)."""

    job_id: str
    price: int


@dataclass(frozen=True)
class DropPreview(Action, prefix=PREFIX, action="drop"):
    """Cancel under a local preview."""

    job_id: str


@dataclass(frozen=True)
class MoreSizes(Action, prefix=PREFIX, action="more"):
    """Under the summary: another size from the same photo in the same order."""

    nonce: str


@dataclass(frozen=True)
class LessSizes(Action, prefix=PREFIX, action="less"):
    """Under the summary: take one extra size (its place among the extras) out of the order; with
    how many extras the summary showed, so that a second tap on the same button (the sizes after it
    have moved up) takes nothing more out."""

    nonce: str
    index: int
    shown: int


@dataclass(frozen=True)
class MorePreviewSizes(Action, prefix=PREFIX, action="morepv"):
    """Under a free local preview: buy it together with other sizes of the same photo."""

    job_id: str


@dataclass(frozen=True)
class AskSize(Action, prefix=PREFIX, action="kb"):
    job_id: str


@dataclass(frozen=True)
class MakeSize(Action, prefix=PREFIX, action="kbw"):
    job_id: str
    low_kb: int
    high_kb: int


@dataclass(frozen=True)
class AskDpi(Action, prefix=PREFIX, action="dpi"):
    job_id: str


@dataclass(frozen=True)
class MakeDpi(Action, prefix=PREFIX, action="dpis"):
    job_id: str
    dpi: int


@dataclass(frozen=True)
class AskPaper(Action, prefix=PREFIX, action="sheet"):
    job_id: str


@dataclass(frozen=True)
class MakeSheet(Action, prefix=PREFIX, action="shc"):
    job_id: str
    paper: str
    copies: int  # 0: as many as fit


@dataclass(frozen=True)
class AskMix(Action, prefix=PREFIX, action="shm"):
    """Another of the person's finished ID photos on the same sheet: the papers and counts."""

    job_id: str
    other: str  # the other job's id, its first MIX_ID_CHARS characters (two whole ids exceed 64 bytes)


@dataclass(frozen=True)
class MakeMix(Action, prefix=PREFIX, action="shx"):
    job_id: str
    other: str
    paper: str
    first: int  # copies of job_id's photo
    second: int  # copies of the other's


#: Specs on one page of the list, outfits on one row of their buttons.
SPECS_PER_PAGE = 8
OUTFITS_PER_ROW = 5


def categories(labels: Sequence[str], lang: str = "", *, to_order: bool = False) -> Markup:
    """The spec categories, by their names in the user's language; choosing another size for an
    order (``to_order``), a way back to its summary too."""
    buttons = [Button(label, callback_data=Category(i).data()) for i, label in enumerate(labels)]
    rows = in_rows(buttons, 2)
    if to_order:
        rows.append([back_to_order(lang)])
    return Markup(rows)


def back_to_order(lang: str) -> Button:
    """Back to the summary of the order another size was being chosen for, as it was."""
    return Button(t(lang, "idphoto.back_to_order"), callback_data=Back("order").data())


def order_sizes(lang: str, nonce: str, extras: Sequence[str], more: bool) -> list[list[Button]]:
    """Under an ID photo's summary: another size (``more``: while the order has room for one),
    and one button per extra size (its name) to take it out again."""
    rows = [[Button(t(lang, "idphoto.more_sizes"), callback_data=MoreSizes(nonce).data())]] if more else []
    rows += [
        [Button(t(lang, "idphoto.less_size", what=what), callback_data=LessSizes(nonce, index, len(extras)).data())]
        for index, what in enumerate(extras)
    ]
    return rows


def spec_page(lang: str, specs: Sequence[Spec], page: int) -> Markup:
    pages = max(1, -(-len(specs) // SPECS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = specs[page * SPECS_PER_PAGE : (page + 1) * SPECS_PER_PAGE]
    rows = [[Button(_spec_label(lang, s), callback_data=SpecChoice(s.spec_id).data())] for s in shown]
    nav = []
    if page > 0:
        nav.append(Button("◀", callback_data=SpecPage(page - 1).data()))
    if pages > 1:
        nav.append(Button(f"{page + 1}/{pages}", callback_data=SpecPage(page).data()))
    if page < pages - 1:
        nav.append(Button("▶", callback_data=SpecPage(page + 1).data()))
    if nav:
        rows.append(nav)
    rows.append([Button(t(lang, "button.back"), callback_data=Back("cat").data())])
    return Markup(rows)


def _spec_label(lang: str, spec: Spec) -> str:
    if spec.custom is not None:  # its size is the user's to type
        return t(lang, "idphoto.custom_spec_button")
    return t(lang, "idphoto.spec_button", title=spec.name(lang), w=spec.mm[0], h=spec.mm[1])


def back_to_specs(lang: str) -> Markup:
    """Under the question for a custom size: back to the spec list."""
    return Markup([[Button(t(lang, "button.back"), callback_data=Back("spec").data())]])


def colors(lang: str, names: Sequence[str], custom: bool) -> Markup:
    buttons = [Button(t(lang, f"color.{name}"), callback_data=Colour(name).data()) for name in names]
    if custom:
        buttons.append(Button(t(lang, "color.custom"), callback_data=Colour("custom").data()))
    rows = in_rows(buttons, 4)
    rows.append([Button(t(lang, "button.back"), callback_data=Back("spec").data())])
    return Markup(rows)


def options(lang: str, draft: IdPhotoOrder, features: Sequence[IdPhotoOption]) -> Markup:
    """The option toggles this provider can do, then Back / Continue."""
    states = {
        IdPhotoOption.BEAUTY: on_off(lang, draft.beauty),
        IdPhotoOption.SHARPEN: on_off(lang, draft.sharpen),
        IdPhotoOption.THIN_FACE: on_off(lang, draft.thin_face),
        IdPhotoOption.SHEET_VERTICAL: on_off(lang, draft.layout_vertical),
        IdPhotoOption.SHEET_WHITE: on_off(lang, draft.layout_bg_color is not None),
        IdPhotoOption.OUTFIT: outfit_label(lang, draft.clothes_id) if draft.clothes_id else t(lang, "option.none"),
        IdPhotoOption.LAYOUT: t(lang, f"paper.{draft.layout_size}") if draft.layout_size else t(lang, "option.none"),
        IdPhotoOption.PREVIEW: on_off(lang, draft.preview),
        IdPhotoOption.GRADIENT: on_off(lang, draft.bg_color2 is not None),
    }
    rows = [
        [Button(t(lang, f"option.{name}", state=states[name]), callback_data=OptionToggle(name).data())]
        for name in features
    ]
    rows.append(
        [
            Button(t(lang, "button.back"), callback_data=Back("color").data()),
            Button(t(lang, "button.continue"), callback_data=OptionToggle("done").data()),
        ]
    )
    return Markup(rows)


def _outfit_group(outfit: str) -> str:
    return outfit.rsplit("_", 1)[0]


def outfit_label(lang: str, outfit: str) -> str:
    """An outfit as people read it: "man_3" is "Men's suits · 3" (a group the catalogs do not name
    goes by its id)."""
    group, _, number = outfit.rpartition("_")
    key = f"outfit.{group}"
    return t(lang, "outfit.item", group=t(lang, key), number=number) if known(key) and number else outfit


def outfit_groups(lang: str, outfits: Sequence[str]) -> Markup:
    """The provider's outfit groups ("man_3" is in "man"), in its catalog's order."""
    groups = dict.fromkeys(_outfit_group(c) for c in outfits)
    rows = [[Button(t(lang, f"outfit.{g}"), callback_data=OutfitGroup(g).data())] for g in groups]
    rows.append([Button(t(lang, "outfit.none"), callback_data=Outfit("none").data())])
    return Markup(rows)


def outfit_items(lang: str, group: str, outfits: Sequence[str]) -> Markup:
    items = [c for c in outfits if _outfit_group(c) == group]
    buttons = [Button(c.rsplit("_", 1)[1], callback_data=Outfit(c).data()) for c in items]
    rows = in_rows(buttons, OUTFITS_PER_ROW)
    rows.append([Button(t(lang, "button.back"), callback_data=OptionToggle(IdPhotoOption.OUTFIT).data())])
    return Markup(rows)


def spec_refused(lang: str, *, to_order: bool = False) -> Markup:
    """Under a refusal that only this spec makes: another spec, or another photo; for another size
    of an order (``to_order``), another spec or back to the order as it was."""
    last = back_to_order(lang) if to_order else Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())
    return Markup([[Button(t(lang, "button.back"), callback_data=Back("spec").data()), last]])


def idphoto_result(lang: str, job_id: str, can_rerender: bool, final_price: int | None = None) -> Markup:
    rows = []
    if final_price is not None:
        rows.append([Button(t(lang, "button.final", price=final_price), callback_data=FinalFromPreview(job_id).data())])
    if can_rerender:
        rows.append([Button(t(lang, "button.other_color"), callback_data=Recolor(job_id).data())])
    rows.append(
        [
            Button(t(lang, "button.file_size"), callback_data=AskSize(job_id).data()),
            Button(t(lang, "button.dpi"), callback_data=AskDpi(job_id).data()),
        ]
    )
    rows.append([Button(t(lang, "button.print_sheet"), callback_data=AskPaper(job_id).data())])
    rows.append([Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())])
    return Markup(rows)


def local_preview(lang: str, job_id: str, price: int, *, more: bool = True) -> Markup:
    """Under a free local preview: buy it (Confirm), leave it (Cancel), see another background, or
    (``more``) order other sizes of the same photo with it."""
    rows = [
        [
            Button(t(lang, "button.buy_preview", price=price), callback_data=BuyPreviewAt(job_id, price).data()),
            Button(t(lang, "button.cancel"), callback_data=DropPreview(job_id).data()),
        ],
        [Button(t(lang, "button.other_color"), callback_data=Recolor(job_id).data())],
    ]
    if more:
        rows.append([Button(t(lang, "idphoto.more_sizes"), callback_data=MorePreviewSizes(job_id).data())])
    return Markup(rows)


def size_windows(job_id: str, windows: Sequence[tuple[int, int]]) -> Markup:
    buttons = [Button(f"{low}–{high} KB", callback_data=MakeSize(job_id, low, high).data()) for low, high in windows]
    return Markup(in_rows(buttons, 2))


def dpi_choices(job_id: str, choices: Sequence[int]) -> Markup:
    return Markup([[Button(f"{dpi} dpi", callback_data=MakeDpi(job_id, dpi).data()) for dpi in choices]])


def sheet_papers(lang: str, job_id: str, fits: dict[str, int], others: Sequence[tuple[str, str]]) -> Markup:
    """Per paper: all the copies that fit, or fewer; then one ➕ per other photo (its short id and
    its name) to put on the same sheet."""
    rows = []
    for paper, count in fits.items():
        if count == 0:
            continue
        row = [
            Button(
                t(lang, "reedit.all_copies", paper=t(lang, f"paper.{paper}"), count=count),
                callback_data=MakeSheet(job_id, paper, 0).data(),
            )
        ]
        row += [Button(f"×{n}", callback_data=MakeSheet(job_id, paper, n).data()) for n in (2, 4) if n < count]
        rows.append(row)
    rows += [
        [Button(t(lang, "reedit.mix_with", spec=name), callback_data=AskMix(job_id, other).data())]
        for other, name in others
    ]
    return Markup(rows)


def mixed_papers(lang: str, job_id: str, other: str, counts: Mapping[str, Sequence[tuple[int, int]]]) -> Markup:
    """Per paper, a row of (copies of this photo, copies of the other) that fit."""
    rows = [
        [
            Button(
                t(lang, "reedit.mix_copies", paper=t(lang, f"paper.{paper}"), first=first, second=second),
                callback_data=MakeMix(job_id, other, paper, first, second).data(),
            )
            for first, second in options
        ]
        for paper, options in counts.items()
        if options
    ]
    return Markup(rows)
