"""Inline keyboards. Button texts come from the locale catalogs, callback data from the typed
actions in ``bot/telegram/ui/callback_data.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot.config import CreditPack
from bot.telegram.ui.callback_data import (
    AnimeVideo,
    AskDpi,
    AskMix,
    AskPaper,
    AskSize,
    Back,
    BuyMenu,
    BuyPack,
    BuyPreview,
    CancelJob,
    Category,
    Colour,
    ConfirmOrder,
    DropOrder,
    DropPreview,
    EnhanceChoice,
    FinalFromPreview,
    ForgetAnswer,
    LayoutChoice,
    MakeDpi,
    MakeMix,
    MakeSheet,
    MakeSize,
    NewPhoto,
    OptionToggle,
    OrdersPage,
    Outfit,
    OutfitGroup,
    Recolor,
    RefundAnswer,
    RepairBackground,
    RepairMode,
    RetryJob,
    SendAgain,
    ServiceChoice,
    SetLanguage,
    SpecChoice,
    SpecPage,
    StyleChoice,
    TemplateChoice,
    TemplatePage,
)
from bot.telegram.ui.i18n import LANGUAGES, t
from providers.orders import IdPhotoOption, IdPhotoOrder
from providers.specs import Spec

SPECS_PER_PAGE = 8
OUTFITS_PER_ROW = 5


def _rows(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def services_menu(lang: str, services: Sequence[str]) -> Markup:
    return Markup([[Button(t(lang, f"service.{name}"), callback_data=ServiceChoice(name).data())] for name in services])


def categories(labels: Sequence[str]) -> Markup:
    """The spec categories, by their names in the user's language."""
    buttons = [Button(label, callback_data=Category(i).data()) for i, label in enumerate(labels)]
    return Markup(_rows(buttons, 2))


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
    rows = _rows(buttons, 4)
    rows.append([Button(t(lang, "button.back"), callback_data=Back("spec").data())])
    return Markup(rows)


def _on_off(lang: str, value: bool) -> str:
    return t(lang, "option.on") if value else t(lang, "option.off")


def options(lang: str, draft: IdPhotoOrder, features: Sequence[IdPhotoOption]) -> Markup:
    """The option toggles this provider can do, then Back / Continue."""
    states = {
        IdPhotoOption.BEAUTY: _on_off(lang, draft.beauty),
        IdPhotoOption.SHARPEN: _on_off(lang, draft.sharpen),
        IdPhotoOption.THIN_FACE: _on_off(lang, draft.thin_face),
        IdPhotoOption.SHEET_VERTICAL: _on_off(lang, draft.layout_vertical),
        IdPhotoOption.SHEET_WHITE: _on_off(lang, draft.layout_bg_color is not None),
        IdPhotoOption.OUTFIT: draft.clothes_id or t(lang, "option.none"),
        IdPhotoOption.LAYOUT: draft.layout_size or t(lang, "option.none"),
        IdPhotoOption.PREVIEW: _on_off(lang, draft.preview),
        IdPhotoOption.GRADIENT: _on_off(lang, draft.bg_color2 is not None),
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


def outfit_groups(lang: str, outfits: Sequence[str]) -> Markup:
    """The provider's outfit groups ("man_3" is in "man"), in its catalog's order."""
    groups = dict.fromkeys(_outfit_group(c) for c in outfits)
    rows = [[Button(t(lang, f"outfit.{g}"), callback_data=OutfitGroup(g).data())] for g in groups]
    rows.append([Button(t(lang, "outfit.none"), callback_data=Outfit("none").data())])
    return Markup(rows)


def outfit_items(lang: str, group: str, outfits: Sequence[str]) -> Markup:
    items = [c for c in outfits if _outfit_group(c) == group]
    buttons = [Button(c.rsplit("_", 1)[1], callback_data=Outfit(c).data()) for c in items]
    rows = _rows(buttons, OUTFITS_PER_ROW)
    rows.append([Button(t(lang, "button.back"), callback_data=OptionToggle(IdPhotoOption.OUTFIT).data())])
    return Markup(rows)


def summary(lang: str, nonce: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.confirm"), callback_data=ConfirmOrder(nonce).data()),
                Button(t(lang, "button.cancel"), callback_data=DropOrder(nonce).data()),
            ]
        ]
    )


def anime_result(lang: str, job_id: str) -> Markup:
    return Markup(
        [
            [Button(t(lang, "anime.video_button"), callback_data=AnimeVideo(job_id).data())],
            [Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())],
        ]
    )


def job_running(lang: str, job_id: str) -> Markup:
    return Markup([[Button(t(lang, "button.cancel"), callback_data=CancelJob(job_id).data())]])


def job_failed(lang: str, job_id: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.retry"), callback_data=RetryJob(job_id).data()),
                Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data()),
            ]
        ]
    )


def past_orders(lang: str, again: Sequence[tuple[int, str]], offset: int, older: bool, page: int) -> Markup:
    """Under a page of /orders: the files again of each numbered order in ``again`` (number, job id),
    then newer and older pages (``page`` orders each)."""
    rows = _rows(
        [Button(t(lang, "orders.again", number=n), callback_data=SendAgain(job).data()) for n, job in again], 5
    )
    paging = []
    if offset > 0:
        paging.append(Button(t(lang, "orders.newer"), callback_data=OrdersPage(max(0, offset - page)).data()))
    if older:
        paging.append(Button(t(lang, "orders.older"), callback_data=OrdersPage(offset + page).data()))
    return Markup([*rows, paging] if paging else rows)


def spec_refused(lang: str) -> Markup:
    """Under a refusal that only this spec makes: another spec, or another photo."""
    return Markup(
        [
            [
                Button(t(lang, "button.back"), callback_data=Back("spec").data()),
                Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data()),
            ]
        ]
    )


def buy(lang: str) -> Markup:
    """ "Buy credits", under /balance."""
    return Markup([[Button(t(lang, "buy.button"), callback_data=BuyMenu().data())]])


def packs(lang: str, offered: Sequence[CreditPack]) -> Markup:
    """One button per credit pack, with its price in Stars."""
    return Markup(
        [
            [Button(t(lang, "buy.pack_button", credits=p.credits, stars=p.stars), callback_data=BuyPack(p.id).data())]
            for p in offered
        ]
    )


def refund_question(lang: str, nonce: str) -> Markup:
    """Under an admin's refund of credits already spent: go ahead, or not."""
    return Markup(
        [
            [
                Button(t(lang, "admin.refund_yes"), callback_data=RefundAnswer(nonce, "yes").data()),
                Button(t(lang, "admin.refund_no"), callback_data=RefundAnswer(nonce, "no").data()),
            ]
        ]
    )


def short_of_credits(lang: str, nonce: str) -> Markup:
    """Under "not enough credits": buy some, then confirm the same order."""
    return Markup(
        [
            [Button(t(lang, "buy.button"), callback_data=BuyMenu().data())],
            [
                Button(t(lang, "button.confirm"), callback_data=ConfirmOrder(nonce).data()),
                Button(t(lang, "button.cancel"), callback_data=DropOrder(nonce).data()),
            ],
        ]
    )


def new_photo(lang: str) -> Markup:
    return Markup([[Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())]])


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


def local_preview(lang: str, job_id: str, price: int) -> Markup:
    """Under a free local preview: buy it (Confirm), leave it (Cancel), or see another background."""
    return Markup(
        [
            [
                Button(t(lang, "button.buy_preview", price=price), callback_data=BuyPreview(job_id).data()),
                Button(t(lang, "button.cancel"), callback_data=DropPreview(job_id).data()),
            ],
            [Button(t(lang, "button.other_color"), callback_data=Recolor(job_id).data())],
        ]
    )


def size_windows(job_id: str, windows: Sequence[tuple[int, int]]) -> Markup:
    buttons = [Button(f"{low}–{high} KB", callback_data=MakeSize(job_id, low, high).data()) for low, high in windows]
    return Markup(_rows(buttons, 2))


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


def forget_confirm(lang: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "forget.confirm"), callback_data=ForgetAnswer("yes").data()),
                Button(t(lang, "forget.keep"), callback_data=ForgetAnswer("no").data()),
            ]
        ]
    )


def languages() -> Markup:
    return Markup([[Button(t(code, "language.name"), callback_data=SetLanguage(code).data())] for code in LANGUAGES])


def anime_styles(styles: Sequence[tuple[str, str]]) -> Markup:
    """``styles``: (id, title in the user's language)."""
    return Markup([[Button(title, callback_data=StyleChoice(style_id).data())] for style_id, title in styles])


def anime_layouts(lang: str) -> Markup:
    return Markup(
        [
            [Button(t(lang, f"anime.layout_{name}"), callback_data=LayoutChoice(name).data())]
            for name in ("anime", "side_by_side")
        ]
    )


def repair_modes(lang: str, prices: dict[str, int]) -> Markup:
    """One button per mode the provider offers, with its price, in the provider's order."""
    return Markup(
        [
            [Button(t(lang, f"repair.mode_{mode}", price=price), callback_data=RepairMode(mode).data())]
            for mode, price in prices.items()
        ]
    )


def repair_backgrounds(lang: str) -> Markup:
    buttons = [
        Button(t(lang, f"color.{name}"), callback_data=RepairBackground(name).data())
        for name in ("white", "blue", "red")
    ]
    buttons.append(Button(t(lang, "color.custom"), callback_data=RepairBackground("custom").data()))
    return Markup(_rows(buttons, 4))


def enhance_types(types: Sequence[tuple[str, str]]) -> Markup:
    """``types``: (id, button text in the user's language)."""
    return Markup([[Button(text, callback_data=EnhanceChoice(type_id).data())] for type_id, text in types])


def portrait_browser(lang: str, index: int, count: int, template_id: str) -> Markup:
    rows = []
    if count > 1:
        rows.append(
            [
                Button("◀", callback_data=TemplatePage((index - 1) % count).data()),
                Button(f"{index + 1}/{count}", callback_data=TemplatePage(index).data()),
                Button("▶", callback_data=TemplatePage((index + 1) % count).data()),
            ]
        )
    rows.append([Button(t(lang, "portrait.choose"), callback_data=TemplateChoice(template_id).data())])
    return Markup(rows)
